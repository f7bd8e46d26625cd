//! A storm of sandbox comments in the mix a live sale sees: orders (with variants, bare
//! `+1` for the product on screen, a few for two), cancels, questions and chat. Pure and
//! seeded, so a test and the benchmark can send the same storm again.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::store::Product;

/// One comment of a storm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StormComment {
    /// Which viewer (0 ‥ viewers) writes it.
    pub viewer: usize,
    pub text: String,
}

/// A lineup keyword and what the storm may say about it.
#[derive(Debug, Clone)]
pub struct StormItem {
    pub keyword: String,
    /// Each SKU's options (empty for a product without variants).
    pub variants: Vec<Vec<String>>,
}

impl StormItem {
    pub fn new(keyword: &str, product: &Product) -> StormItem {
        StormItem {
            keyword: keyword.to_string(),
            variants: product.skus.iter().map(|s| s.options.clone()).collect(),
        }
    }
}

const CHAT: &[&str] = &[
    "好靚呀!",
    "主播好 👋",
    "今日好多靚嘢",
    "😍😍😍",
    "wow",
    "hello from Tsuen Wan",
    "啱啱先入嚟",
    "聲音好細聲",
    "支持!",
    "nice colour",
];

/// Viewer names for a storm, in the mix a Hong Kong live sees.
const NAMES: &[&str] = &[
    "Mei",
    "Ka Yan",
    "Wing",
    "Joyce",
    "Alan",
    "陳太",
    "Karen",
    "Siu Ling",
    "Ivy",
    "Tommy",
    "黃小姐",
    "Cherry",
    "Ho Yin",
    "Fiona",
    "Mandy",
];

/// The display name of storm viewer `index`.
pub fn viewer_name(index: usize) -> String {
    format!("{} {}", NAMES[index % NAMES.len()], index + 1)
}

/// `comments` comments from `viewers` viewers about `items`; `current` is the keyword a
/// bare `+1` means (without one, no bare `+1` is sent).
pub fn storm(
    items: &[StormItem],
    current: Option<&str>,
    comments: usize,
    viewers: usize,
    seed: u64,
) -> Vec<StormComment> {
    let mut rng = StdRng::seed_from_u64(seed);
    let viewers = viewers.max(1);
    (0..comments)
        .map(|_| {
            let viewer = rng.random_range(0..viewers);
            let roll = rng.random_range(0..100u32);
            let item = (!items.is_empty()).then(|| &items[rng.random_range(0..items.len())]);
            let text = match (item, roll) {
                (None, _) => chat(&mut rng),
                (Some(item), 0..=44) => order(&mut rng, item, 1),
                (Some(_), 45..=54) if current.is_some() => "+1".to_string(),
                (Some(item), 45..=54) => order(&mut rng, item, 1),
                (Some(item), 55..=59) => order(&mut rng, item, 2),
                (Some(item), 60..=66) => format!("取消{}", item.keyword),
                (Some(item), 67..=76) => question(&mut rng, item),
                _ => chat(&mut rng),
            };
            StormComment { viewer, text }
        })
        .collect()
}

/// `A01+1`, or with a variant when the product has several: `A01 黑 M +1`.
fn order(rng: &mut StdRng, item: &StormItem, qty: u32) -> String {
    let variant = match item.variants.as_slice() {
        [] | [_] => Vec::new(),
        several => several[rng.random_range(0..several.len())].clone(),
    };
    if variant.is_empty() {
        format!("{}+{qty}", item.keyword)
    } else {
        format!("{} {} +{qty}", item.keyword, variant.join(" "))
    }
}

fn question(rng: &mut StdRng, item: &StormItem) -> String {
    match rng.random_range(0..3u32) {
        0 => format!("{}幾錢?", item.keyword),
        1 => format!("{}仲有冇?", item.keyword),
        _ => format!("how much is {}?", item.keyword),
    }
}

fn chat(rng: &mut StdRng) -> String {
    CHAT[rng.random_range(0..CHAT.len())].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{self, Catalog, Intent, Limits};

    fn items() -> Vec<StormItem> {
        vec![
            StormItem {
                keyword: "A01".into(),
                variants: vec![vec!["黑".into(), "M".into()], vec!["紅".into(), "S".into()]],
            },
            StormItem {
                keyword: "B01".into(),
                variants: vec![vec![]],
            },
        ]
    }

    #[test]
    fn a_storm_is_seeded_sized_and_mixed_the_way_the_parser_reads_a_sale() {
        let comments = storm(&items(), Some("A01"), 2_000, 50, 7);
        assert_eq!(comments, storm(&items(), Some("A01"), 2_000, 50, 7));
        assert_eq!(comments.len(), 2_000);
        assert!(comments.iter().all(|c| c.viewer < 50));
        let catalog = Catalog::new(vec![
            parse::Product {
                keyword: "A01".into(),
                name: "dress".into(),
                price: 100,
                variants: vec!["黑".into(), "紅".into(), "M".into(), "S".into()],
            },
            parse::Product {
                keyword: "B01".into(),
                name: "bag".into(),
                price: 100,
                variants: vec![],
            },
        ]);
        let mut seen = std::collections::HashMap::new();
        for c in &comments {
            let parsed = parse::parse(&c.text, &catalog, Some("A01"), &Limits::default());
            *seen.entry(format!("{:?}", parsed.intent)).or_insert(0) += 1;
        }
        let share = |intent: Intent| seen.get(&format!("{intent:?}")).copied().unwrap_or(0);
        assert!(share(Intent::Order) > 1_000, "{seen:?}");
        assert!(share(Intent::Cancel) > 80, "{seen:?}");
        assert!(share(Intent::Question) > 120, "{seen:?}");
        assert!(share(Intent::None) > 250, "{seen:?}");
    }
}
