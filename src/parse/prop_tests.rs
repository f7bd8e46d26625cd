//! Properties that hold for any input: no panic, only catalogue keywords
//! and variants come out, and the same input gives the same answer.

use proptest::prelude::*;

use super::{parse, Catalog, CatalogFile, Limits, Parsed, Product};

fn shared_catalog() -> Catalog {
    let json = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/corpus/catalog.json"
    ));
    let file: CatalogFile = serde_json::from_str(json).expect("catalog json");
    Catalog::from(file)
}

const PIECES: &[&str] = &[
    "D05",
    "d05",
    "D50",
    "E2",
    "E21",
    "e21",
    "D5",
    "D050",
    "E211",
    "7",
    "77",
    "杯",
    "SOAP",
    "soap",
    "A99",
    "+1",
    "+2",
    "＋３",
    "+0",
    "+1.5",
    "+200",
    "-1",
    "x2",
    "X 3",
    "*2",
    "×2",
    "2件",
    "兩個",
    "三條",
    "十件",
    "一",
    "廿",
    "白",
    "灰",
    "白色",
    "M碼",
    "m",
    "L",
    "XL",
    "紫",
    "綠",
    "橙",
    "黑",
    "要",
    "我要",
    "我都",
    "唔要",
    "取消",
    "cancel",
    "sold",
    "sold out",
    "I want",
    "改",
    "幾錢",
    "有冇",
    "仲有冇",
    "?",
    "？",
    "how much",
    "嗎",
    "$329",
    "HK$",
    "電話",
    "91234567",
    "9123 4567",
    "+852",
    "@Jenny",
    "Chan",
    "順豐到付",
    "好正",
    "3樓",
    "🙏",
    "🙋‍♀️",
    "\n",
    ",",
    "，",
    "、",
    "/",
    " ",
    "  ",
    "色",
    "碼",
    "號",
    "加",
    "pcs",
    "two",
    "Ｄ",
    "０",
    "５",
    "加1",
    "加多一件",
    "7-11",
    "12/25",
    "x",
    "77",
    "+85291234567",
    "元",
    "$",
    "ǅ",
    "ﬀ",
    "\u{0301}",
    "\u{200D}",
    "İ",
    "ß",
];

fn grammar_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..10).prop_map(|v| v.concat())
}

fn current() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::sample::select(
        &["D05", "D50", "E2", "杯", "d50", "ZZ", ""][..],
    ))
    .prop_map(|o| o.map(str::to_string))
}

fn check(text: &str, cat: &Catalog, current: Option<&str>, limits: &Limits) -> Parsed {
    let a = parse(text, cat, current, limits);
    let b = parse(text, cat, current, limits);
    assert_eq!(a, b, "not deterministic for {text:?}");
    for line in &a.items {
        let p = cat
            .products()
            .iter()
            .find(|p| p.keyword == line.keyword)
            .unwrap_or_else(|| panic!("{:?} is not a catalogue keyword ({text:?})", line.keyword));
        for v in &line.variant {
            assert!(
                p.variants.contains(v),
                "{v:?} not a variant of {:?}",
                p.keyword
            );
        }
        if !a.needs_review {
            if let Some(q) = line.qty {
                assert!(q >= 1 && q <= limits.max_qty, "qty {q} let through");
            }
        }
    }
    assert_eq!(a.needs_review, a.reason.is_some());
    a
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_unicode_is_safe(text in any::<String>(), cur in current()) {
        let cat = shared_catalog();
        check(&text, &cat, cur.as_deref(), &Limits::default());
    }

    #[test]
    fn grammar_pieces_are_safe(text in grammar_text(), cur in current(), max in 0u32..30) {
        let cat = shared_catalog();
        check(&text, &cat, cur.as_deref(), &Limits { max_qty: max });
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Odd catalogues too: empty, duplicate, exotic or overlapping keywords.
    #[test]
    fn any_catalogue_is_safe(
        kws in prop::collection::vec(
            prop_oneof![any::<String>(), prop::sample::select(PIECES).prop_map(str::to_string)],
            0..6,
        ),
        variants in prop::collection::vec(
            prop_oneof![any::<String>(), prop::sample::select(PIECES).prop_map(str::to_string)],
            0..4,
        ),
        text in prop_oneof![any::<String>(), grammar_text()],
    ) {
        let products: Vec<Product> = kws
            .iter()
            .map(|k| Product {
                keyword: k.clone(),
                name: String::new(),
                price: 0,
                variants: variants.clone(),
            })
            .collect();
        let cat = Catalog::new(products);
        let cur = kws.first().map(String::as_str);
        check(&text, &cat, cur, &Limits::default());
    }
}
