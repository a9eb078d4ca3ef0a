//! Per-block policy: may this tool output be changed, and how much?
//!
//! - Named protected tools (`--protect-tool-results`, defaults WebFetch and
//!   Read) are compressed losslessly only.
//! - File contents an agent may edit — a Read, or a shell command that
//!   prints a file (cat, head, tail, nl, sed -n, bat, less, more), whose
//!   content is source code, config or markup — are forwarded verbatim:
//!   agents build their edits from exactly those bytes. The same commands
//!   printing a log or a data file are compressed like any log.
//! - `Bash` as a whole is *not* protected (unlike the reference): build,
//!   test and log output is where the savings are, and no compressor drops
//!   an error line.

use super::formats::ToolCall;
use crate::compress::router::command_programs;

/// How much a block may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// Any compression, lossy allowed (recoverable through CCR).
    None,
    /// Lossless compaction only.
    Lossless,
    /// Forward exactly as is.
    Verbatim,
}

const PRINTERS: [&str; 11] = [
    "cat", "head", "tail", "nl", "sed", "bat", "batcat", "less", "more", "type", "view",
];

const SOURCE_EXT: &[&str] = &[
    "rs", "py", "pyi", "js", "jsx", "ts", "tsx", "mjs", "cjs", "go", "java", "kt", "kts", "scala",
    "c", "h", "cc", "cpp", "cxx", "hpp", "hh", "hxx", "cs", "rb", "php", "swift", "m", "mm", "lua",
    "pl", "pm", "r", "jl", "ex", "exs", "erl", "hs", "ml", "mli", "clj", "sh", "bash", "zsh",
    "fish", "ps1", "sql", "vue", "svelte", "dart", "zig", "nim", "sol", "proto", "graphql", "gql",
    "css", "scss", "sass", "less", "tf", "hcl", "nix", "cmake", "gradle", "groovy", "el", "vim",
];

const CONFIG_EXT: &[&str] = &[
    "toml",
    "yaml",
    "yml",
    "ini",
    "cfg",
    "conf",
    "properties",
    "env",
    "editorconfig",
    "gitignore",
    "dockerignore",
    "gitattributes",
    "plist",
    "xml",
];

const MARKUP_EXT: &[&str] = &[
    "md", "mdx", "markdown", "rst", "adoc", "html", "htm", "tex", "svg", "org",
];

const CONFIG_NAMES: &[&str] = &[
    "dockerfile",
    "makefile",
    "gnumakefile",
    "cmakelists.txt",
    "justfile",
    "procfile",
    "gemfile",
    "rakefile",
    "vagrantfile",
    "jenkinsfile",
    "package.json",
    "tsconfig.json",
    "jsconfig.json",
    "composer.json",
    "deno.json",
    ".eslintrc.json",
    ".prettierrc",
    ".babelrc",
    "settings.json",
    "launch.json",
    "app.json",
    "manifest.json",
    "cargo.toml",
    "pyproject.toml",
    "go.mod",
];

/// True for a path whose content an agent would edit (source, config,
/// markup).
pub fn is_editable_file(path: &str) -> bool {
    let name = path
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(path)
        .to_ascii_lowercase();
    if CONFIG_NAMES.contains(&name.as_str()) {
        return true;
    }
    if name.ends_with(".config.json")
        || name.ends_with(".config.js")
        || name.starts_with("tsconfig")
    {
        return true;
    }
    let Some((_, ext)) = name.rsplit_once('.') else {
        return false;
    };
    SOURCE_EXT.contains(&ext) || CONFIG_EXT.contains(&ext) || MARKUP_EXT.contains(&ext)
}

/// True for source code (not config or markup): the files an outline serves.
pub fn is_source_file(path: &str) -> bool {
    let name = path
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(path)
        .to_ascii_lowercase();
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| SOURCE_EXT.contains(&ext))
}

/// Whether two spellings name the same file (`src/x.rs` vs `/w/src/x.rs`).
fn paths_match(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_start_matches("./"), b.trim_start_matches("./"));
    a == b || a.ends_with(&format!("/{b}")) || b.ends_with(&format!("/{a}"))
}

/// The file a shell command prints, when its first stage is a printer:
/// `cat -n src/x.rs`, `sed -n 1,80p a.py`, `head -50 README.md`.
pub fn printed_file(command: &str) -> Option<&str> {
    let stage = command
        .split(['|', ';', '&', '\n'])
        .find(|s| !s.trim().is_empty())?;
    let programs = command_programs(stage);
    let program = programs.first()?;
    if !PRINTERS.contains(program) {
        return None;
    }
    stage
        .split_whitespace()
        .skip_while(|w| w.rsplit('/').next() != Some(program))
        .skip(1)
        .filter(|w| {
            !w.starts_with('-') && !w.contains('=') && !w.starts_with('<') && !w.starts_with('>')
        })
        .filter(|w| {
            !(program == &"sed"
                && (w.ends_with('p') && w.chars().next().is_some_and(|c| c.is_ascii_digit())))
        })
        .map(|w| w.trim_matches(['\'', '"']))
        .last()
}

/// Source files at least this large may be outlined with `--code-aware`.
pub const OUTLINE_MIN_BYTES: usize = 8 * 1024;

/// What the policy knows about the conversation around a block.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// `--code-aware`: large source files not being edited may be outlined.
    pub code_aware: bool,
    /// Files the conversation edits (Edit/Write/MultiEdit/NotebookEdit).
    pub edited: &'a [(usize, String)],
    /// Size of the block's text in bytes.
    pub size: usize,
}

/// Decide the protection of a block produced by `call`.
pub fn protection(call: Option<&ToolCall>, protected_tools: &[String]) -> Protection {
    protection_in(call, protected_tools, &Context::default())
}

/// [`protection`] with the conversation context: with `--code-aware`, a
/// source file of at least [`OUTLINE_MIN_BYTES`] that the conversation does
/// not edit may be compressed (outlined); files being edited stay verbatim.
pub fn protection_in(
    call: Option<&ToolCall>,
    protected_tools: &[String],
    ctx: &Context<'_>,
) -> Protection {
    let Some(call) = call else {
        return Protection::None;
    };
    if call.name == crate::retrieve::TOOL_NAME {
        // Our own answers are originals: compressing them again would undo
        // the retrieve.
        return Protection::Verbatim;
    }
    let named = protected_tools
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&call.name));
    let file = call
        .file_path
        .as_deref()
        .filter(|_| {
            call.name.eq_ignore_ascii_case("read") || call.name.eq_ignore_ascii_case("view")
        })
        .or_else(|| call.command.as_deref().and_then(printed_file));
    if let Some(f) = file.filter(|f| is_editable_file(f)) {
        let edited = ctx.edited.iter().any(|(_, e)| paths_match(e, f));
        let outline =
            ctx.code_aware && !edited && ctx.size >= OUTLINE_MIN_BYTES && is_source_file(f);
        return if outline {
            Protection::None
        } else {
            Protection::Verbatim
        };
    }
    if named {
        Protection::Lossless
    } else {
        Protection::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, command: Option<&str>, file: Option<&str>) -> ToolCall {
        ToolCall {
            name: name.into(),
            command: command.map(str::to_string),
            file_path: file.map(str::to_string),
            ..ToolCall::default()
        }
    }

    fn defaults() -> Vec<String> {
        vec!["Read".into(), "WebFetch".into()]
    }

    #[test]
    fn printed_files() {
        assert_eq!(printed_file("cat -n src/main.rs"), Some("src/main.rs"));
        assert_eq!(printed_file("sed -n 10,80p lib/a.py"), Some("lib/a.py"));
        assert_eq!(printed_file("head -50 README.md | cat"), Some("README.md"));
        assert_eq!(
            printed_file("cat 'data/breakages/x/fail.log'"),
            Some("data/breakages/x/fail.log")
        );
        assert_eq!(printed_file("cargo test"), None);
        assert_eq!(printed_file("grep -rn foo ."), None);
    }

    #[test]
    fn file_contents_an_agent_edits_stay_verbatim() {
        let p = defaults();
        assert_eq!(
            protection(Some(&call("Bash", Some("cat src/lib.rs"), None)), &p),
            Protection::Verbatim
        );
        assert_eq!(
            protection(Some(&call("Bash", Some("cat Cargo.toml"), None)), &p),
            Protection::Verbatim
        );
        assert_eq!(
            protection(Some(&call("Read", None, Some("/x/README.md"))), &p),
            Protection::Verbatim
        );
        // A log or data file printed by the same commands is compressed.
        assert_eq!(
            protection(Some(&call("Bash", Some("cat build/fail.log"), None)), &p),
            Protection::None
        );
        assert_eq!(
            protection(Some(&call("Bash", Some("tail -200 app.log"), None)), &p),
            Protection::None
        );
        // Read of a log: protected by name, lossless only.
        assert_eq!(
            protection(Some(&call("Read", None, Some("/var/log/x.log"))), &p),
            Protection::Lossless
        );
        assert_eq!(
            protection(Some(&call("WebFetch", None, None)), &p),
            Protection::Lossless
        );
        // Bash is not protected as a whole.
        assert_eq!(
            protection(Some(&call("Bash", Some("cargo test"), None)), &p),
            Protection::None
        );
        assert_eq!(protection(None, &p), Protection::None);
    }

    #[test]
    fn code_aware_outlines_large_sources_not_being_edited() {
        let p = defaults();
        let read = call("Read", None, Some("/w/src/big.rs"));
        let none: Vec<(usize, String)> = Vec::new();
        let ctx = |edited, size| Context {
            code_aware: true,
            edited,
            size,
        };
        assert_eq!(
            protection_in(Some(&read), &p, &ctx(&none, 20_000)),
            Protection::None
        );
        assert_eq!(
            protection_in(Some(&read), &p, &ctx(&none, 2_000)),
            Protection::Verbatim,
            "small files stay"
        );
        let edited = vec![(9, "src/big.rs".to_string())];
        assert_eq!(
            protection_in(Some(&read), &p, &ctx(&edited, 20_000)),
            Protection::Verbatim,
            "being edited"
        );
        let cfg = call("Bash", Some("cat Cargo.toml"), None);
        assert_eq!(
            protection_in(Some(&cfg), &p, &ctx(&none, 20_000)),
            Protection::Verbatim,
            "config stays"
        );
        let off = Context {
            code_aware: false,
            edited: &none,
            size: 20_000,
        };
        assert_eq!(protection_in(Some(&read), &p, &off), Protection::Verbatim);
    }
}
