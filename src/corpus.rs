//! The shared retention corpus: case loading and fact checking.
//!
//! A case is a real tool output plus must-survive facts (see
//! `shared/corpus/README.md`). A fact is *visible* when it can be read in the
//! compressed text after the corpus normalisation (ANSI stripped, CRLF and
//! bare CR to LF, runs of blanks collapsed, lines trimmed) is applied to both
//! sides. Used by the retention tests and `examples/corpus_report.rs`; no
//! dependency on the rest of the crate.

use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;

/// One corpus case (only the fields retention needs).
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    pub id: String,
    pub kind: String,
    #[serde(default)]
    pub license: Option<String>,
    #[serde(default)]
    pub tool: Option<Tool>,
    #[serde(default)]
    pub query: Option<String>,
    pub content: String,
    #[serde(default)]
    pub facts: Vec<Fact>,
    #[serde(default)]
    pub should_drop: Vec<String>,
}

/// The tool call that produced a case.
#[derive(Debug, Clone, Deserialize)]
pub struct Tool {
    pub name: String,
    #[serde(default)]
    pub input: serde_json::Value,
}

impl Case {
    /// `tool.input.command` when the case came from a shell call.
    pub fn command(&self) -> Option<&str> {
        self.tool.as_ref()?.input.get("command")?.as_str()
    }

    /// `tool.name`, if any.
    pub fn tool_name(&self) -> Option<&str> {
        self.tool.as_ref().map(|t| t.name.as_str())
    }
}

/// A must-survive fact.
#[derive(Debug, Clone, Deserialize)]
pub struct Fact {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub hard: bool,
}

/// Load every `cases/<kind>/<id>.json` under `root` (the corpus folder),
/// sorted by path so runs are comparable.
pub fn load_cases(root: &Path) -> std::io::Result<Vec<Case>> {
    let mut paths: Vec<PathBuf> = Vec::new();
    for kind_dir in std::fs::read_dir(root.join("cases"))? {
        let kind_dir = kind_dir?.path();
        if !kind_dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&kind_dir)? {
            let p = f?.path();
            if p.extension().is_some_and(|e| e == "json") {
                paths.push(p);
            }
        }
    }
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let raw = std::fs::read(p)?;
            serde_json::from_slice::<Case>(&raw).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", p.display()),
                )
            })
        })
        .collect()
}

/// The corpus normalisation: strip ANSI, CRLF/CR to LF, collapse runs of
/// blanks (space, tab) to one space, trim each line.
pub fn normalise(s: &str) -> String {
    let stripped = crate::compress::text::strip_ansi(s);
    let mut out = String::with_capacity(stripped.len());
    for (i, line) in crate::compress::text::lines(&stripped).iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut prev_blank = false;
        for c in line.trim_matches([' ', '\t']).chars() {
            if c == ' ' || c == '\t' {
                if !prev_blank {
                    out.push(' ');
                }
                prev_blank = true;
            } else {
                out.push(c);
                prev_blank = false;
            }
        }
    }
    out
}

/// A normalised output prepared for repeated fact checks.
pub struct Checker {
    text: String,
    lines: std::collections::HashSet<String>,
}

impl Checker {
    pub fn new(output: &str) -> Self {
        let text = normalise(output);
        let lines = text.lines().map(str::to_string).collect();
        Checker { text, lines }
    }

    /// True when `fact` is visible in the output.
    pub fn visible(&self, fact: &Fact) -> bool {
        match fact.kind.as_str() {
            "substring" => fact
                .text
                .as_deref()
                .is_some_and(|t| self.text.contains(&normalise(t))),
            "line" => fact
                .text
                .as_deref()
                .is_some_and(|t| self.lines.contains(&normalise(t))),
            "regex" => fact
                .pattern
                .as_deref()
                .is_some_and(|p| Regex::new(p).is_ok_and(|re| re.is_match(&self.text))),
            _ => false,
        }
    }
}

/// Report bucket for a corpus kind (the target groups).
pub fn bucket(kind: &str) -> &'static str {
    match kind {
        "ci_log" | "test_output" | "build_output" | "syslog" => "logs",
        "json_api" | "kv_json" => "json",
        "grep" => "search",
        "listing" => "listing",
        "diff" | "git_log" => "diff",
        "source" => "source",
        "prose" => "prose",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_matches_the_readme() {
        assert_eq!(
            normalise("\u{1b}[1m a \t b \u{1b}[0m\r\nc\rd  "),
            "a b\nc\nd"
        );
    }

    #[test]
    fn identity_sees_every_fact() {
        let content = "x  1\nerror: boom\n{\"code\": \"invalid\"}\n";
        let facts = [
            Fact {
                id: "1".into(),
                kind: "line".into(),
                text: Some("error: boom".into()),
                pattern: None,
                hard: true,
            },
            Fact {
                id: "2".into(),
                kind: "substring".into(),
                text: Some("x 1".into()),
                pattern: None,
                hard: true,
            },
            Fact {
                id: "3".into(),
                kind: "regex".into(),
                text: None,
                pattern: Some("\"code\"\\s*:\\s*\"invalid\"".into()),
                hard: true,
            },
        ];
        let c = Checker::new(content);
        assert!(facts.iter().all(|f| c.visible(f)));
        assert!(!Checker::new("error: boom!").visible(&facts[0]));
    }
}
