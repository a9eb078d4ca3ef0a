//! Lossless table form for arrays of objects, used by the JSON compressor.
//!
//! `[{"id":1,"user":{"login":"a"}},{"id":2,"user":{"login":"b"},"x":0}]`
//! becomes `{"columns": ["id","user.login"],"rows": [[1,"a"],[2,"b",{"x": 0}]]}`:
//! columns are the keys every item has (in the first item's order), nested
//! objects present in every item are flattened into dotted columns, and a
//! row carries one trailing object with the item's remaining keys (dotted
//! paths) when it has any. Marker strings left by row selection pass
//! through as rows of their own. Called bottom-up on the whole tree by
//! `json`; an array is rewritten only when the table is clearly smaller,
//! never when it holds error objects (their `"key": value` pairs are what a
//! reader greps for). Every value is kept, so the rewrite is lossless.

use std::borrow::Cow;
use std::collections::HashMap;

use super::json_doc::{size, Table, Val};

/// Deepest level of nested objects flattened into dotted columns.
const MAX_FLATTEN: usize = 3;

/// Object keys whose arrays stay as objects (error details).
fn keeps_objects(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("error") || k.contains("failure") || k.contains("problem") || k == "warnings"
}

/// `keeps_objects` for a member, checked only when it holds an array.
fn keeps_member(key: &str, v: &Val<'_>) -> bool {
    matches!(v, Val::Arr(_)) && keeps_objects(key)
}

/// Rewrite every eligible array of objects under `v` as a table.
pub fn tablify(v: Val<'_>) -> Val<'_> {
    tablify_in(v, false)
}

fn tablify_in(v: Val<'_>, errorish_parent: bool) -> Val<'_> {
    match v {
        Val::Obj(members) => Val::Obj(
            members
                .into_iter()
                .map(|(k, v)| {
                    let keep = keeps_member(&k, &v);
                    (k, tablify_in(v, keep))
                })
                .collect(),
        ),
        Val::Arr(items) => {
            let items: Vec<Val<'_>> = items.into_iter().map(|i| tablify_in(i, false)).collect();
            if errorish_parent {
                return Val::Arr(items);
            }
            if let Some(t) = to_table(&items) {
                let table = Val::Table(Box::new(t));
                if size(&table) * 10 < size_items(&items) * 9 {
                    return table;
                }
            }
            Val::Arr(items)
        }
        Val::Table(mut t) => {
            t.rows = t.rows.into_iter().map(|r| tablify_in(r, false)).collect();
            Val::Table(t)
        }
        other => other,
    }
}

fn size_items(items: &[Val<'_>]) -> usize {
    2 + items.iter().map(|i| size(i) + 1).sum::<usize>()
}

/// Where a key of an item goes: a column, or a flattened nested object.
enum Slot {
    Col(usize),
    Nested(Spec),
}

/// Columns of one object level, in the first item's key order.
struct Spec {
    /// Dotted path of this level (`""` at the top), for extras' names.
    prefix: String,
    keys: Vec<(String, Slot)>,
    index: HashMap<String, usize>,
}

impl Spec {
    /// Slot of member `key` found at position `pos` of its object; items
    /// usually share the first item's key order, so try that first.
    fn slot(&self, key: &str, pos: usize) -> Option<&Slot> {
        match self.keys.get(pos) {
            Some((k, slot)) if k == key => Some(slot),
            _ => self.index.get(key).map(|&i| &self.keys[i].1),
        }
    }
}

type Members<'v, 'a> = &'v [(Cow<'a, str>, Val<'a>)];

fn has_dup_keys(members: &[(Cow<'_, str>, Val<'_>)]) -> bool {
    if members.len() < 2 {
        return false;
    }
    if members.len() <= 16 {
        return members
            .iter()
            .enumerate()
            .any(|(i, (k, _))| members[i + 1..].iter().any(|(k2, _)| k2 == k));
    }
    let mut keys: Vec<&str> = members.iter().map(|(k, _)| k.as_ref()).collect();
    keys.sort_unstable();
    keys.windows(2).any(|w| w[0] == w[1])
}

/// Member `key` of `m`, looking at position `pos` first.
fn member<'v, 'a>(m: Members<'v, 'a>, key: &str, pos: usize) -> Option<&'v Val<'a>> {
    match m.get(pos) {
        Some((k, v)) if k == key => Some(v),
        _ => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
    }
}

/// The object members of `v` when it can be flattened into columns.
fn flattenable<'v, 'a>(v: &'v Val<'a>) -> Option<Members<'v, 'a>> {
    match v {
        Val::Obj(m)
            if !m.is_empty() && !has_dup_keys(m) && !m.iter().any(|(k, _)| k.contains('.')) =>
        {
            Some(m.as_slice())
        }
        _ => None,
    }
}

/// Build the column spec for `objs` (all objects, no duplicate keys).
fn build_spec(
    objs: &[Members<'_, '_>],
    prefix: &str,
    depth: usize,
    flatten: bool,
    columns: &mut Vec<String>,
) -> Spec {
    let mut spec = Spec {
        prefix: prefix.to_string(),
        keys: Vec::new(),
        index: HashMap::new(),
    };
    let Some(first) = objs.first() else {
        return spec;
    };
    // Wide objects: index their keys once instead of scanning per key.
    let wide: Vec<Option<HashMap<&str, &Val<'_>>>> = objs[1..]
        .iter()
        .map(|m| (m.len() > 32).then(|| m.iter().map(|(k, v)| (k.as_ref(), v)).collect()))
        .collect();
    let lookup = |r: usize, key: &str, pos: usize| -> Option<&Val<'_>> {
        match &wide[r] {
            Some(map) => map.get(key).copied(),
            None => member(objs[r + 1], key, pos),
        }
    };
    for (pos, (key, v0)) in first.iter().enumerate() {
        let key: &str = key.as_ref();
        let values: Option<Vec<&Val<'_>>> =
            (0..objs.len() - 1).map(|r| lookup(r, key, pos)).collect();
        let Some(values) = values else {
            continue;
        };
        let name = if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        };
        let mut slot = None;
        if flatten && depth < MAX_FLATTEN {
            let nested: Option<Vec<Members<'_, '_>>> = std::iter::once(flattenable(v0))
                .chain(values.iter().map(|v| flattenable(v)))
                .collect();
            if let Some(nested) = nested {
                let before = columns.len();
                let sub = build_spec(&nested, &name, depth + 1, flatten, columns);
                if columns.len() > before {
                    slot = Some(Slot::Nested(sub));
                }
            }
        }
        let slot = slot.unwrap_or_else(|| {
            columns.push(name);
            Slot::Col(columns.len() - 1)
        });
        spec.index.insert(key.to_string(), spec.keys.len());
        spec.keys.push((key.to_string(), slot));
    }
    spec
}

/// Distribute one item's members into column slots and extras.
fn fill<'a>(
    members: &[(Cow<'a, str>, Val<'a>)],
    spec: &Spec,
    slots: &mut [Option<Val<'a>>],
    extras: &mut Vec<(Cow<'a, str>, Val<'a>)>,
) {
    for (pos, (k, v)) in members.iter().enumerate() {
        match (spec.slot(k, pos), v) {
            (Some(Slot::Col(i)), _) => slots[*i] = Some(v.clone()),
            (Some(Slot::Nested(sub)), Val::Obj(m)) => fill(m, sub, slots, extras),
            _ => {
                let name = if spec.prefix.is_empty() {
                    k.clone()
                } else {
                    Cow::Owned(format!("{}.{k}", spec.prefix))
                };
                extras.push((name, v.clone()));
            }
        }
    }
}

/// Table for `items` when they are objects (marker strings allowed), at
/// least two of them, with no duplicate keys; `None` otherwise.
/// True when `v` contains, at any depth, an array with an object or array in it.
fn holds_object_list(v: &Val<'_>) -> bool {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Val::Arr(items) if items.iter().any(|i| matches!(i, Val::Obj(_) | Val::Arr(_))) => {
                return true
            }
            Val::Obj(members) => stack.extend(members.iter().map(|(_, m)| m)),
            _ => {}
        }
    }
    false
}

pub fn to_table<'a>(items: &[Val<'a>]) -> Option<Table<'a>> {
    let mut objs: Vec<Members<'_, 'a>> = Vec::with_capacity(items.len());
    let mut strings = 0;
    for item in items {
        match item {
            Val::Obj(m) if !has_dup_keys(m) => objs.push(m.as_slice()),
            Val::Str(_) => strings += 1,
            _ => return None,
        }
    }
    // Marker strings sit between kept rows, so at most one per object.
    if objs.len() < 2 || strings > objs.len() {
        return None;
    }
    // Items holding lists of objects (Kubernetes pods, nested API
    // resources) make rows a reader cannot follow and cut keys off their
    // values; they stay objects.
    if objs
        .iter()
        .any(|m| m.iter().any(|(_, v)| holds_object_list(v)))
    {
        return None;
    }
    // Dotted names would be ambiguous if a real key already has a dot.
    let flatten = !objs.iter().any(|m| m.iter().any(|(k, _)| k.contains('.')));
    let mut columns = Vec::new();
    let spec = build_spec(&objs, "", 0, flatten, &mut columns);
    if columns.is_empty() {
        return None;
    }
    let mut rows = Vec::with_capacity(items.len());
    for item in items {
        let Val::Obj(m) = item else {
            rows.push(item.clone());
            continue;
        };
        let mut slots: Vec<Option<Val<'a>>> = vec![None; columns.len()];
        let mut extras = Vec::new();
        fill(m, &spec, &mut slots, &mut extras);
        let mut row: Vec<Val<'a>> = Vec::with_capacity(columns.len() + 1);
        for s in slots {
            // Every column is present in every item by construction.
            row.push(s?);
        }
        if !extras.is_empty() {
            row.push(Val::Obj(extras));
        }
        rows.push(Val::Arr(row));
    }
    let mut table = Table {
        columns: columns.into_iter().map(Cow::Owned).collect(),
        common: Vec::new(),
        rows,
        extra: Vec::new(),
    };
    hoist_common(&mut table);
    Some(table)
}

/// Move columns whose value is the same in every row (three or more rows)
/// into `common`, keeping at least one column.
fn hoist_common(t: &mut Table<'_>) {
    let arrays: Vec<&Vec<Val<'_>>> = t
        .rows
        .iter()
        .filter_map(|r| match r {
            Val::Arr(a) => Some(a),
            _ => None,
        })
        .collect();
    if arrays.len() < 3 {
        return;
    }
    let ncols = t.columns.len();
    let same: Vec<bool> = (0..ncols)
        .map(|j| arrays.iter().all(|r| r[j] == arrays[0][j]))
        .collect();
    let nsame = same.iter().filter(|s| **s).count();
    if nsame == 0 || nsame == ncols {
        return;
    }
    let first: Vec<Val<'_>> = arrays[0].clone();
    let columns = std::mem::take(&mut t.columns);
    let mut kept_cols = Vec::with_capacity(ncols - nsame);
    for (j, c) in columns.into_iter().enumerate() {
        if same[j] {
            t.common.push((c, first[j].clone()));
        } else {
            kept_cols.push(c);
        }
    }
    t.columns = kept_cols;
    for row in &mut t.rows {
        if let Val::Arr(a) = row {
            let mut j = 0;
            a.retain(|_| {
                let keep = j >= ncols || !same[j];
                j += 1;
                keep
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::json_doc::{parse, to_string};
    use super::*;

    fn tab(src: &str) -> String {
        to_string(&tablify(parse(src).expect("valid test json")))
    }

    #[test]
    fn flattens_nested_uniform_objects_and_keeps_extras() {
        let src = r#"[{"id":1,"title":"first issue","user":{"login":"alice","id":7}},
                      {"id":2,"title":"second issue","user":{"login":"bob","id":8},"locked":true},
                      {"id":3,"title":"third issue","user":{"login":"carol","id":9,"admin":false}}]"#;
        let out = tab(src);
        assert_eq!(
            out,
            r#"{"columns": ["id","title","user.login","user.id"],"rows": [[1,"first issue","alice",7],[2,"second issue","bob",8,{"locked": true}],[3,"third issue","carol",9,{"user.admin": false}]]}"#
        );
        assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
    }

    #[test]
    fn leaves_small_or_irregular_arrays_alone() {
        assert_eq!(tab(r#"[{"a":1}]"#), r#"[{"a": 1}]"#);
        assert_eq!(tab(r#"[{"a":1},2]"#), r#"[{"a": 1},2]"#);
        assert_eq!(
            tab(r#"[{"a":1,"a":2},{"a":3}]"#),
            r#"[{"a": 1,"a": 2},{"a": 3}]"#
        );
        // No common key: nothing to gain.
        assert_eq!(tab(r#"[{"a":1},{"b":2}]"#), r#"[{"a": 1},{"b": 2}]"#);
    }

    #[test]
    fn error_arrays_stay_objects() {
        let src = r#"{"errors":[{"resource":"Label","code":"invalid","field":"color"},
                                {"resource":"Label","code":"missing","field":"name"},
                                {"resource":"Label","code":"invalid","field":"description"}]}"#;
        assert!(tab(src).contains(r#""code": "invalid""#));
    }

    #[test]
    fn dotted_keys_disable_flattening() {
        let item = r#"{"a.b":1,"a":{"bbbbbbbb":2}}"#;
        let src = format!("[{}]", [item; 6].join(","));
        let out = tab(&src);
        assert!(out.contains(r#"["a.b","a"]"#), "{out}");
    }
}
