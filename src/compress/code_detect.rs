//! Content sniffing for the source-code compressor: line-number prefixes
//! (`cat -n`, the Read tool's `   12→`), a code-likeness score and a
//! language guess for code that arrives without a file name. Called only
//! by `code.rs`; cheap (looks at the first rows only).

use super::code::Lang;

/// Length of a `cat -n` (`   12\t`) or Read tool (`   12→`) prefix.
pub(crate) fn number_prefix(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    let spaces = b.iter().take_while(|c| **c == b' ').count();
    let digits = b[spaces..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if digits == 0 {
        return None;
    }
    let at = spaces + digits;
    if b.get(at) == Some(&b'\t') {
        Some(at + 1)
    } else if line[at..].starts_with('→') {
        Some(at + '→'.len_utf8())
    } else {
        None
    }
}

/// Strip line-number prefixes when (nearly) every line has one. Returns the
/// code rows and each line's prefix length. Lines without a prefix in a
/// numbered listing (a trailing note) become empty code rows.
pub(crate) fn strip_numbers<'a>(lines: &[&'a str]) -> (Vec<&'a str>, Vec<usize>) {
    let sample = &lines[..lines.len().min(200)];
    let numbered = sample.iter().filter(|l| number_prefix(l).is_some()).count();
    if sample.is_empty() || numbered * 10 < sample.len() * 9 {
        return (lines.to_vec(), vec![0; lines.len()]);
    }
    let mut rows = Vec::with_capacity(lines.len());
    let mut prefixes = Vec::with_capacity(lines.len());
    for l in lines {
        match number_prefix(l) {
            Some(p) => {
                rows.push(&l[p..]);
                prefixes.push(p);
            }
            None => {
                rows.push("");
                prefixes.push(l.len());
            }
        }
    }
    (rows, prefixes)
}

/// Worth parsing as code: mostly code-like lines, or a fair share of them
/// plus telltale lines of some language. Real source scores 0.6-1.0 and
/// has telltales; logs that mention code reach 0.3 without any (and
/// tree-sitter's error recovery on them can take seconds).
pub(crate) fn plausible(rows: &[&str]) -> bool {
    let score = code_score(rows);
    score >= 0.6 || (score >= 0.3 && guess_lang(rows).is_some())
}

/// Fraction of non-blank rows that look like code.
pub(crate) fn code_score(rows: &[&str]) -> f32 {
    let mut nonblank = 0usize;
    let mut codeish = 0usize;
    for r in rows {
        let t = r.trim();
        if t.is_empty() {
            continue;
        }
        nonblank += 1;
        codeish += usize::from(is_codeish(t));
    }
    if nonblank < 5 {
        return 0.0;
    }
    codeish as f32 / nonblank as f32
}

fn is_codeish(t: &str) -> bool {
    const ENDS: &[&str] = &[
        "{", "}", ";", ")", "(", "[", "]", "=>", "->", "):", "},", "),", "*/",
    ];
    const STARTS: &[&str] = &[
        "fn ",
        "pub ",
        "use ",
        "let ",
        "impl",
        "struct ",
        "enum ",
        "mod ",
        "def ",
        "class ",
        "import ",
        "from ",
        "return",
        "if ",
        "if(",
        "for ",
        "while ",
        "func ",
        "package ",
        "const ",
        "var ",
        "function",
        "export ",
        "#include",
        "#define",
        "#[",
        "public ",
        "private ",
        "protected ",
        "static ",
        "void ",
        "int ",
        "@",
        "//",
        "/*",
        "* ",
        "#!",
        "else",
        "match ",
        "case ",
        "try",
        "except",
        "raise ",
        "async ",
        "await ",
        "self.",
        "type ",
        "interface ",
        "}",
        "elif ",
        "with ",
        "yield",
        "throw ",
        "catch",
    ];
    ENDS.iter().any(|e| t.ends_with(e)) || STARTS.iter().any(|s| t.starts_with(s))
}

/// Pick C++ over C for a `.h` file that uses C++ syntax.
pub(crate) fn refine(lang: Lang, rows: &[&str]) -> Lang {
    if lang != Lang::C {
        return lang;
    }
    let cpp = rows.iter().take(2000).any(|r| {
        let t = r.trim_start();
        t.starts_with("namespace ")
            || t.starts_with("template")
            || t.starts_with("class ")
            || t.starts_with("public:")
            || t.starts_with("private:")
            || t.contains("std::")
    });
    if cpp {
        Lang::Cpp
    } else {
        Lang::C
    }
}

/// Guess the language of unlabelled code from telltale lines; `None` when
/// no language has clear evidence.
pub(crate) fn guess_lang(rows: &[&str]) -> Option<Lang> {
    let mut score = [0usize; 8];
    const RUST: usize = 0;
    const PY: usize = 1;
    const JS: usize = 2;
    const TS: usize = 3;
    const GO: usize = 4;
    const JAVA: usize = 5;
    const C: usize = 6;
    const CPP: usize = 7;
    for r in rows.iter().take(2000) {
        let t = r.trim_start();
        let bump = |s: &mut [usize; 8], i: usize| s[i] += 1;
        if t.starts_with("fn ") || t.starts_with("pub fn ") || t.starts_with("pub(crate) ") {
            bump(&mut score, RUST);
        }
        if (t.starts_with("use ") && t.contains("::"))
            || t.starts_with("impl")
            || t.starts_with("#[")
            || t.starts_with("let mut ")
        {
            bump(&mut score, RUST);
        }
        if (t.starts_with("def ") || t.starts_with("class ")) && t.ends_with(':') {
            bump(&mut score, PY);
        }
        if (t.starts_with("from ") && t.contains(" import "))
            || t.starts_with("elif ")
            || t.contains("self.") && !t.ends_with(';')
        {
            bump(&mut score, PY);
        }
        if t.starts_with("func ")
            || t.contains(" := ")
            || (t.starts_with("package ") && !t.ends_with(';'))
        {
            bump(&mut score, GO);
        }
        if t.starts_with("public class ")
            || t.starts_with("@Override")
            || t.starts_with("import java")
            || (t.starts_with("package ") && t.ends_with(';'))
            || t.starts_with("private final ")
        {
            bump(&mut score, JAVA);
        }
        if t.starts_with("function ")
            || t.contains("=> {")
            || t.contains("require(")
            || t.starts_with("module.exports")
            || (t.starts_with("import ") && t.contains(" from '"))
            || t.starts_with("export default")
        {
            bump(&mut score, JS);
        }
        if t.starts_with("interface ")
            || t.starts_with("export interface ")
            || t.starts_with("export type ")
            || t.contains(": string")
            || t.contains(": number")
        {
            bump(&mut score, TS);
        }
        if t.starts_with("#include")
            || t.starts_with("#define ")
            || t.starts_with("typedef ")
            || t.starts_with("static void ")
            || t.starts_with("int main(")
        {
            bump(&mut score, C);
        }
        if t.contains("std::")
            || t.starts_with("namespace ")
            || t.starts_with("template")
            || t.starts_with("public:")
        {
            bump(&mut score, CPP);
        }
    }
    // TypeScript is JavaScript plus types; C++ is C plus classes.
    if score[TS] > 0 {
        score[TS] += score[JS];
    }
    if score[CPP] > 0 {
        score[CPP] += score[C];
    }
    let (best, n) = score
        .iter()
        .enumerate()
        .max_by_key(|(i, n)| (**n, usize::MAX - i))?;
    // Telltale lines must be a real share of the text, not a few stray
    // lines of a log that mention `self.` or `: string`.
    let nonblank = rows
        .iter()
        .take(2000)
        .filter(|r| !r.trim().is_empty())
        .count();
    if *n < 3 || *n * 100 < nonblank * 4 {
        return None;
    }
    Some(
        [
            Lang::Rust,
            Lang::Python,
            Lang::JavaScript,
            Lang::TypeScript,
            Lang::Go,
            Lang::Java,
            Lang::C,
            Lang::Cpp,
        ][best],
    )
}
