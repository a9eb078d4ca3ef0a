//! Line-level helpers of the diff compressor: what a patch line is (sign,
//! file header, hunk extent, generated file, definition, comment). Called
//! by `diff_patch.rs` and `diff_dedup.rs`; pure functions, no allocation.

/// `b'+'`, `b'-'`, or `b' '` for context (blank lines count as context,
/// `\ No newline` lines stick to the changes).
pub(crate) fn sign_of(line: &str) -> u8 {
    match line.as_bytes().first() {
        Some(b'+') => b'+',
        Some(b'-') | Some(b'\\') => b'-',
        _ => b' ',
    }
}

/// Index after the hunk whose `@@` header is at `start`, using the line
/// counts of the header; falls back to "while lines look like hunk lines"
/// for combined (`@@@`) or malformed headers.
pub(crate) fn hunk_end(lines: &[&str], start: usize) -> usize {
    let mut j = start + 1;
    match hunk_counts(lines[start]) {
        Some((mut old, mut new)) => {
            while j < lines.len() && (old > 0 || new > 0) {
                match lines[j].as_bytes().first() {
                    None | Some(b' ') => {
                        old = old.saturating_sub(1);
                        new = new.saturating_sub(1);
                    }
                    Some(b'-') => old = old.saturating_sub(1),
                    Some(b'+') => new = new.saturating_sub(1),
                    Some(b'\\') => {}
                    _ => break,
                }
                j += 1;
            }
            if j < lines.len() && lines[j].starts_with('\\') {
                j += 1;
            }
        }
        None => {
            while j < lines.len()
                && matches!(
                    lines[j].as_bytes().first(),
                    Some(b' ' | b'+' | b'-' | b'\\')
                )
                && !lines[j].starts_with("--- ")
            {
                j += 1;
            }
        }
    }
    j
}

/// `(old, new)` line counts of `@@ -a,b +c,d @@`.
fn hunk_counts(h: &str) -> Option<(usize, usize)> {
    let rest = h.strip_prefix("@@ -")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let count = |r: &str| -> Option<usize> {
        match r.split_once(',') {
            Some((_, n)) => n.parse().ok(),
            None => r.parse::<usize>().ok().map(|_| 1),
        }
    };
    Some((count(old)?, count(new)?))
}

pub(crate) fn is_file_header(l: &str) -> bool {
    const HEADS: &[&str] = &[
        "index ",
        "new file mode",
        "deleted file mode",
        "old mode",
        "new mode",
        "similarity index",
        "dissimilarity index",
        "rename from",
        "rename to",
        "copy from",
        "copy to",
        "Binary files",
        "--- ",
        "+++ ",
    ];
    HEADS.iter().any(|h| l.starts_with(h))
}

pub(crate) fn is_mode_line(l: &str) -> bool {
    l.starts_with("new file mode")
        || l.starts_with("deleted file mode")
        || l.starts_with("rename ")
        || l.starts_with("Binary files")
}

/// The file a section is about: `+++ b/x` unless `/dev/null`, else
/// `--- a/x`, else the `b/` side of `diff --git a/x b/x`.
pub(crate) fn file_path<'a>(first: &'a str, header: &[&'a str]) -> &'a str {
    let side = |prefix: &str| {
        header
            .iter()
            .find_map(|h| h.strip_prefix(prefix))
            .map(|p| p.trim_end())
            .filter(|p| *p != "/dev/null")
            .map(|p| {
                p.split_once('/')
                    .filter(|_| p.starts_with(['a', 'b']))
                    .map_or(p, |(_, r)| r)
            })
    };
    side("+++ ")
        .or_else(|| side("--- "))
        .or_else(|| first.rsplit_once(" b/").map(|(_, p)| p))
        .unwrap_or(first)
}

/// `Some("lockfile")` etc. for files whose diff nobody reads line by line.
pub(crate) fn generated_kind(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    const LOCKS: &[&str] = &[
        "Cargo.lock",
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lock",
        "go.sum",
        "poetry.lock",
        "Pipfile.lock",
        "uv.lock",
        "pdm.lock",
        "Gemfile.lock",
        "composer.lock",
        "flake.lock",
        "mix.lock",
        "Podfile.lock",
        "pubspec.lock",
        "Package.resolved",
        "packages.lock.json",
        "gradle.lockfile",
        "deno.lock",
    ];
    if LOCKS.contains(&name) {
        return Some("lockfile");
    }
    let generated = name.ends_with(".min.js")
        || name.ends_with(".min.css")
        || name.ends_with(".js.map")
        || name.ends_with(".css.map")
        || name.ends_with(".snap")
        || name.ends_with(".pb.go")
        || name.ends_with("_pb2.py")
        || name.contains(".generated.")
        || path.contains("__snapshots__/");
    if generated {
        return Some("generated");
    }
    let vendored = ["vendor/", "node_modules/", "third_party/"]
        .iter()
        .any(|v| path.starts_with(v) || path.contains(&format!("/{v}")));
    vendored.then_some("vendored")
}

/// Lines worth keeping inside a long added/removed run: declarations at
/// shallow indentation (the outline of added code), headings in prose.
pub(crate) fn is_anchor(code: &str, prose: bool) -> bool {
    let trimmed = code.trim_start();
    let indent = code.len() - trimmed.len();
    if indent > 8 || trimmed.is_empty() {
        return false;
    }
    if prose {
        return trimmed.starts_with('#') || trimmed.starts_with("==") || trimmed.starts_with(".SH");
    }
    // Every keyword below starts with one of these letters: most lines
    // (`let`, `}`, `//`, `return`) are out after one byte.
    if !trimmed
        .bytes()
        .next()
        .is_some_and(|b| b"acdefimpstu".contains(&b))
    {
        return false;
    }
    // Rust items behind any visibility and qualifiers: `pub(crate) async fn`,
    // `pub const unsafe fn`, `pub(super) struct`.
    let mut item = trimmed;
    if let Some(rest) = item.strip_prefix("pub") {
        if let Some(rest) = rest.strip_prefix(' ') {
            item = rest;
        } else if let Some((_, rest)) = rest.strip_prefix('(').and_then(|r| r.split_once(") ")) {
            item = rest;
        }
    }
    while let Some(rest) = ["async ", "const ", "unsafe ", "default "]
        .iter()
        .find_map(|q| item.strip_prefix(q))
    {
        item = rest;
    }
    const ITEMS: &[&str] = &[
        "fn ",
        "struct ",
        "enum ",
        "trait ",
        "impl ",
        "impl<",
        "mod ",
        "type ",
        "union ",
        "macro_rules!",
    ];
    // Other languages' definitions.
    const DEFS: &[&str] = &[
        "def ",
        "async def ",
        "class ",
        "func ",
        "function ",
        "async function ",
        "export ",
        "interface ",
        "public ",
        "private ",
        "protected ",
    ];
    ITEMS.iter().any(|d| item.starts_with(d)) || DEFS.iter().any(|d| trimmed.starts_with(d))
}

/// A comment line in most languages (`//`, `/* *`, `#` but not `#[`/`#!`/`#include`).
pub(crate) fn is_comment(code: &str) -> bool {
    let t = code.trim_start();
    t.starts_with("//")
        || t.starts_with("/*")
        || t.starts_with("* ")
        || t == "*"
        || t.starts_with("*/")
        || t == "#"
        || t.starts_with("# ")
        || t.starts_with("--- ")
}

/// Documentation files, where `#` starts a heading, not a comment.
pub(crate) fn is_prose_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".md", ".markdown", ".rst", ".txt", ".adoc", ".1", ".org"]
        .iter()
        .any(|e| lower.ends_with(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_are_definitions() {
        for yes in [
            "pub fn a() {",
            "    pub(crate) async fn b(&self) {",
            "pub(in crate::x) struct C;",
            "pub const unsafe fn d() {}",
            "impl<T> E for T {",
            "type F = u8;",
            "def g(x):",
            "export default function h() {",
            "    public void i() {",
        ] {
            assert!(is_anchor(yes, false), "{yes}");
        }
        for no in [
            "let x = 1;",
            "            fn deep() {",
            "const X: u8 = 1;",
            "publicity()",
        ] {
            assert!(!is_anchor(no, false), "{no}");
        }
        assert!(is_anchor("## Usage", true));
        assert!(!is_anchor("fn x() {", true));
    }
}
