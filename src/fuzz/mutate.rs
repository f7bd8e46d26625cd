//! Input generators: byte-level mutations of seed files, structure-aware
//! mutations of seed JSON, and free JSON built from the seeds' vocabulary.

use proptest::prelude::*;
use proptest::sample::{select, Index};
use serde_json::{Map, Number, Value};

/// Byte strings that tend to break hand-written readers.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b"\\udfff",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"null",
    b"true",
    b"-",
    b"-0",
    b"1e999",
    b"-1e999",
    b"0.5",
    b"18446744073709551616",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"99999999999999999999999999",
    b"\0",
    b"\xff",
    b"\xc3",
    b"\xe6\x88",
    "＋１".as_bytes(),
    "🎉".as_bytes(),
    "\u{202e}".as_bytes(),
    b"\r\n",
    b"sha256=",
];

#[derive(Debug, Clone)]
pub(crate) enum ByteEdit {
    Flip(Index, u8),
    Insert(Index, Vec<u8>),
    Token(Index, usize),
    Delete(Index, usize),
    Duplicate(Index, usize),
    /// Splices in a run of another seed.
    Splice(Index, Index, Index, usize),
    Truncate(Index),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| ByteEdit::Flip(i, b)),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| ByteEdit::Insert(i, b)),
        (any::<Index>(), 0..TOKENS.len()).prop_map(|(i, t)| ByteEdit::Token(i, t)),
        (any::<Index>(), 1usize..64).prop_map(|(i, n)| ByteEdit::Delete(i, n)),
        (any::<Index>(), 1usize..64).prop_map(|(i, n)| ByteEdit::Duplicate(i, n)),
        (any::<Index>(), any::<Index>(), any::<Index>(), 1usize..128)
            .prop_map(|(s, from, to, n)| ByteEdit::Splice(s, from, to, n)),
        any::<Index>().prop_map(ByteEdit::Truncate),
    ]
}

fn apply_byte_edit(bytes: &mut Vec<u8>, edit: &ByteEdit, seeds: &[Vec<u8>]) {
    let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len + 1) };
    match edit {
        ByteEdit::Flip(i, b) => {
            if !bytes.is_empty() {
                let n = i.index(bytes.len());
                bytes[n] ^= b | 1;
            }
        }
        ByteEdit::Insert(i, b) => {
            let n = at(i, bytes.len());
            bytes.splice(n..n, b.iter().copied());
        }
        ByteEdit::Token(i, t) => {
            let n = at(i, bytes.len());
            bytes.splice(n..n, TOKENS[*t].iter().copied());
        }
        ByteEdit::Delete(i, len) => {
            let n = at(i, bytes.len()).min(bytes.len());
            let end = (n + len).min(bytes.len());
            bytes.drain(n..end);
        }
        ByteEdit::Duplicate(i, len) => {
            let n = at(i, bytes.len()).min(bytes.len());
            let end = (n + len).min(bytes.len());
            let run = bytes[n..end].to_vec();
            bytes.splice(end..end, run);
        }
        ByteEdit::Splice(s, from, to, len) => {
            let other = &seeds[s.index(seeds.len())];
            let a = at(from, other.len()).min(other.len());
            let b = (a + len).min(other.len());
            let n = at(to, bytes.len()).min(bytes.len());
            bytes.splice(n..n, other[a..b].iter().copied());
        }
        ByteEdit::Truncate(i) => {
            let n = at(i, bytes.len()).min(bytes.len());
            bytes.truncate(n);
        }
    }
}

/// A seed with up to eight byte edits, or (one time in eight) plain random bytes.
pub(crate) fn mutated_bytes(seeds: Vec<Vec<u8>>) -> BoxedStrategy<Vec<u8>> {
    let from_seed = (
        select(seeds.clone()),
        prop::collection::vec(byte_edit(), 0..8),
    )
        .prop_map(move |(mut bytes, edits)| {
            for edit in &edits {
                apply_byte_edit(&mut bytes, edit, &seeds);
            }
            bytes
        });
    prop_oneof![
        7 => from_seed,
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ]
    .boxed()
}

/// Every object key and every string found in the seeds, so that free JSON
/// speaks the payloads' language (`entry`, `changes`, `from`, `message`, …).
pub(crate) fn vocabulary(seeds: &[Value]) -> (Vec<String>, Vec<String>) {
    fn walk(v: &Value, keys: &mut Vec<String>, strings: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    keys.push(k.clone());
                    walk(v, keys, strings);
                }
            }
            Value::Array(list) => list.iter().for_each(|v| walk(v, keys, strings)),
            Value::String(s) => strings.push(s.clone()),
            _ => {}
        }
    }
    let (mut keys, mut strings) = (Vec::new(), Vec::new());
    for seed in seeds {
        walk(seed, &mut keys, &mut strings);
    }
    for list in [&mut keys, &mut strings] {
        list.sort();
        list.dedup();
    }
    (keys, strings)
}

fn leaf(strings: Vec<String>) -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(i64::MIN),
            Just(i64::MAX),
            Just(99_999_999_999),
            Just(100_000_000_000),
            Just(8_210_298_326_400),
            Just(8_210_298_326_400_000),
        ]
        .prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        select(strings).prop_map(Value::String),
        ".{0,24}".prop_map(Value::String),
        prop_oneof![
            Just(""),
            Just("page"),
            Just("instagram"),
            Just("feed"),
            Just("comments"),
            Just("live_comments"),
            Just("add"),
            Just("edited"),
            Just("remove"),
            Just("comment"),
            Just("private"),
            Just("supergroup"),
            Just("A01+1"),
            Just("\0"),
            Just("-1"),
            Just("1e400"),
            Just("2018-12-26T13:00:17+0000"),
            Just("+262143-12-31T23:59:59Z"),
            Just("9999999999999999999999"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ]
}

/// Free JSON: objects keyed mostly with the seeds' keys, nested a few levels.
pub(crate) fn free_json(keys: Vec<String>, strings: Vec<String>) -> BoxedStrategy<Value> {
    let key = prop_oneof![4 => select(keys), 1 => ".{0,8}"];
    leaf(strings)
        .prop_recursive(5, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
            ]
        })
        .boxed()
}

#[derive(Debug, Clone)]
pub(crate) enum JsonEdit {
    /// Replaces the node with a free value.
    Replace(Index, Value),
    /// Drops the node from its parent.
    Remove(Index),
    /// Repeats the node inside its parent array, or copies it to another key.
    Duplicate(Index),
    /// Turns a string into a number and back, a scalar into a one-item array.
    Retype(Index),
}

/// The path of every node, parents before children.
fn paths(v: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(here.clone());
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                here.push(Step::Key(k.clone()));
                paths(child, here, out);
                here.pop();
            }
        }
        Value::Array(list) => {
            for (i, child) in list.iter().enumerate() {
                here.push(Step::At(i));
                paths(child, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    At(usize),
}

fn node_mut<'a>(root: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut node = root;
    for step in path {
        node = match step {
            Step::Key(k) => node.get_mut(k.as_str())?,
            Step::At(i) => node.get_mut(*i)?,
        };
    }
    Some(node)
}

fn apply_json_edit(root: &mut Value, edit: &JsonEdit) {
    let mut all = Vec::new();
    paths(root, &mut Vec::new(), &mut all);
    let pick = |i: &Index| all[i.index(all.len())].clone();
    match edit {
        JsonEdit::Replace(i, value) => {
            if let Some(node) = node_mut(root, &pick(i)) {
                *node = value.clone();
            }
        }
        JsonEdit::Remove(i) | JsonEdit::Duplicate(i) => {
            let mut path = pick(i);
            let Some(last) = path.pop() else {
                return;
            };
            let Some(parent) = node_mut(root, &path) else {
                return;
            };
            let remove = matches!(edit, JsonEdit::Remove(_));
            match (parent, last) {
                (Value::Object(map), Step::Key(k)) => {
                    if remove {
                        map.remove(&k);
                    } else if let Some(v) = map.get(&k).cloned() {
                        map.insert(format!("{k}_"), v);
                    }
                }
                (Value::Array(list), Step::At(n)) if n < list.len() => {
                    if remove {
                        list.remove(n);
                    } else {
                        let v = list[n].clone();
                        list.insert(n, v);
                    }
                }
                _ => {}
            }
        }
        JsonEdit::Retype(i) => {
            if let Some(node) = node_mut(root, &pick(i)) {
                *node = match node.take() {
                    Value::String(s) => match s.parse::<i64>() {
                        Ok(n) => Value::from(n),
                        Err(_) => Value::Array(vec![Value::String(s)]),
                    },
                    Value::Number(n) => Value::String(n.to_string()),
                    Value::Bool(b) => Value::String(b.to_string()),
                    Value::Null => Value::String(String::new()),
                    other @ (Value::Array(_) | Value::Object(_)) => other.to_string().into(),
                };
            }
        }
    }
}

/// A seed with up to six structural edits, or (one time in five) free JSON.
pub(crate) fn mutated_json(seeds: Vec<Value>) -> BoxedStrategy<Value> {
    let (keys, strings) = vocabulary(&seeds);
    let free = free_json(keys, strings);
    let edit = prop_oneof![
        3 => (any::<Index>(), free.clone()).prop_map(|(i, v)| JsonEdit::Replace(i, v)),
        2 => any::<Index>().prop_map(JsonEdit::Remove),
        1 => any::<Index>().prop_map(JsonEdit::Duplicate),
        2 => any::<Index>().prop_map(JsonEdit::Retype),
    ];
    let from_seed =
        (select(seeds), prop::collection::vec(edit, 0..6)).prop_map(|(mut value, edits)| {
            for edit in &edits {
                apply_json_edit(&mut value, edit);
            }
            value
        });
    prop_oneof![4 => from_seed, 1 => free].boxed()
}

/// Parses seed files; a seed that is not JSON is a broken fixture.
pub(crate) fn json_seeds(files: &[Vec<u8>]) -> Vec<Value> {
    files
        .iter()
        .map(|f| serde_json::from_slice(f).expect("fixture is JSON"))
        .collect()
}
