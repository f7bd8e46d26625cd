//! What a storm sells and what viewers type. Pure and deterministic: comment `i` of a
//! run always has the same text and author, so a redelivery carries the same payload.

use serde_json::{json, Value};

/// Stock of the hot SKU: far below the demand, so most comments end on the waitlist.
pub const HOT_STOCK: i64 = 1_000;
/// Stock of every other SKU: more than a run asks for.
const PLENTY: i64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// 90% of comments on one SKU with limited stock, the rest on four others.
    HotSku,
    /// 30 products, five of them with colour and size variants, in the mixed syntax of
    /// the parser's corpora (codes, quantities in Chinese, full-width forms, "+1" for the
    /// product on screen, questions, cancels, chatter).
    Lineup,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::HotSku => "hot-sku",
            Scenario::Lineup => "lineup",
        }
    }
}

/// A product as the load generator creates it; `code` gets the run's tag.
pub struct ProductSpec {
    pub keyword: String,
    /// (options, on hand) per SKU.
    pub skus: Vec<(Vec<String>, i64)>,
}

impl ProductSpec {
    pub fn code(&self, tag: &str) -> String {
        format!("{}-{tag}", self.keyword)
    }

    pub fn sku(&self, tag: &str, n: usize) -> String {
        format!("{}-{tag}-{n}", self.keyword)
    }

    /// The body of `POST /api/v1/products`.
    pub fn request(&self, tag: &str) -> Value {
        let skus: Vec<Value> = self
            .skus
            .iter()
            .enumerate()
            .map(|(n, (options, on_hand))| {
                json!({"sku": self.sku(tag, n), "options": options, "on_hand": on_hand})
            })
            .collect();
        json!({"code": self.code(tag), "name": format!("bench {}", self.keyword),
               "price": 9900, "currency": "HKD", "skus": skus})
    }
}

const VARIANT_EVERY: usize = 3;
const COLOURS: [&str; 2] = ["紅", "藍"];
const SIZES: [&str; 3] = ["S", "M", "L"];

pub fn products(scenario: Scenario) -> Vec<ProductSpec> {
    match scenario {
        Scenario::HotSku => (1..=5)
            .map(|n| ProductSpec {
                keyword: format!("A{n:02}"),
                skus: vec![(vec![], if n == 1 { HOT_STOCK } else { PLENTY })],
            })
            .collect(),
        Scenario::Lineup => (1..=30)
            .map(|n| {
                let skus = if n % VARIANT_EVERY == 0 && n <= 15 {
                    COLOURS
                        .iter()
                        .flat_map(|c| {
                            SIZES
                                .iter()
                                .map(move |s| (vec![c.to_string(), s.to_string()], 300))
                        })
                        .collect()
                } else {
                    vec![(vec![], 2_000)]
                };
                ProductSpec {
                    keyword: format!("A{n:02}"),
                    skus,
                }
            })
            .collect(),
    }
}

/// The keyword on screen, which a bare "+1" means.
pub const CURRENT: &str = "A01";

/// The hot SKU's name in the run, when the scenario has one.
pub fn hot_sku(scenario: Scenario, tag: &str) -> Option<String> {
    match scenario {
        Scenario::HotSku => Some(products(scenario)[0].sku(tag, 0)),
        Scenario::Lineup => None,
    }
}

/// A cheap, well-mixed hash (splitmix64), so that text and author follow from the index.
pub fn mix(seed: u64, i: u64) -> u64 {
    let mut z = seed
        .wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Full-width forms of ASCII letters and digits, as phones' Chinese keyboards type them.
fn full_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// The forms a "+1" on the product on screen takes (as in the storm tests and corpora).
const PLUS_ONE: &[&str] = &["+1", "我都+1", "+1🙏", "＋1", "+1 thx"];

/// Units of the hot SKU that comment `i` asks for (every hot comment asks for one).
pub fn hot_units(scenario: Scenario, seed: u64, i: u64) -> i64 {
    match scenario {
        Scenario::HotSku => i64::from(mix(seed, i) % 100 < 90),
        Scenario::Lineup => 0,
    }
}

pub fn comment_text(scenario: Scenario, seed: u64, i: u64) -> String {
    let h = mix(seed, i);
    let pick = (h % 100) as usize;
    let form = (h >> 8) as usize;
    match scenario {
        Scenario::HotSku => {
            if pick < 90 {
                match form % 4 {
                    0 | 1 => PLUS_ONE[(form >> 2) % PLUS_ONE.len()].to_string(),
                    2 => "A01+1".to_string(),
                    _ => full_width("A01+1"),
                }
            } else {
                let kw = format!("A{:02}", 2 + (form % 4));
                match (form >> 2) % 3 {
                    0 => format!("{kw}+1"),
                    1 => format!("{kw} x2"),
                    _ => format!("{kw} 兩件"),
                }
            }
        }
        Scenario::Lineup => {
            let n = 1 + (form % 30);
            let kw = format!("A{n:02}");
            let variant_kw = format!("A{:02}", VARIANT_EVERY * (1 + (form >> 5) % 5));
            let colour = COLOURS[(form >> 9) % 2];
            let size = SIZES[(form >> 10) % 3];
            match pick {
                0..=17 => PLUS_ONE[(form >> 5) % PLUS_ONE.len()].to_string(),
                18..=29 => format!("{kw}+1"),
                30..=35 => format!("{} + 3", kw.to_lowercase()),
                36..=40 => full_width(&format!("{kw}+1")),
                41..=46 => format!("{kw}x2"),
                47..=50 => format!("{kw} × 2"),
                51..=55 => format!("{kw} 兩件"),
                56..=60 => format!("要{kw}一個"),
                61..=72 => format!("{variant_kw} {colour} {size} +1"),
                73..=77 => format!("{variant_kw} {size} {colour} x2"),
                78..=80 => format!("{variant_kw}+1"),
                81..=84 => format!("{kw}+1 A{:02}+1", 1 + (n % 30)),
                85..=88 => format!("{kw}幾錢?"),
                89..=94 => "好靚呀".to_string(),
                95..=97 => format!("{kw} 唔要"),
                _ => format!("cancel {kw}"),
            }
        }
    }
}

/// How many distinct viewers comment in a run of `comments`: a storm is mostly people
/// commenting a few times each.
pub fn viewers(comments: u64) -> u64 {
    (comments / 4).max(50)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse, Catalog, Intent, Limits, Product};

    fn catalog(scenario: Scenario) -> Catalog {
        Catalog::new(
            products(scenario)
                .into_iter()
                .map(|p| Product {
                    keyword: p.keyword.clone(),
                    name: p.keyword.clone(),
                    price: 100,
                    variants: p.skus.iter().flat_map(|(o, _)| o.clone()).fold(
                        Vec::new(),
                        |mut all, o| {
                            if !all.contains(&o) {
                                all.push(o);
                            }
                            all
                        },
                    ),
                })
                .collect(),
        )
    }

    #[test]
    fn hot_sku_comments_are_orders_and_nine_in_ten_are_for_the_hot_one() {
        let catalog = catalog(Scenario::HotSku);
        let mut hot = 0;
        for i in 0..2_000 {
            let text = comment_text(Scenario::HotSku, 7, i);
            let parsed = parse(&text, &catalog, Some(CURRENT), &Limits::default());
            assert_eq!(parsed.intent, Intent::Order, "{text}");
            assert!(!parsed.needs_review, "{text}");
            let is_hot = parsed.items[0].keyword == "A01";
            assert_eq!(
                hot_units(Scenario::HotSku, 7, i),
                i64::from(is_hot),
                "{text}"
            );
            hot += usize::from(is_hot);
        }
        assert!(
            (1_700..1_900).contains(&hot),
            "{hot} of 2000 on the hot SKU"
        );
    }

    #[test]
    fn lineup_comments_mix_orders_questions_cancels_chatter_and_reviews() {
        let catalog = catalog(Scenario::Lineup);
        let (mut orders, mut questions, mut cancels, mut none, mut review) = (0, 0, 0, 0, 0);
        for i in 0..5_000 {
            let text = comment_text(Scenario::Lineup, 3, i);
            let parsed = parse(&text, &catalog, Some(CURRENT), &Limits::default());
            match (parsed.needs_review, parsed.intent) {
                (true, _) => review += 1,
                (false, Intent::Order) => orders += 1,
                (false, Intent::Question) => questions += 1,
                (false, Intent::Cancel) => cancels += 1,
                (false, Intent::None) => none += 1,
            }
        }
        assert!(orders > 3_500, "{orders} orders");
        for (what, n) in [
            ("questions", questions),
            ("cancels", cancels),
            ("chatter", none),
        ] {
            assert!(n > 100, "{n} {what}");
        }
        assert_eq!(
            review, 0,
            "variant-less orders are reviewed by the ledger step, not the parser"
        );
    }

    #[test]
    fn the_same_index_gives_the_same_text() {
        assert_eq!(
            comment_text(Scenario::Lineup, 1, 42),
            comment_text(Scenario::Lineup, 1, 42)
        );
        assert_eq!(full_width("A01+1"), "Ａ０１＋１");
    }
}
