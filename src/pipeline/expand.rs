//! Proactive expansion: when the newest user question names something an
//! earlier tool result had dropped (an identifier, a file name, a quoted
//! string), the matching original lines go back into that question's turn,
//! so the model sees them without a retrieve round trip. Only the new turn
//! changes; earlier context stays byte-identical (the pipeline remembers the
//! expanded text and replays it on later turns).

use crate::ccr::Store;
use crate::compress::text;

/// Lines added at most per question.
const MAX_LINES: usize = 40;
/// Bytes added at most per question.
const MAX_BYTES: usize = 6 * 1024;
/// A term matching more original lines than this is too vague to expand.
const MAX_HITS_PER_TERM: usize = 12;

/// The expansion for `question` over the dropped blocks (`(hash, forwarded
/// text)`), or `None` when nothing dropped matches.
pub fn lines_for(
    question: &str,
    dropped: &[(String, std::sync::Arc<str>)],
    store: &dyn Store,
) -> Option<String> {
    let terms: Vec<String> = text::query_terms(Some(question))
        .into_iter()
        .filter(|t| t.len() >= 4)
        .collect();
    if terms.is_empty() {
        return None;
    }
    let mut out = String::new();
    let mut lines_added = 0;
    let mut seen_hashes: Vec<&str> = Vec::new();
    for (hash, forwarded) in dropped {
        if seen_hashes.contains(&hash.as_str()) {
            continue;
        }
        seen_hashes.push(hash);
        let Some(original) = store.get(hash) else {
            continue;
        };
        let visible = forwarded.to_ascii_lowercase();
        let lines: Vec<&str> = original.lines().collect();
        let mut picked: Vec<usize> = Vec::new();
        for term in &terms {
            // Only terms the forwarded text lost track of.
            let hits: Vec<usize> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| l.to_ascii_lowercase().contains(term.as_str()))
                .map(|(i, _)| i)
                .collect();
            if hits.is_empty() || hits.len() > MAX_HITS_PER_TERM {
                continue;
            }
            for i in hits {
                let l = lines[i].trim_end();
                if !l.trim().is_empty()
                    && !visible.contains(&l.trim().to_ascii_lowercase())
                    && !picked.contains(&i)
                {
                    picked.push(i);
                }
            }
        }
        if picked.is_empty() {
            continue;
        }
        picked.sort_unstable();
        let mut section = format!("[headroom: lines an earlier tool result omitted that match this question — hash={hash}]\n");
        for i in picked {
            if lines_added >= MAX_LINES || out.len() + section.len() >= MAX_BYTES {
                break;
            }
            section.push_str(&format!("{}: {}\n", i + 1, lines[i].trim_end()));
            lines_added += 1;
        }
        out.push_str(&section);
        if lines_added >= MAX_LINES || out.len() >= MAX_BYTES {
            break;
        }
    }
    (!out.is_empty()).then(|| out.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ccr::MemoryStore;
    use std::sync::Arc;

    #[test]
    fn expands_only_dropped_lines_the_question_names() {
        let store = MemoryStore::new(std::time::Duration::from_secs(60), 1 << 20);
        let original = "alpha ok\nparse_config failed at line 9\nbeta ok\nerror: boom";
        store.put("0123456789abcdef", original);
        let forwarded: Arc<str> =
            Arc::from("[3 of 4 lines omitted; hash=0123456789abcdef]\nerror: boom");
        let dropped = vec![("0123456789abcdef".to_string(), forwarded)];
        let e = lines_for("Why did `parse_config` fail?", &dropped, &store).unwrap();
        assert!(e.contains("2: parse_config failed at line 9"), "{e}");
        assert!(!e.contains("error: boom"));
        assert!(
            lines_for("what about boom?", &dropped, &store).is_none(),
            "visible lines are not repeated"
        );
        assert!(lines_for("hello there", &dropped, &store).is_none());
    }
}
