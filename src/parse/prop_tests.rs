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

/// The issue 16 catalogue: codes, a number, a Chinese word and an English word as keywords.
fn issue16_catalog() -> Catalog {
    let json = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/corpus/catalog-issue16.json"
    ));
    let file: CatalogFile = serde_json::from_str(json).expect("catalog json");
    Catalog::from(file)
}

/// Chat: no keyword, no number, no order or cancel word.
const CHAT: &[&str] = &[
    "好靚",
    "主播",
    "哈哈哈",
    "😍",
    "❤️",
    "hello",
    "今日",
    "早晨",
    "好正",
    "thx",
    "靚靚",
    "等緊",
    "呀",
    "好味",
    "wow",
    "lol",
    "🔥🔥",
    "好鍾意",
    "nice",
    "大家好",
    "嘩",
];

/// What makes a comment order-like (issue 16): a keyword, as typed in any case,
/// width or with a space inside; a signed or counted qty; an order or cancel word.
const ORDER_LIKE: &[&str] = &[
    "K08",
    "k08",
    "Ｋ０８",
    "K 08",
    "T3",
    "t30",
    "B12",
    "HAT",
    "hat",
    "牛角包",
    "55",
    "P7",
    "+1",
    "＋2",
    "➕1",
    "+2️⃣",
    "加1",
    "加一件",
    "減1",
    "-1",
    "x2",
    "×3",
    "2件",
    "兩個",
    "一打",
    "半打",
    "3 pcs",
    "a dozen",
    "K08=2",
    "T3: 1",
    "要",
    "我要",
    "sold",
    "mine",
    "claim",
    "下單",
    "喊單",
    "取消",
    "唔要",
    "cancel",
    "pass",
    "skip",
    "放棄",
    "全部取消",
    "cancel all",
];

/// Chat pieces with one or more order-like pieces among them, each piece apart
/// from its neighbours (a space or a line break), as buyers type them.
fn chat_with_order() -> impl Strategy<Value = (String, String)> {
    (
        prop::collection::vec(prop::sample::select(CHAT), 0..4),
        prop::collection::vec(prop::sample::select(ORDER_LIKE), 1..3),
        prop::collection::vec(prop::sample::select(CHAT), 0..4),
        prop::sample::select(&[" ", "  ", "\n", " , "][..]),
    )
        .prop_map(|(before, marks, after, sep)| {
            let pieces: Vec<&str> = before.iter().chain(&marks).chain(&after).copied().collect();
            (pieces.join(sep), marks.join(" "))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Never silent: a comment with a keyword or an order-like mark among chat
    /// ends as an order, a cancel, a question or a review, never as `none`.
    #[test]
    fn order_like_text_is_never_none(
        (text, marks) in chat_with_order(),
        cur in prop::option::of(prop::sample::select(&["K08", "T3", "牛角包"][..])),
    ) {
        let cat = issue16_catalog();
        let got = check(&text, &cat, cur, &Limits::default());
        prop_assert!(
            got.needs_review || got.intent != super::Intent::None,
            "silent drop of {:?} (order-like: {:?}), current {:?}: {:?}",
            text, marks, cur, got
        );
    }

    /// And the other way round: chat alone stays `none`, so the rule above is not
    /// met by sending everything to review.
    #[test]
    fn chat_alone_is_none(
        pieces in prop::collection::vec(prop::sample::select(CHAT), 1..6),
        cur in prop::option::of(prop::sample::select(&["K08", "T3"][..])),
    ) {
        let cat = issue16_catalog();
        let text = pieces.join(" ");
        let got = check(&text, &cat, cur, &Limits::default());
        prop_assert_eq!(got, Parsed::none(), "{:?}", text);
    }
}
