//! Redundancy detectors of the diff compressor: changes that say nothing
//! new once something else is shown. Removed blocks re-added with only
//! whitespace changed, removed blocks added as one block elsewhere (moved),
//! removed blocks fully explained by a mass rename (`Item→Self`), runs and
//! whole changes repeating an earlier one, and streaks of changes that
//! differ only in numbers. Methods of `diff_patch.rs`'s walker plus the
//! patch-wide indexes they use; every detector is linear in the patch
//! (hash lookups, bounded probes) and keeps lines matching the query.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::diff_lines::sign_of;
use super::diff_patch::{Fate, Group, Patch, DEDUP_MIN};

/// Changes of the same shape in a row shown before the rest are cut.
const SIMILAR_KEEP: usize = 2;

/// A run of change groups of one shape inside a hunk.
#[derive(Clone, Copy)]
struct Streak {
    shape: u64,
    /// Index after the last group of the streak.
    end: usize,
    /// Groups in the streak so far.
    len: usize,
    /// The cut region (group id) and how many groups it holds.
    cut: Option<(usize, usize)>,
}

/// A fast non-cryptographic hasher (the Fx multiply-rotate scheme) for the
/// sets of lines this compressor looks up; SipHash dominated the profile.
/// Only membership is asked of these sets, never their order.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Builds [`Fx`] hashers.
pub(crate) type FxBuild = BuildHasherDefault<Fx>;

/// Removed blocks are only called "moved" when their added copy is found
/// among this many candidate positions (bounded work on repetitive code).
const MOVED_PROBES: usize = 16;

/// The non-trivial added lines of a whole patch, in order, with an index
/// from text to positions: a removed block whose non-trivial lines appear
/// as one contiguous block of added lines was moved (or re-added).
pub(crate) struct AddedIndex<'a> {
    seq: Vec<&'a str>,
    /// First position of each text in `seq`.
    first: HashMap<&'a str, usize, FxBuild>,
    /// Next position of the same text after each position (`usize::MAX`
    /// ends the chain): no allocation per distinct line.
    next: Vec<usize>,
}

impl<'a> AddedIndex<'a> {
    pub(crate) fn new(lines: &[&'a str]) -> Self {
        let seq: Vec<&'a str> = lines
            .iter()
            .filter_map(|l| l.strip_prefix('+'))
            .filter(|code| !code.starts_with("++ "))
            .map(|code| code.trim())
            .filter(|t| !trivial(t))
            .collect();
        let mut first: HashMap<&'a str, usize, FxBuild> =
            HashMap::with_capacity_and_hasher(seq.len(), FxBuild::default());
        let mut next = vec![usize::MAX; seq.len()];
        for (p, t) in seq.iter().enumerate().rev() {
            if let Some(later) = first.insert(t, p) {
                next[p] = later;
            }
        }
        AddedIndex { seq, first, next }
    }

    /// True when the non-trivial lines of `run` (removed lines, sign
    /// included) appear in this order as consecutive non-trivial added
    /// lines, and there are at least two of them.
    pub(crate) fn contains_block(&self, run: &[&str]) -> bool {
        let mut want = run
            .iter()
            .map(|l| l.get(1..).unwrap_or("").trim())
            .filter(|t| !trivial(t));
        let Some(first) = want.next() else {
            return false;
        };
        let rest: Vec<&str> = want.collect();
        if rest.is_empty() {
            return false;
        }
        let Some(&start) = self.first.get(first) else {
            return false;
        };
        let starts = std::iter::successors(Some(start), |&p| {
            self.next.get(p).copied().filter(|&n| n != usize::MAX)
        });
        starts.take(MOVED_PROBES).any(|p| {
            self.seq
                .get(p + 1..p + 1 + rest.len())
                .is_some_and(|s| s == rest.as_slice())
        })
    }
}

/// A mass rename must explain at least this many replaced lines of the
/// patch before removed blocks are left out because of it.
const RENAME_MIN: usize = 3;

/// Identifier renames that explain replaced lines (`-Item::None` /
/// `+Self::None`), counted over the whole patch. One seen at least
/// [`RENAME_MIN`] times is a mass edit (a rename, an API migration), and a
/// removed block it fully explains says nothing the added block does not.
pub(crate) struct Renames<'a> {
    counts: HashMap<(&'a str, &'a str), usize, FxBuild>,
}

impl<'a> Renames<'a> {
    pub(crate) fn new(lines: &[&'a str]) -> Self {
        let mut counts: HashMap<(&'a str, &'a str), usize, FxBuild> = HashMap::default();
        let mut i = 0;
        while i < lines.len() {
            if !is_removed(lines[i]) {
                i += 1;
                continue;
            }
            let mut j = i;
            while j < lines.len() && is_removed(lines[j]) {
                j += 1;
            }
            let mut k = j;
            while k < lines.len() && is_added(lines[k]) {
                k += 1;
            }
            if k - j == j - i {
                for (a, b) in lines[i..j].iter().zip(&lines[j..k]) {
                    if let Some(s) = rename(&a[1..], &b[1..]) {
                        *counts.entry(s).or_insert(0) += 1;
                    }
                }
            }
            i = k;
        }
        Renames { counts }
    }

    /// The mass rename that turns each removed line of `old` into the added
    /// line at the same place in `new` (which starts right after `old` and
    /// must hold exactly as many added lines), if there is one.
    pub(crate) fn explains(&self, old: &[&'a str], new: &[&'a str]) -> Option<(&'a str, &'a str)> {
        let n = old.len();
        let paired = new.len() >= n
            && new[..n].iter().all(|l| is_added(l))
            && !new.get(n).is_some_and(|l| is_added(l));
        if !paired || self.counts.is_empty() {
            return None;
        }
        let mut found = None;
        for (a, b) in old.iter().zip(new) {
            let s = rename(a.get(1..)?, b.get(1..)?)?;
            if found.is_some_and(|f| f != s) {
                return None;
            }
            found = Some(s);
        }
        let s = found?;
        (self.counts.get(&s).copied().unwrap_or(0) >= RENAME_MIN).then_some(s)
    }
}

fn is_removed(l: &str) -> bool {
    l.starts_with('-') && !l.starts_with("--- ")
}

fn is_added(l: &str) -> bool {
    l.starts_with('+') && !l.starts_with("+++ ")
}

/// `(old, new)` identifiers when `new_line` is `old_line` with every
/// occurrence of `old` replaced by `new` (the first differing word decides).
fn rename<'x>(old_line: &'x str, new_line: &'x str) -> Option<(&'x str, &'x str)> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let (ob, nb) = (old_line.as_bytes(), new_line.as_bytes());
    let mut s = ob.iter().zip(nb).take_while(|(x, y)| x == y).count();
    while s > 0 && word(ob[s - 1]) {
        s -= 1;
    }
    let end = |b: &[u8]| {
        s + b
            .get(s..)
            .map_or(0, |r| r.iter().take_while(|&&c| word(c)).count())
    };
    let (old, new) = (old_line.get(s..end(ob))?, new_line.get(s..end(nb))?);
    let ident = |w: &str| w.len() >= 2 && !w.as_bytes()[0].is_ascii_digit();
    (ident(old) && ident(new) && old != new && old_line.replace(old, new) == new_line)
        .then_some((old, new))
}

/// Hash of `lines` with every run of digits read as one `#`: two changes
/// with the same shape differ only in numbers (versions, links, tables).
fn shape(lines: &[&str]) -> u64 {
    let mut h = Fx::default();
    for l in lines {
        let mut digits = false;
        for &b in l.as_bytes() {
            let d = b.is_ascii_digit();
            if !(d && digits) {
                h.write_u8(if d { b'#' } else { b });
            }
            digits = d;
        }
        h.write_u8(b'\n');
    }
    h.finish()
}

/// Lines too common to say anything about where code went: short ones and
/// pure punctuation (`}`, `});`, blank).
fn trivial(t: &str) -> bool {
    t.len() < 4 || t.bytes().all(|b| b"{}()[];,".contains(&b) || b == b' ')
}

/// True when the removed `old` lines and the added `new` lines differ only
/// in whitespace (reformatting, re-indentation, re-wrapping).
fn same_but_whitespace(old: &[&str], new: &[&str]) -> bool {
    // Bytes, not chars: whitespace is ASCII, and the first difference
    // (usually early) ends the comparison without allocating.
    fn text<'x>(ls: &'x [&'x str]) -> impl Iterator<Item = u8> + 'x {
        ls.iter()
            .flat_map(|l| l.as_bytes().get(1..).unwrap_or(&[]).iter().copied())
            .filter(|b| !b.is_ascii_whitespace())
    }
    !new.is_empty()
        && old.iter().chain(new).all(|l| !l.starts_with('\\'))
        && text(old).eq(text(new))
}

impl<'a> Patch<'a, '_, '_> {
    /// Change groups (removed lines and the added lines after them) that
    /// repeat the shape of the group before them, digits aside (link and
    /// version updates, tables of constants): after [`SIMILAR_KEEP`] in a
    /// row, the rest of the streak and the context between them become
    /// one marker. Groups already cut or matching the query break a streak.
    pub(crate) fn similar(
        &self,
        body: &[&str],
        base: usize,
        fates: &mut [Fate],
        groups: &mut Vec<Group>,
    ) {
        let mut streak: Option<Streak> = None;
        let mut i = 0;
        while i < body.len() {
            let a = i;
            while i < body.len() && sign_of(body[i]) == b'-' {
                i += 1;
            }
            while i < body.len() && sign_of(body[i]) == b'+' {
                i += 1;
            }
            if i == a {
                i += 1;
                continue;
            }
            let b = i;
            let plain = fates[a..b].iter().all(|f| *f == Fate::Keep);
            if !plain || (base + a..base + b).any(|k| self.hit(k)) {
                streak = None;
                continue;
            }
            let shape = shape(&body[a..b]);
            let Some(st) = streak.filter(|st| st.shape == shape) else {
                streak = Some(Streak {
                    shape,
                    end: b,
                    len: 1,
                    cut: None,
                });
                continue;
            };
            if st.len < SIMILAR_KEEP {
                streak = Some(Streak {
                    end: b,
                    len: st.len + 1,
                    ..st
                });
                continue;
            }
            // Extend the region over the context since the last cut group,
            // unless that context matches the query: then a new region.
            let bridge = st
                .cut
                .filter(|_| !(base + st.end..base + a).any(|k| self.hit(k)));
            let (g, cut_n, from) = match bridge {
                Some((g, cut_n)) => (g, cut_n + 1, st.end),
                None => {
                    groups.push(Group {
                        total: body.len(),
                        unit: "lines",
                        note: None,
                        mixed: true,
                    });
                    (groups.len() - 1, 1, a)
                }
            };
            fates[from..b].fill(Fate::Cut(g));
            groups[g].note = Some(format!("{cut_n} more changes like the above"));
            streak = Some(Streak {
                shape,
                end: b,
                len: st.len + 1,
                cut: Some((g, cut_n)),
            });
        }
    }

    /// When the removed run `body[i..j]` and the added run after it repeat
    /// a change seen earlier in the patch (the same edit in several
    /// places), the end of that added run.
    pub(crate) fn repeated_change(
        &mut self,
        body: &'a [&'a str],
        base: usize,
        i: usize,
        j: usize,
    ) -> Option<usize> {
        if sign_of(body[i]) != b'-' {
            return None;
        }
        let mut b = j;
        while b < body.len() && sign_of(body[b]) == b'+' {
            b += 1;
        }
        let change = &body[i..b];
        if b == j || change.len() < DEDUP_MIN || (base + i..base + b).any(|k| self.hit(k)) {
            return None;
        }
        let nontrivial = change
            .iter()
            .filter(|l| !trivial(l.get(1..).unwrap_or("").trim()))
            .nth(1)
            .is_some();
        (nontrivial && !self.seen.insert(change)).then_some(b)
    }

    /// Why the changed run `body[i..j]` can be replaced by one marker, if it
    /// can: removed lines re-added with only whitespace changed right
    /// after, removed lines added as one block elsewhere in the patch, or a
    /// run identical to an earlier one. Runs with query matches stay.
    pub(crate) fn redundant(
        &mut self,
        body: &'a [&'a str],
        base: usize,
        i: usize,
        j: usize,
    ) -> Option<String> {
        let run = &body[i..j];
        if (base + i..base + j).any(|k| self.hit(k)) {
            return None;
        }
        if sign_of(run[0]) == b'-' && run.len() >= 2 {
            if let Some((old, to)) = self.shared.renames.explains(run, &body[j..]) {
                return Some(format!("{old}→{to}"));
            }
        }
        let worth = run.len() >= DEDUP_MIN
            && run
                .iter()
                .filter(|l| !trivial(l.get(1..).unwrap_or("").trim()))
                .nth(1)
                .is_some();
        if !worth {
            return None;
        }
        let first_seen = self.seen.insert(run);
        if sign_of(run[0]) == b'-' {
            let mut k = j;
            while k < body.len() && body[k].starts_with('+') {
                k += 1;
            }
            if same_but_whitespace(run, &body[j..k]) {
                return Some("whitespace only".into());
            }
            if self.shared.added.contains_block(run) {
                return Some("moved".into());
            }
        }
        // The new side of a block just called "whitespace only" stays.
        let reformatted = i > 0 && sign_of(body[i - 1]) == b'-' && {
            let mut k = i;
            while k > 0 && sign_of(body[k - 1]) == b'-' {
                k -= 1;
            }
            same_but_whitespace(&body[k..i], run)
        };
        (!first_seen && !reformatted).then(|| "repeated".into())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{diff, Input, Options, Output};
    use super::*;
    use std::hash::BuildHasher;

    fn run_q(text: &str, query: Option<&str>) -> Output {
        let input = Input {
            text,
            tool_name: Some("Bash"),
            command: Some("git show"),
            file_path: None,
            query,
            hash: "0123456789abcdef",
        };
        diff::compress(&input, &Options::default()).expect("compressed")
    }

    fn has_line(t: &str, want: &str) -> bool {
        t.lines().any(|l| l == want)
    }

    const FETCH: [&str; 4] = [
        "    let body = client.get(url).send()?;",
        "    let text = body.text()?;",
        "    let parsed = parse_reply(&text)?;",
        "    cache.insert(url.to_string(), parsed);",
    ];

    #[test]
    fn whitespace_only_changes() {
        assert!(same_but_whitespace(
            &["-    call(", "-        one,", "-    );"],
            &["+    call(one,);"]
        ));
        assert!(!same_but_whitespace(&["-a + b"], &["+a * b"]));
        assert!(!same_but_whitespace(&["-x"], &[]));
        assert!(!same_but_whitespace(
            &["-x", "\\ No newline at end of file"],
            &["+x"]
        ));
    }

    #[test]
    fn moved_blocks_need_two_lines_in_order() {
        let lines = [
            "+++ b/x.rs",
            "+    let a = one();",
            "+}",
            "+    let b = two();",
            "+    let c = three();",
        ];
        let idx = AddedIndex::new(&lines);
        assert!(idx.contains_block(&["-let a = one();", "-  }", "-let b = two();"]));
        assert!(!idx.contains_block(&["-let b = two();", "-let a = one();"]));
        assert!(!idx.contains_block(&["-let a = one();", "-}", "-"]));
        assert!(!idx.contains_block(&["-let z = other();", "-let a = one();"]));
    }

    #[test]
    fn trivial_lines() {
        assert!(trivial("});"));
        assert!(trivial("x"));
        assert!(!trivial("Ok(())x"));
    }

    #[test]
    fn fx_hash_is_stable() {
        let h = |s: &str| FxBuild::default().hash_one(s);
        assert_eq!(h("some line of code"), h("some line of code"));
        assert_ne!(h("some line of code"), h("some line of codf"));
    }

    #[test]
    fn renames_explain_replaced_lines() {
        assert_eq!(
            rename(
                "    Item::None => Item::None,",
                "    Self::None => Self::None,"
            ),
            Some(("Item", "Self"))
        );
        assert_eq!(rename("let a = 0.1.5;", "let a = 0.1.6;"), None);
        assert_eq!(
            rename("use serde::de;", "use serde_core::de;"),
            Some(("serde", "serde_core"))
        );
        // Not every occurrence renamed: not a plain rename.
        assert_eq!(rename("Item(Item)", "Self(Item)"), None);
        assert_eq!(rename("é x", "é y"), None);
        assert_eq!(rename("abc", "abc"), None);
        let lines = [
            "-    Item::A => 1,",
            "-    Item::B => 2,",
            "+    Self::A => 1,",
            "+    Self::B => 2,",
            " ctx",
            "-    x: Item,",
            "+    x: Self,",
        ];
        let r = Renames::new(&lines);
        assert_eq!(
            r.explains(&lines[0..2], &lines[2..]),
            Some(("Item", "Self"))
        );
        // Unequal pairing is not explained.
        assert_eq!(r.explains(&lines[0..1], &lines[2..]), None);
        let once = Renames::new(&lines[..4]);
        assert_eq!(
            once.explains(&lines[0..2], &lines[2..4]),
            None,
            "seen twice only"
        );
    }

    #[test]
    fn shapes_ignore_numbers_only() {
        let a = ["-see RFC7231 section 6.3.1", "+see RFC9110 section 15.3.1"];
        let b = ["-see RFC7231 section 6.3.22", "+see RFC9110 section 15.3.2"];
        let c = ["-see RFC7231 part 6.3.2", "+see RFC9110 section 15.3.2"];
        assert_eq!(shape(&a), shape(&b));
        assert_ne!(shape(&a), shape(&c));
        assert_ne!(shape(&a[..1]), shape(&a));
    }
    #[test]
    fn reindented_block_keeps_only_the_new_side() {
        let mut s = String::from(
            "diff --git a/src/a.rs b/src/a.rs\n--- a/src/a.rs\n+++ b/src/a.rs\n@@ -1,6 +1,4 @@\n fn f() {\n",
        );
        s.push_str("-    call(\n-        one,\n-        two\n-    );\n");
        s.push_str("+    call(one, two);\n");
        s.push_str(" }\n");
        let t = run_q(&s, None).text;
        assert!(
            has_line(&t, "-[4 of 4 lines omitted — whitespace only]"),
            "{t}"
        );
        assert!(has_line(&t, "+    call(one, two);"), "{t}");
        assert!(!t.contains("-        one,"), "{t}");
    }

    #[test]
    fn moved_block_is_shown_once_on_the_added_side() {
        let mut s = String::from(
            "diff --git a/src/a.rs b/src/a.rs\n--- a/src/a.rs\n+++ b/src/a.rs\n@@ -1,6 +1,2 @@\n fn a() {\n",
        );
        for l in FETCH {
            s.push_str(&format!("-{l}\n"));
        }
        s.push_str(" }\ndiff --git a/src/b.rs b/src/b.rs\n--- a/src/b.rs\n+++ b/src/b.rs\n@@ -1,2 +1,6 @@\n fn b() {\n");
        for l in FETCH {
            // Re-indented on the way: still the same block.
            s.push_str(&format!("+    {l}\n"));
        }
        s.push_str(" }\n");
        let out = run_q(&s, None);
        let t = &out.text;
        assert!(out.lossy);
        assert!(has_line(t, "-[4 of 4 lines omitted — moved]"), "{t}");
        assert!(has_line(t, &format!("+    {}", FETCH[2])), "{t}");
        assert!(!has_line(t, &format!("-{}", FETCH[2])), "{t}");
        assert!(has_line(t, "diff --git a/src/a.rs b/src/a.rs"), "{t}");
    }

    #[test]
    fn repeated_change_is_cut_after_its_first_copy() {
        let mut s = String::new();
        for f in ["a", "b", "c"] {
            s.push_str(&format!(
                "diff --git a/src/{f}.rs b/src/{f}.rs\n--- a/src/{f}.rs\n+++ b/src/{f}.rs\n@@ -1,2 +1,6 @@\n fn {f}() {{\n"
            ));
            for l in FETCH {
                s.push_str(&format!("+{l}\n"));
            }
            s.push_str(" }\n");
        }
        let t = run_q(&s, None).text;
        let copies = t.lines().filter(|l| *l == format!("+{}", FETCH[1])).count();
        assert_eq!(copies, 1, "{t}");
        let markers = t
            .lines()
            .filter(|l| *l == "+[4 of 4 lines omitted — repeated]")
            .count();
        assert_eq!(markers, 2, "{t}");
        for f in ["a", "b", "c"] {
            assert!(has_line(
                &t,
                &format!("diff --git a/src/{f}.rs b/src/{f}.rs")
            ));
        }
    }

    #[test]
    fn query_matches_stop_dedup() {
        let mut s = String::new();
        for f in ["a", "b"] {
            s.push_str(&format!(
                "diff --git a/src/{f}.rs b/src/{f}.rs\n--- a/src/{f}.rs\n+++ b/src/{f}.rs\n@@ -1,2 +1,6 @@\n fn {f}() {{\n"
            ));
            for l in FETCH {
                s.push_str(&format!("+{l}\n"));
            }
            s.push_str(" }\n");
        }
        let t = run_q(&s, Some("where is parse_reply called?")).text;
        let copies = t.lines().filter(|l| *l == format!("+{}", FETCH[2])).count();
        assert_eq!(copies, 2, "{t}");
    }

    /// One file, one hunk of `n` link updates separated by context lines.
    fn link_updates(n: usize) -> String {
        let mut s = String::from("diff --git a/doc.rs b/doc.rs\n--- a/doc.rs\n+++ b/doc.rs\n");
        s.push_str(&format!("@@ -1,{0} +1,{0} @@ mod codes {{\n", n * 4));
        for i in 0..n {
            s.push_str(&format!("     /// Code {i}, described in the spec.\n"));
            s.push_str(&format!(
                "-    /// See [RFC7231, Section 6.{i}](https://tools.ietf.org/html/rfc7231)\n"
            ));
            s.push_str(&format!(
                "+    /// See [RFC9110, Section 15.{i}](https://www.rfc-editor.org/rfc/rfc9110)\n"
            ));
            s.push_str(&format!("     (10{i}, CODE_{i}, \"Reason {i}\");\n"));
        }
        s
    }

    #[test]
    fn similar_changes_keep_two_examples() {
        let s = link_updates(60);
        let t = run_q(&s, None).text;
        assert!(t.contains("+    /// See [RFC9110, Section 15.0]"), "{t}");
        assert!(t.contains("+    /// See [RFC9110, Section 15.1]"), "{t}");
        assert!(!t.contains("Section 15.30]"), "{t}");
        assert!(t.contains("more changes like the above]"), "{t}");
        assert!(has_line(&t, "diff --git a/doc.rs b/doc.rs"));
        // A query match in the context between them stays, and splits the cut.
        let t = run_q(&s, Some("which one is CODE_30?")).text;
        assert!(t.contains("(1030, CODE_30, \"Reason 30\");"), "{t}");
        assert!(
            t.matches("more changes like the above]").count() >= 2,
            "{t}"
        );
    }

    #[test]
    fn mass_rename_leaves_out_derivable_removed_lines() {
        let mut s = String::from("diff --git a/item.rs b/item.rs\n--- a/item.rs\n+++ b/item.rs\n");
        for h in 0..3 {
            s.push_str(&format!(
                "@@ -{0},4 +{0},4 @@ impl Item {{\n     match self {{\n",
                h * 10 + 1
            ));
            s.push_str(&format!(
                "-        Item::A{h} => 1,\n-        Item::B{h}(x) => x,\n"
            ));
            s.push_str(&format!(
                "+        Self::A{h} => 1,\n+        Self::B{h}(x) => x,\n"
            ));
        }
        let out = run_q(&s, None);
        let t = &out.text;
        assert_eq!(
            t.matches("-[2 of 2 lines omitted — Item→Self]").count(),
            3,
            "{t}"
        );
        assert!(has_line(t, "+        Self::B2(x) => x,"), "{t}");
        assert!(!t.contains("-        Item::A1"), "{t}");
    }

    #[test]
    fn repeated_whole_change_is_said_once() {
        let mut s = String::from("diff --git a/a.rs b/a.rs\n--- a/a.rs\n+++ b/a.rs\n");
        for h in 0..3 {
            s.push_str(&format!("@@ -{0},3 +{0},3 @@ fn f{h}() {{\n", h * 20 + 1));
            s.push_str("-    let uri = Uri::try_from(x)?;\n-    let req = build(uri);\n");
            s.push_str("+    let uri: Uri = x.try_into()?;\n+    let req = build(uri);\n");
        }
        let t = run_q(&s, None).text;
        assert_eq!(
            t.matches("+    let uri: Uri = x.try_into()?;").count(),
            1,
            "{t}"
        );
        assert_eq!(
            t.matches(" [4 of 4 lines omitted — same change as above]")
                .count(),
            2,
            "{t}"
        );
        for h in 0..3 {
            assert!(t.contains(&format!("@@ fn f{h}() {{")), "{t}");
        }
    }
}
