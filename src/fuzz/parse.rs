//! The comment parser on mutated corpus comments, under the corpus catalogues
//! and under odd catalogues (the `/api/v1/parse` endpoint takes any).

use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::TestCaseResult;

use super::mutate::mutated_bytes;
use crate::parse::{parse, Catalog, CatalogFile, Limits, Parsed, Product};

/// (current product, comment) from a corpus file's `- CURRENT | TEXT | EXPECTATION` lines.
fn corpus_cases(path: &str) -> Vec<(Option<String>, String)> {
    let text = std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let cases: Vec<_> = text
        .lines()
        .filter_map(|line| line.strip_prefix("- "))
        .filter_map(|case| {
            let mut parts = case.splitn(3, " | ");
            let current = parts.next()?.trim();
            let comment = parts.next()?.replace("\\n", "\n");
            let current = (!current.is_empty() && current != "-").then(|| current.to_owned());
            Some((current, comment))
        })
        .collect();
    assert!(cases.len() > 10, "{path}: too few cases");
    cases
}

fn catalog_file(path: &str) -> Vec<Product> {
    let text = std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let file: CatalogFile = serde_json::from_str(&text).expect("catalogue JSON");
    file.products
}

struct Corpus {
    catalogs: Vec<Vec<Product>>,
    /// Per catalogue, its cases.
    cases: Vec<Vec<(Option<String>, String)>>,
}

fn corpus() -> Corpus {
    Corpus {
        catalogs: vec![
            catalog_file("testdata/corpus/catalog.json"),
            catalog_file("corpus/catalog-extra.json"),
        ],
        cases: vec![
            corpus_cases("testdata/corpus/comments-sample.txt"),
            corpus_cases("corpus/comments-extra.txt"),
        ],
    }
}

/// Characters that normalisation, scanning and numerals treat specially.
const ODD: &[&str] = &[
    "\u{0301}",
    "\u{200d}",
    "\u{fe0f}",
    "\u{202e}",
    "\u{3000}",
    "ǅ",
    "ﬀ",
    "İ",
    "ß",
    "﹢",
    "＋",
    "➕",
    "×",
    "＊",
    "零",
    "〇",
    "廿",
    "卅",
    "萬",
    "億",
    "兩",
    "十",
    "百",
    "千",
    "九",
    "件",
    "個",
    "色",
    "碼",
    "\n",
    "\r",
    "\t",
    "\0",
    "9",
    "0",
    "99999999999999999999",
    "-",
    "+",
    "x",
    "X",
    "*",
    "/",
    "🎉",
    "\u{10ffff}",
    "\u{fffd}",
];

#[derive(Debug, Clone)]
enum TextEdit {
    Insert(Index, String),
    Delete(Index, usize),
    Duplicate(Index, usize),
    Replace(Index, char),
}

fn text_edit(words: Vec<String>) -> impl Strategy<Value = TextEdit> {
    prop_oneof![
        3 => (any::<Index>(), prop_oneof![select(words), select(ODD).prop_map(str::to_owned)])
            .prop_map(|(i, s)| TextEdit::Insert(i, s)),
        1 => (any::<Index>(), 1usize..8).prop_map(|(i, n)| TextEdit::Delete(i, n)),
        1 => (any::<Index>(), 1usize..12).prop_map(|(i, n)| TextEdit::Duplicate(i, n)),
        2 => (any::<Index>(), any::<char>()).prop_map(|(i, c)| TextEdit::Replace(i, c)),
    ]
}

fn apply_text_edit(text: &str, edit: &TextEdit) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let len = chars.len();
    match edit {
        TextEdit::Insert(i, s) => {
            let n = i.index(len + 1);
            chars.splice(n..n, s.chars());
        }
        TextEdit::Delete(i, k) => {
            let n = i.index(len + 1).min(len);
            chars.drain(n..(n + k).min(len));
        }
        TextEdit::Duplicate(i, k) => {
            let n = i.index(len + 1).min(len);
            let end = (n + k).min(len);
            let run: Vec<char> = chars[n..end].to_vec();
            chars.splice(end..end, run);
        }
        TextEdit::Replace(i, c) => {
            if len > 0 {
                chars[i.index(len)] = *c;
            }
        }
    }
    chars.into_iter().collect()
}

#[derive(Debug, Clone)]
struct Case {
    catalog: Vec<Product>,
    current: Option<String>,
    text: String,
    max_qty: u32,
}

fn cases() -> BoxedStrategy<Case> {
    let Corpus { catalogs, cases } = corpus();
    let mut words: Vec<String> = cases
        .iter()
        .flatten()
        .flat_map(|(_, text)| text.split_whitespace().map(str::to_owned))
        .collect();
    for product in catalogs.iter().flatten() {
        words.push(product.keyword.clone());
        words.extend(product.variants.iter().cloned());
    }
    words.sort();
    words.dedup();
    let texts: Vec<String> = cases.iter().flatten().map(|(_, t)| t.clone()).collect();

    let max_qty = prop_oneof![4 => Just(20u32), 2 => 0u32..200, 1 => any::<u32>()];
    // A corpus case under its own catalogue, edited character by character.
    let from_corpus = (0..catalogs.len())
        .prop_flat_map(move |c| {
            (
                Just(catalogs[c].clone()),
                select(cases[c].clone()),
                prop::collection::vec(text_edit(words.clone()), 0..6),
            )
        })
        .prop_map(|(catalog, (current, text), edits)| {
            let text = edits.iter().fold(text, |t, e| apply_text_edit(&t, e));
            (catalog, current, text)
        });
    // Byte-level damage, read back as a browser would send it.
    let corpus_catalog = corpus().catalogs.swap_remove(1);
    let from_bytes =
        mutated_bytes(texts.into_iter().map(String::into_bytes).collect()).prop_map(move |bytes| {
            (
                corpus_catalog.clone(),
                Some("A01".to_owned()),
                String::from_utf8_lossy(&bytes).into_owned(),
            )
        });
    // Odd catalogues: keywords and variants that are empty, duplicated, exotic.
    let odd_catalog = (
        prop::collection::vec(
            (
                prop_oneof![
                    ".{0,6}",
                    select(ODD).prop_map(str::to_owned),
                    "[A-Z]{1,3}[0-9]{0,3}"
                ],
                prop::collection::vec(
                    prop_oneof![".{0,4}", select(ODD).prop_map(str::to_owned)],
                    0..4,
                ),
            ),
            0..6,
        ),
        ".{0,40}",
        any::<Index>(),
    )
        .prop_map(|(products, text, pick)| {
            let catalog: Vec<Product> = products
                .into_iter()
                .map(|(keyword, variants)| Product {
                    keyword,
                    name: String::new(),
                    price: 0,
                    variants,
                })
                .collect();
            let current =
                (!catalog.is_empty()).then(|| catalog[pick.index(catalog.len())].keyword.clone());
            (catalog, current, text)
        });
    (
        prop_oneof![5 => from_corpus, 2 => from_bytes, 2 => odd_catalog],
        max_qty,
    )
        .prop_map(|((catalog, current, text), max_qty)| Case {
            catalog,
            current,
            text,
            max_qty,
        })
        .boxed()
}

fn check(case: &Case) -> TestCaseResult {
    let catalog = Catalog::new(case.catalog.clone());
    let limits = Limits {
        max_qty: case.max_qty,
    };
    let current = case.current.as_deref();
    let parsed: Parsed = parse(&case.text, &catalog, current, &limits);
    prop_assert_eq!(
        &parsed,
        &parse(&case.text, &catalog, current, &limits),
        "not deterministic"
    );
    prop_assert_eq!(parsed.needs_review, parsed.reason.is_some());
    for line in &parsed.items {
        let product = case.catalog.iter().find(|p| p.keyword == line.keyword);
        prop_assert!(product.is_some(), "{:?} is no keyword", line.keyword);
        let product = product.unwrap();
        for v in &line.variant {
            prop_assert!(
                product.variants.contains(v),
                "{v:?} of {:?}",
                product.keyword
            );
        }
        if !parsed.needs_review {
            if let Some(q) = line.qty {
                prop_assert!(q >= 1 && q <= case.max_qty, "qty {q} let through");
            }
        }
    }
    Ok(())
}

#[test]
fn fuzz_parser() {
    let figures = super::run("parser", cases(), |case| check(&case));
    super::assert_ran("parser", figures);
}
