//! The arrows between rooms, read from the source at test time: a room that must not know
//! another names none of its paths (`crate::x…`, `use crate::{x, …}`, and inside the store
//! `super::x`). Each file of `src/store/` counts as a module of its own. Test code (a
//! file's trailing `#[cfg(test)] mod tests` and the `*tests.rs` files) may reach anywhere
//! and is left out. Doc links count as references: rustdoc follows them too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `checkout` for `src/checkout/page.rs`, `store::members` for `src/store/members.rs`.
fn module_of(relative: &Path) -> String {
    let parts: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [store, file, ..] if store == "store" && file != "mod" => format!("store::{file}"),
        [first, ..] => first.clone(),
        [] => String::new(),
    }
}

fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The first path segment of each item of a `{a, b::c, d::{e}}` list (after its `{`).
fn group_heads(text: &str) -> Vec<&str> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut at_item = true;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_item = true,
            c if at_item && (c.is_ascii_alphabetic() || c == '_') => {
                heads.push(ident(&text[i..]));
                at_item = false;
            }
            _ => {}
        }
    }
    heads
}

/// The modules a path's head names: `store` is split into its files where the path says
/// which one (`crate::store::members`).
fn named(head: &str, rest: &str, store_files: &BTreeSet<String>) -> String {
    if head == "store" {
        if let Some(after) = rest.strip_prefix("::") {
            let next = ident(after);
            if store_files.contains(next) {
                return format!("store::{next}");
            }
        }
    }
    head.to_string()
}

fn references(module: &str, text: &str, store_files: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut prefixes = vec!["crate::"];
    if module.starts_with("store::") {
        prefixes.push("super::");
    }
    for prefix in prefixes {
        for (at, _) in text.match_indices(prefix) {
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let after = &text[at + prefix.len()..];
            let heads: Vec<(&str, &str)> = if let Some(group) = after.strip_prefix('{') {
                group_heads(group).into_iter().map(|h| (h, "")).collect()
            } else {
                let head = ident(after);
                vec![(head, &after[head.len()..])]
            };
            for (head, rest) in heads {
                let target = if prefix == "super::" {
                    if !store_files.contains(head) {
                        continue;
                    }
                    format!("store::{head}")
                } else {
                    named(head, rest, store_files)
                };
                if !target.is_empty() && target != module {
                    found.insert(target);
                }
            }
        }
    }
    found
}

/// Module → the modules it names, for the crate's non-test code.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let store_files: BTreeSet<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix(src.join("store")).ok())
        .map(|f| module_of(&Path::new("store").join(f)))
        .filter_map(|m| m.strip_prefix("store::").map(str::to_string))
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        if name == "tests.rs" || name.ends_with("_tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a source file is readable");
        let code = match text.find("#[cfg(test)]\nmod tests") {
            Some(at) => &text[..at],
            None => &text,
        };
        let module = module_of(file.strip_prefix(&src).expect("under src"));
        let refs = references(&module, code, &store_files);
        graph.entry(module).or_default().extend(refs);
    }
    graph
}

#[test]
fn the_arrows_between_rooms_point_one_way() {
    let graph = graph();
    let names = |from: &str| graph.get(from).cloned().unwrap_or_default();
    // The reader finds the arrows that should be there, so an absence below means something.
    for (from, to) in [
        ("config", "outbox"),
        ("config", "checkout"),
        ("config", "pipeline"),
        ("outbox", "checkout"),
        ("http", "outbox"),
        ("store::checkout", "store::members"),
        ("pipeline", "outbox"),
    ] {
        assert!(
            names(from).contains(to),
            "{from} → {to} not found: {graph:#?}"
        );
    }
    for (from, to, why) in [
        (
            "checkout",
            "config",
            "checkout owns CheckoutConfig; config gathers it",
        ),
        (
            "outbox",
            "config",
            "outbox owns OutboxConfig; config gathers it",
        ),
        (
            "pipeline",
            "config",
            "pipeline owns PipelineConfig; config gathers it",
        ),
        (
            "checkout",
            "outbox",
            "outbox issues checkout links; checkout hands a paid order back instead",
        ),
        (
            "store::members",
            "store::checkout",
            "checkout links buyers by contact; a merge moves carts itself",
        ),
    ] {
        assert!(!names(from).contains(to), "{from} → {to}: {why}");
    }
    for leaf in ["i18n", "vocab", "settings", "ledger"] {
        assert!(
            names(leaf).is_empty(),
            "{leaf} is a leaf but names {:?}",
            names(leaf)
        );
    }
}

#[test]
fn the_reader_sees_grouped_and_store_paths() {
    let store: BTreeSet<String> = ["members", "checkout"].map(String::from).into();
    let refs = references(
        "store::checkout",
        "use crate::{config::Config, outbox};\nuse super::members::link;\nuse super::{on_tx, Tx};\
         \nlet x = crate::store::members::f(); // not_crate::checkout",
        &store,
    );
    let expected: BTreeSet<String> = ["config", "outbox", "store::members"]
        .map(String::from)
        .into();
    assert_eq!(refs, expected);
}
