//! The tree-sitter walk behind the source-code outline: decides, row by
//! row, what `code.rs` keeps, elides or trims. Called only by `code.rs`.
//!
//! Items (imports, type definitions, fields, signatures) stay; function
//! bodies longer than a threshold ([`SHORT_BODY`] rows for files, fewer in
//! tests and in diffs) become one marker; blocks of comments keep their
//! first line; other long items (constant tables, macro bodies, runs of
//! macro calls) keep their first rows and last row. Rows matching the query
//! and rows that read like a shallow definition always stay. The walk is
//! iterative (an explicit stack of containers), so deeply nested input
//! cannot overflow the call stack.

use tree_sitter::Node;

use super::text;

/// Function bodies up to this many rows stay whole.
pub(crate) const SHORT_BODY: usize = 6;
/// Non-function items longer than this keep only their first and last rows.
const LONG_ITEM: usize = 12;
/// Function bodies longer than this that define functions of their own
/// (JS module wrappers, test suites) are walked instead of elided
/// (`code_skim` keeps such bodies visible to the parser).
pub(crate) const BIG_BODY: usize = 80;

/// Node kinds that matter to the outline, per grammar.
pub(crate) struct Spec {
    /// Nodes with a `body` field that is elided when long.
    pub functions: &'static [&'static str],
    /// Nodes whose named children are walked as items.
    pub containers: &'static [&'static str],
    /// Items that always stay whole (imports).
    pub keep: &'static [&'static str],
    pub comments: &'static [&'static str],
}

pub(crate) const RUST: Spec = Spec {
    functions: &["function_item"],
    containers: &[
        "source_file",
        "mod_item",
        "impl_item",
        "trait_item",
        "struct_item",
        "enum_item",
        "union_item",
        "declaration_list",
        "field_declaration_list",
        "enum_variant_list",
        "enum_variant",
        "foreign_mod_item",
    ],
    keep: &["use_declaration", "extern_crate_declaration"],
    comments: &["line_comment", "block_comment"],
};

pub(crate) const PYTHON: Spec = Spec {
    functions: &["function_definition"],
    containers: &["module", "class_definition", "decorated_definition"],
    keep: &[
        "import_statement",
        "import_from_statement",
        "future_import_statement",
    ],
    comments: &["comment"],
};

pub(crate) const JAVASCRIPT: Spec = Spec {
    functions: &[
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "function",
        "generator_function",
        "arrow_function",
        "method_definition",
    ],
    containers: &[
        "program",
        "class_declaration",
        "class",
        "abstract_class_declaration",
        "class_body",
        "export_statement",
        "interface_declaration",
        "interface_body",
        "enum_declaration",
        "enum_body",
        "internal_module",
        "module",
        "ambient_declaration",
    ],
    keep: &["import_statement"],
    comments: &["comment"],
};

pub(crate) const GO: Spec = Spec {
    functions: &["function_declaration", "method_declaration", "func_literal"],
    containers: &[
        "source_file",
        "type_declaration",
        "type_spec",
        "struct_type",
        "interface_type",
        "field_declaration_list",
    ],
    keep: &["import_declaration", "package_clause"],
    comments: &["comment"],
};

pub(crate) const JAVA: Spec = Spec {
    functions: &[
        "method_declaration",
        "constructor_declaration",
        "compact_constructor_declaration",
        "lambda_expression",
    ],
    containers: &[
        "program",
        "class_declaration",
        "class_body",
        "interface_declaration",
        "interface_body",
        "enum_declaration",
        "enum_body",
        "enum_body_declarations",
        "record_declaration",
        "annotation_type_declaration",
        "annotation_type_body",
    ],
    keep: &["import_declaration", "package_declaration"],
    comments: &["line_comment", "block_comment"],
};

pub(crate) const C: Spec = Spec {
    functions: &["function_definition"],
    containers: &[
        "translation_unit",
        "struct_specifier",
        "union_specifier",
        "enum_specifier",
        "field_declaration_list",
        "enumerator_list",
        "type_definition",
        "preproc_if",
        "preproc_ifdef",
        "preproc_else",
        "preproc_elif",
        "linkage_specification",
    ],
    keep: &["preproc_include", "preproc_def"],
    comments: &["comment"],
};

pub(crate) const CPP: Spec = Spec {
    functions: &["function_definition", "lambda_expression"],
    containers: &[
        "translation_unit",
        "namespace_definition",
        "class_specifier",
        "struct_specifier",
        "union_specifier",
        "enum_specifier",
        "field_declaration_list",
        "enumerator_list",
        "declaration_list",
        "template_declaration",
        "type_definition",
        "preproc_if",
        "preproc_ifdef",
        "preproc_else",
        "preproc_elif",
        "linkage_specification",
    ],
    keep: &["preproc_include", "preproc_def", "using_declaration"],
    comments: &["comment"],
};

/// What happens to one row of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    Keep,
    /// Comment line after the first of its block: left out silently (the
    /// top marker counts it).
    Comment,
    /// Part of elided region `n`.
    Region(usize),
}

/// A run of rows replaced by one marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Region {
    /// Body `{ ... }` folded onto its opening row: `open_row` is cut after
    /// the `{` at `open_col`, rows after it up to `close_row` are dropped
    /// and the text of `close_row` from the `}` at `close_col` is appended.
    Inline {
        open_row: usize,
        open_col: usize,
        close_row: usize,
        close_col: usize,
    },
    /// Rows `first..=last` replaced by a marker line at `first`.
    Gap { first: usize, last: usize },
}

impl Region {
    /// Source rows whose content the marker stands for.
    pub(crate) fn dropped(&self) -> usize {
        match *self {
            Region::Inline {
                open_row,
                close_row,
                ..
            } => close_row.saturating_sub(open_row + 1),
            Region::Gap { first, last } => last + 1 - first,
        }
    }
}

/// The outline decision for every row.
pub(crate) struct Plan {
    pub fate: Vec<Fate>,
    pub regions: Vec<Region>,
    /// Rows covered by parse errors found at item level.
    pub error_rows: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Function,
    Container,
    Keep,
    Comment,
    Other,
}

/// How the children of a container are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Ordinary items (module, impl, class body).
    Items,
    /// Items of a test module: bodies fold sooner.
    Tests,
    /// A long function body walked because it defines functions: its plain
    /// statements are elided in runs.
    Body,
}

/// Comment tails of at least this many rows are replaced by a marker
/// (shorter ones are dropped silently: the top marker counts them).
const LONG_COMMENT: usize = 4;

/// Function bodies of tests stay whole up to this many rows.
const SHORT_TEST_BODY: usize = 2;

/// Plan the outline of the tree rooted at `root` over `source` (the code
/// without line-number prefixes) and its `rows` (`source` split at `\n`).
pub(crate) fn plan(
    root: Node<'_>,
    source: &str,
    rows: &[&str],
    spec: &Spec,
    terms: &[String],
    short_body: usize,
) -> Plan {
    let mut w = Walker {
        short_body,
        source,
        rows,
        spec,
        terms,
        fate: vec![Fate::Keep; rows.len()],
        regions: Vec::new(),
        stack: vec![(root, Mode::Items)],
        error_rows: 0,
    };
    while let Some((node, mode)) = w.stack.pop() {
        w.container(node, mode);
    }
    Plan {
        fate: w.fate,
        regions: w.regions,
        error_rows: w.error_rows,
    }
}

struct Walker<'a, 't> {
    /// Function bodies up to this many rows stay whole.
    short_body: usize,
    source: &'a str,
    rows: &'a [&'a str],
    spec: &'a Spec,
    terms: &'a [String],
    fate: Vec<Fate>,
    regions: Vec<Region>,
    /// Containers still to walk.
    stack: Vec<(Node<'t>, Mode)>,
    error_rows: usize,
}

/// Last row that holds text of `node` (a node ending at column 0 ends on
/// the row before: its trailing newline).
fn last_row(node: Node<'_>) -> usize {
    let end = node.end_position();
    let start = node.start_position();
    if end.column == 0 && end.row > start.row {
        end.row - 1
    } else {
        end.row
    }
}

impl<'a, 't> Walker<'a, 't> {
    fn class(&self, node: Node<'_>) -> Class {
        let kind = node.kind();
        if self.spec.functions.contains(&kind) {
            Class::Function
        } else if self.spec.containers.contains(&kind) {
            Class::Container
        } else if self.spec.comments.contains(&kind) {
            Class::Comment
        } else if self.spec.keep.contains(&kind) {
            Class::Keep
        } else {
            Class::Other
        }
    }

    fn text(&self, node: Node<'_>) -> &'a str {
        self.source.get(node.byte_range()).unwrap_or("")
    }

    /// Rows that stay inside an elided region: query matches, and lines
    /// that read like a top-level definition (code embedded in a string,
    /// a misparsed region) so no definition disappears.
    fn matches(&self, row: usize) -> bool {
        self.rows
            .get(row)
            .is_some_and(|r| text::matches_terms(r, self.terms) || is_shallow_def(r))
    }

    /// A test item: `#[test]`/`#[cfg(test)]` attributes before it, a
    /// `tests` module, a `test_*` function or a `Test*` class.
    fn is_test(&self, children: &[Node<'_>], i: usize) -> bool {
        let c = children[i];
        let name = c
            .child_by_field_name("name")
            .map(|n| self.text(n))
            .unwrap_or("");
        if name == "tests" || name.starts_with("test_") || name.starts_with("Test") {
            return true;
        }
        children[..i]
            .iter()
            .rev()
            .take_while(|p| matches!(p.kind(), "attribute_item" | "decorator" | "line_comment"))
            .any(|p| p.kind() == "attribute_item" && self.text(*p).contains("test"))
    }

    /// Walk the named children of `node` as items.
    fn container(&mut self, node: Node<'t>, mode: Mode) {
        let mut cursor = node.walk();
        let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
        let body_id = node.child_by_field_name("body").map(|b| b.id());
        // Body mode: consecutive plain statements, as a row range.
        let mut run: Option<(usize, usize)> = None;
        // Consecutive macro calls at item level (test tables): (first, count).
        let mut macros: Option<(usize, usize)> = None;
        let mut i = 0;
        while i < children.len() {
            let c = children[i];
            let class = self.class(c);
            if c.kind() == "empty_statement" {
                // The `;` after an item-level macro call.
                i += 1;
                continue;
            }
            if class == Class::Comment {
                let mut j = i;
                while j + 1 < children.len()
                    && self.class(children[j + 1]) == Class::Comment
                    && children[j + 1].start_position().row <= last_row(children[j]) + 1
                {
                    j += 1;
                }
                self.comment_block(c.start_position().row, last_row(children[j]));
                i = j + 1;
                continue;
            }
            let test = mode == Mode::Tests || self.is_test(&children, i);
            let child_mode = if test { Mode::Tests } else { Mode::Items };
            let plain = match class {
                Class::Function => {
                    self.function(c, test);
                    false
                }
                Class::Container => {
                    self.stack.push((c, child_mode));
                    false
                }
                Class::Keep | Class::Comment => false,
                Class::Other if Some(c.id()) == body_id => {
                    self.stack.push((c, child_mode));
                    false
                }
                Class::Other => {
                    let found = self.search_inside(c, test);
                    if c.is_error() {
                        self.error_rows += last_row(c) + 1 - c.start_position().row;
                    }
                    if !found && mode != Mode::Body && !c.is_error() {
                        self.long_item(c);
                    }
                    !found
                }
            };
            if mode == Mode::Body {
                if plain {
                    let (s, e) = (c.start_position().row, last_row(c));
                    run = Some(run.map_or((s, e), |(a, b)| (a.min(s), b.max(e))));
                } else if let Some((a, b)) = run.take() {
                    self.elide_run(a, b);
                }
            } else if plain && c.kind() == "macro_invocation" {
                macros = Some(macros.map_or((i, 1), |(f, n)| (f, n + 1)));
            } else if let Some((f, n)) = macros.take() {
                self.macro_run(&children[f..f + n]);
            }
            i += 1;
        }
        if let Some((a, b)) = run {
            self.elide_run(a, b);
        }
        if let Some((f, n)) = macros {
            self.macro_run(&children[f..f + n]);
        }
    }

    /// A run of macro calls (`syntax!(...)` test tables) keeps its first
    /// two calls when it spans more than [`LONG_ITEM`] rows.
    fn macro_run(&mut self, calls: &[Node<'_>]) {
        if calls.len() < 3 {
            return;
        }
        let first = calls[2].start_position().row;
        let last = last_row(calls[calls.len() - 1]);
        let start = calls[0].start_position().row;
        if last > start + LONG_ITEM {
            self.elide_rows(first, last);
        }
    }

    /// Find functions and containers nested in a plain item (a `const`
    /// holding closures, `module.exports = {...}`, `describe(() => ...)`).
    fn search_inside(&mut self, item: Node<'t>, test: bool) -> bool {
        let mut found = false;
        let mut todo: Vec<Node<'t>> = Vec::new();
        let mut cursor = item.walk();
        todo.extend(item.named_children(&mut cursor));
        while let Some(n) = todo.pop() {
            match self.class(n) {
                Class::Function => {
                    self.function(n, test);
                    found = true;
                }
                Class::Container => {
                    let mode = if test { Mode::Tests } else { Mode::Items };
                    self.stack.push((n, mode));
                    found = true;
                }
                _ => {
                    let mut cursor = n.walk();
                    todo.extend(n.named_children(&mut cursor));
                }
            }
        }
        found
    }

    /// True when `body` defines at least two functions or containers.
    fn defines_functions(&self, body: Node<'_>) -> bool {
        let mut count = 0;
        let mut cursor = body.walk();
        let mut todo: Vec<Node<'_>> = body.named_children(&mut cursor).collect();
        while let Some(n) = todo.pop() {
            match self.class(n) {
                Class::Function | Class::Container => {
                    count += 1;
                    if count >= 2 {
                        return true;
                    }
                }
                _ => {
                    let mut cursor = n.walk();
                    todo.extend(n.named_children(&mut cursor));
                }
            }
        }
        false
    }

    fn function(&mut self, f: Node<'t>, test: bool) {
        let Some(body) = f.child_by_field_name("body") else {
            return;
        };
        let s = body.start_position().row;
        let e = last_row(body);
        if e <= s || self.fate.get(s) != Some(&Fate::Keep) {
            return;
        }
        let open_col = body.start_position().column;
        let brace = self.rows[s].as_bytes().get(open_col) == Some(&b'{');
        let (first, last) = if brace || s == f.start_position().row {
            (s + 1, e.saturating_sub(1))
        } else {
            (s + docstring_rows(body), e)
        };
        let short = if test {
            SHORT_TEST_BODY.min(self.short_body)
        } else {
            self.short_body
        };
        if last < first || last + 1 - first <= short {
            return;
        }
        if last + 1 - first > BIG_BODY && self.defines_functions(body) {
            self.stack.push((body, Mode::Body));
            return;
        }
        if (first..=last).any(|r| self.matches(r)) {
            self.elide_rows(first, last);
            return;
        }
        if brace {
            let close = body.end_position();
            let close_col = close.column.saturating_sub(1);
            let open_clean = self.rows[s]
                .get(open_col + 1..)
                .is_some_and(|t| t.trim().is_empty());
            let close_clean = close.row == e
                && self.rows[e].as_bytes().get(close_col) == Some(&b'}')
                && self.rows[e]
                    .get(..close_col)
                    .is_some_and(|t| t.trim().is_empty());
            if open_clean && close_clean {
                let id = self.regions.len();
                self.regions.push(Region::Inline {
                    open_row: s,
                    open_col,
                    close_row: e,
                    close_col,
                });
                for r in s + 1..=e {
                    self.fate[r] = Fate::Region(id);
                }
                return;
            }
        }
        self.elide_rows(first, last);
    }

    /// A run of plain statements in a walked function body.
    fn elide_run(&mut self, a: usize, b: usize) {
        if b + 1 - a > self.short_body {
            self.elide_rows(a, b);
        }
    }

    /// A long non-function item keeps its first and last rows.
    fn long_item(&mut self, item: Node<'t>) {
        let s = item.start_position().row;
        let e = last_row(item);
        if e > s + LONG_ITEM {
            self.elide_rows(s + 1, e - 1);
        }
    }

    /// Comment block `r0..=r1` keeps its first line with text.
    fn comment_block(&mut self, r0: usize, r1: usize) {
        if r1 <= r0 {
            return;
        }
        let opener = self.rows[r0]
            .trim()
            .trim_start_matches(['/', '*', '!', '#', '"', '\'', '-', '=', '~', '<'])
            .trim()
            .is_empty();
        let keep_to = if opener { r0 + 1 } else { r0 };
        if r1 >= keep_to + LONG_COMMENT {
            // A long tail (licence, module docs, code commented out) gets
            // a marker so the reader knows something is there.
            self.elide_rows(keep_to + 1, r1);
            return;
        }
        for r in keep_to + 1..=r1 {
            if self.fate[r] == Fate::Keep && !self.matches(r) {
                self.fate[r] = Fate::Comment;
            }
        }
    }

    /// Replace rows `first..=last` by markers, keeping query matches (and
    /// one row around each); gaps of fewer than 2 rows stay.
    fn elide_rows(&mut self, first: usize, last: usize) {
        if last < first || last >= self.rows.len() {
            return;
        }
        let keep: Vec<bool> = (first..=last)
            .map(|r| {
                (r.saturating_sub(1)..=r + 1).any(|k| k >= first && k <= last && self.matches(k))
            })
            .collect();
        let mut i = 0;
        while i < keep.len() {
            if keep[i] {
                i += 1;
                continue;
            }
            let mut j = i;
            while j < keep.len() && !keep[j] {
                j += 1;
            }
            let (a, b) = (first + i, first + j - 1);
            let free = (a..=b).all(|r| !matches!(self.fate[r], Fate::Region(_)));
            if b > a && free {
                let id = self.regions.len();
                self.regions.push(Region::Gap { first: a, last: b });
                for r in a..=b {
                    self.fate[r] = Fate::Region(id);
                }
            }
            i = j;
        }
    }
}

/// A definition keyword at indentation of at most 4 columns.
fn is_shallow_def(row: &str) -> bool {
    let t = row.trim_start_matches([' ', '\t']);
    let indent = row.len() - t.len() + 3 * row[..row.len() - t.len()].matches('\t').count();
    if indent > 4 {
        return false;
    }
    let t = t
        .strip_prefix("pub ")
        .or_else(|| t.strip_prefix("pub(crate) "))
        .or_else(|| t.strip_prefix("export "))
        .or_else(|| t.strip_prefix("async "))
        .unwrap_or(t);
    const DEFS: &[&str] = &[
        "fn ",
        "struct ",
        "enum ",
        "trait ",
        "type ",
        "mod ",
        "macro_rules!",
        "def ",
        "class ",
        "func ",
        "function ",
        "interface ",
    ];
    DEFS.iter().any(|d| t.starts_with(d))
}

/// Rows of a Python docstring's first line kept at the top of a body.
fn docstring_rows(body: Node<'_>) -> usize {
    let Some(first) = body.named_child(0) else {
        return 0;
    };
    let is_doc = first.kind() == "expression_statement"
        && first.named_child(0).is_some_and(|s| s.kind() == "string");
    usize::from(is_doc)
}
