//! Borrowed navigation of a JSON document that keeps byte offsets, so the
//! pipeline can replace one string value and leave every other byte of the
//! request exactly as the client wrote it (key order, whitespace, number
//! formatting, escapes).
//!
//! Every value handed out is a `&RawValue` borrowed from the original text;
//! [`offset`] turns it back into a byte range of that text.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::value::RawValue;

/// Keys of an object with their raw values (last duplicate wins, as in
/// serde_json's own maps).
pub type Object<'a> = BTreeMap<Cow<'a, str>, &'a RawValue>;

/// Parse `raw` as an object, borrowing values.
pub fn object<'a>(raw: &'a RawValue) -> Option<Object<'a>> {
    if !raw.get().trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str::<Object<'a>>(raw.get()).ok()
}

/// Parse `raw` as an array, borrowing elements.
pub fn array<'a>(raw: &'a RawValue) -> Option<Vec<&'a RawValue>> {
    if !raw.get().trim_start().starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<&'a RawValue>>(raw.get()).ok()
}

/// Parse the whole document as a raw value.
pub fn document(text: &str) -> Option<&RawValue> {
    serde_json::from_str::<&RawValue>(text).ok()
}

/// True when `raw` is a JSON string literal.
pub fn is_string(raw: &RawValue) -> bool {
    raw.get().starts_with('"')
}

/// The decoded string value of `raw`, borrowed when it has no escapes.
pub fn string<'a>(raw: &'a RawValue) -> Option<Cow<'a, str>> {
    if !is_string(raw) {
        return None;
    }
    serde_json::from_str::<Cow<'a, str>>(raw.get()).ok()
}

/// `obj[key]` as a decoded string.
pub fn str_field<'a>(obj: &Object<'a>, key: &str) -> Option<Cow<'a, str>> {
    obj.get(key).and_then(|v| string(v))
}

/// Byte range of `part` inside `base`; `part` must borrow from `base`.
pub fn offset(base: &str, part: &RawValue) -> Option<Range<usize>> {
    let b = base.as_ptr() as usize;
    let p = part.get().as_ptr() as usize;
    let start = p.checked_sub(b)?;
    let end = start + part.get().len();
    (end <= base.len()).then_some(start..end)
}

/// Apply non-overlapping replacements (sorted or not) to `base`.
pub fn splice(base: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(r, _)| r.start);
    let extra: usize = edits.iter().map(|(_, s)| s.len()).sum();
    let mut out = String::with_capacity(base.len() + extra);
    let mut at = 0;
    for (range, text) in edits {
        if range.start < at || range.end > base.len() {
            continue; // overlapping or out of range: keep the original bytes
        }
        out.push_str(&base[at..range.start]);
        out.push_str(&text);
        at = range.end;
    }
    out.push_str(&base[at..]);
    out
}

/// Encode `text` as a JSON string literal.
pub fn literal(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_splice_keep_everything_else() {
        let body = r#"{ "b" : [1, {"t": "old\ntext", "n": 1.50}], "a":"x" }"#;
        let doc = document(body).unwrap();
        let top = object(doc).unwrap();
        let arr = array(top["b"]).unwrap();
        let inner = object(arr[1]).unwrap();
        assert_eq!(string(inner["t"]).unwrap(), "old\ntext");
        let r = offset(body, inner["t"]).unwrap();
        assert_eq!(&body[r.clone()], r#""old\ntext""#);
        let out = splice(body, vec![(r, literal("new \"q\""))]);
        assert_eq!(
            out,
            r#"{ "b" : [1, {"t": "new \"q\"", "n": 1.50}], "a":"x" }"#
        );
    }

    #[test]
    fn escaped_keys_and_non_objects() {
        let body = r#"{"k\u0065y": "v"}"#;
        let top = object(document(body).unwrap()).unwrap();
        assert!(top.contains_key("key"));
        assert!(object(document("[1]").unwrap()).is_none());
        assert!(array(document("{}").unwrap()).is_none());
        assert!(string(document("12").unwrap()).is_none());
    }
}
