//! Runs the labelled corpora (format in the header of the shared sample).
//!
//! A corpus file may name its own catalogue with a header line
//! `#! catalog: PATH` (relative to the crate root); otherwise it uses the
//! shared catalogue.

use super::{parse, Catalog, CatalogFile, Intent, Limits, Parsed};

const SHARED_SAMPLE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/corpus/comments-sample.txt"
));
const SHARED_CATALOG: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/corpus/catalog.json"
));
const EXTRA: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/corpus/comments-extra.txt"
));

#[derive(Debug, Clone, PartialEq)]
struct ExpLine {
    keyword: String,
    qty: Option<u32>,
    variants: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Expect {
    Order(Vec<ExpLine>),
    Cancel(Vec<ExpLine>),
    Question(Vec<String>),
    Nothing,
    Review,
}

#[derive(Debug)]
struct Case {
    line_no: usize,
    current: Option<String>,
    text: String,
    raw_expect: String,
    expect: Vec<Expect>,
}

fn parse_lines(s: &str) -> Result<Vec<ExpLine>, String> {
    s.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut parts = p.splitn(3, ':');
            let keyword = parts.next().unwrap_or("").trim().to_string();
            let qty = match parts.next().map(str::trim) {
                Some("*") => None,
                Some(q) => Some(q.parse::<u32>().map_err(|e| format!("qty {q:?}: {e}"))?),
                None => return Err(format!("no qty in {p:?}")),
            };
            let mut variants: Vec<String> = parts
                .next()
                .map(|v| {
                    v.split(',')
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            variants.sort();
            Ok(ExpLine {
                keyword,
                qty,
                variants,
            })
        })
        .collect()
}

fn parse_expect(s: &str) -> Result<Expect, String> {
    let s = s.trim();
    let (tag, rest) = s.split_at(s.chars().next().map_or(0, char::len_utf8));
    match tag {
        "O" => Ok(Expect::Order(parse_lines(rest)?)),
        "C" => Ok(Expect::Cancel(parse_lines(rest)?)),
        "Q" => Ok(Expect::Question(
            rest.split(';')
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .collect(),
        )),
        "N" if rest.trim().is_empty() => Ok(Expect::Nothing),
        "R" if rest.trim().is_empty() => Ok(Expect::Review),
        _ => Err(format!("bad expectation {s:?}")),
    }
}

fn load_cases(src: &str) -> Vec<Case> {
    let mut out = Vec::new();
    for (i, line) in src.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (Some(a), Some(b)) = (line.find(" | "), line.rfind(" | ")) else {
            panic!("line {}: not CURRENT | TEXT | EXPECTATION: {line:?}", i + 1);
        };
        assert!(a < b, "line {}: needs two separators: {line:?}", i + 1);
        // Cases are written as list items: `- CURRENT | ...`, where an
        // empty CURRENT (or a second `-`) means no product on screen.
        let first = line[..a].trim();
        let current = first.strip_prefix('-').unwrap_or(first).trim();
        let current = current.strip_prefix('-').unwrap_or(current).trim();
        let text = line[a + 3..b].replace("\\n", "\n");
        let raw_expect = line[b + 3..].trim().to_string();
        let expect = raw_expect
            .split("||")
            .map(|e| parse_expect(e).unwrap_or_else(|err| panic!("line {}: {err}", i + 1)))
            .collect();
        out.push(Case {
            line_no: i + 1,
            current: (!current.is_empty()).then(|| current.to_string()),
            text,
            raw_expect,
            expect,
        });
    }
    out
}

fn lines_match(got: &Parsed, want: &[ExpLine]) -> bool {
    got.items.len() == want.len()
        && got.items.iter().zip(want).all(|(g, w)| {
            let mut gv = g.variant.clone();
            gv.sort();
            g.keyword == w.keyword && g.qty == w.qty && gv == w.variants
        })
}

fn matches(got: &Parsed, want: &Expect) -> bool {
    match want {
        Expect::Review => got.needs_review,
        _ if got.needs_review => false,
        Expect::Nothing => got.intent == Intent::None,
        Expect::Order(l) => got.intent == Intent::Order && lines_match(got, l),
        Expect::Cancel(l) => got.intent == Intent::Cancel && lines_match(got, l),
        Expect::Question(k) => {
            got.intent == Intent::Question
                && got.items.iter().map(|l| &l.keyword).eq(k.iter())
                && got
                    .items
                    .iter()
                    .all(|l| l.qty.is_none() && l.variant.is_empty())
        }
    }
}

fn catalog_for(src: &str) -> Catalog {
    let path = src
        .lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.strip_prefix("#! catalog:"))
        .map(str::trim);
    let json = match path {
        Some(p) => std::fs::read_to_string(format!("{}/{p}", env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_else(|e| panic!("catalog {p}: {e}")),
        None => SHARED_CATALOG.to_string(),
    };
    let file: CatalogFile = serde_json::from_str(&json).expect("catalog json");
    Catalog::from(file)
}

/// Runs every case of one corpus; returns (passed, failure descriptions).
fn run(name: &str, src: &str) -> (usize, Vec<String>) {
    let cat = catalog_for(src);
    let limits = Limits::default();
    let cases = load_cases(src);
    assert!(!cases.is_empty(), "{name}: no cases");
    let mut passed = 0;
    let mut failed = Vec::new();
    for c in &cases {
        let got = parse(&c.text, &cat, c.current.as_deref(), &limits);
        if c.expect.iter().any(|e| matches(&got, e)) {
            passed += 1;
        } else {
            failed.push(format!(
                "{name}:{} current={:?} text={:?}\n    want {}\n    got  {}",
                c.line_no,
                c.current,
                c.text,
                c.raw_expect,
                serde_json::to_string(&got).unwrap_or_default()
            ));
        }
    }
    (passed, failed)
}

fn assert_all_pass(name: &str, src: &str) {
    let (passed, failed) = run(name, src);
    println!("{name}: {passed} passed, {} failed", failed.len());
    for f in &failed {
        println!("{f}");
    }
    assert!(
        failed.is_empty(),
        "{name}: {} of {} cases failed:\n{}",
        failed.len(),
        passed + failed.len(),
        failed.join("\n")
    );
}

#[test]
fn shared_sample_corpus_passes() {
    assert_all_pass("comments-sample.txt", SHARED_SAMPLE);
}

#[test]
fn extra_corpus_passes() {
    assert_all_pass("comments-extra.txt", EXTRA);
}

#[test]
fn expectation_format_is_read_as_documented() {
    let cases = load_cases(
        "- A01 | 粉+1 白+1 | O A01:1:粉; A01:1:白\n- | x | R || N\n- - | a | C A01:*:黑\n",
    );
    assert_eq!(cases.len(), 3);
    assert_eq!(cases[0].current.as_deref(), Some("A01"));
    assert_eq!(
        cases[0].expect,
        vec![Expect::Order(vec![
            ExpLine {
                keyword: "A01".into(),
                qty: Some(1),
                variants: vec!["粉".into()]
            },
            ExpLine {
                keyword: "A01".into(),
                qty: Some(1),
                variants: vec!["白".into()]
            },
        ])]
    );
    assert_eq!(cases[1].expect, vec![Expect::Review, Expect::Nothing]);
    assert_eq!(
        cases[2].expect,
        vec![Expect::Cancel(vec![ExpLine {
            keyword: "A01".into(),
            qty: None,
            variants: vec!["黑".into()]
        }])]
    );
}
