//! The session's lineup, with the lookup tables the scanner needs built once.

use std::collections::{HashMap, HashSet};

use super::lexicon::{option_group, option_suffix, OptionKind};
use super::normalise::normalise;
use super::synonyms::{self, Synonym, SynonymKind};
use super::types::Product;

/// Index into `Catalog::products`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProductId(pub(crate) u32);

pub struct Catalog {
    products: Vec<Product>,
    /// Every normalised keyword; the first product wins a duplicate.
    by_keyword: HashMap<String, ProductId>,
    /// Keywords that are not plain ASCII letters and digits (`茶壺`, `A-1`),
    /// found by first character, longest first.
    by_first_char: HashMap<char, Vec<(String, ProductId)>>,
    /// Per product: (comparison key, its option group, index into `variants`).
    variant_keys: Vec<Vec<(String, Option<u16>, usize)>>,
    /// Per product: its normalised name, which buyers may type after the keyword.
    names: Vec<String>,
    /// Variant spellings the fixed lexicon may not know, and the shop's own option
    /// words, so the scanner can still see them as options (of the shop's kind, else
    /// `Other`).
    option_words: HashMap<String, OptionKind>,
    option_by_first_char: HashMap<char, Vec<(String, OptionKind)>>,
    /// The shop's option words: word key → the key of the option it means.
    synonyms: HashMap<String, String>,
    /// The shop's counters: ASCII words, and others by first character (longest
    /// first), with units per counter.
    word_counters: HashMap<String, u64>,
    counters_by_first_char: HashMap<char, Vec<(String, u64)>>,
    /// Letter-prefix lengths of the catalogue's codes (`A01` → 1): a word of
    /// that shape which is not a keyword is an unknown code, not chit-chat.
    code_prefix_lens: [bool; 8],
}

/// The form in which a variant is compared: normalised, without `色`/`碼`.
pub fn option_key(normalised: &str) -> &str {
    let mut chars = normalised.chars();
    match chars.next_back() {
        Some(c) if option_suffix(c) && !chars.as_str().is_empty() => chars.as_str(),
        _ => normalised,
    }
}

fn is_ascii_alnum_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `A01` → Some(1); codes are letters then digits.
fn code_prefix_len(s: &str) -> Option<usize> {
    let letters = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    let rest = &s[letters..];
    (letters > 0 && !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())).then_some(letters)
}

impl Catalog {
    pub fn new(products: Vec<Product>) -> Catalog {
        Catalog::with_aliases(products, Vec::new())
    }

    /// A catalogue whose products may also be named by extra keywords:
    /// `aliases[i]` are product `i`'s. An alias never takes a keyword that an
    /// earlier product's keyword or alias already has.
    pub fn with_aliases(products: Vec<Product>, aliases: Vec<Vec<String>>) -> Catalog {
        let mut by_keyword = HashMap::new();
        let mut by_first_char: HashMap<char, Vec<(String, ProductId)>> = HashMap::new();
        let mut variant_keys = Vec::with_capacity(products.len());
        let mut names = Vec::with_capacity(products.len());
        let mut option_words = HashMap::new();
        let mut option_by_first_char: HashMap<char, Vec<(String, OptionKind)>> = HashMap::new();
        let mut code_prefix_lens = [false; 8];

        for (i, p) in products.iter().enumerate() {
            let id = ProductId(i as u32);
            let kw = normalise(p.keyword.trim());
            let name = normalise(p.name.trim());
            names.push(if name == kw { String::new() } else { name });
            let extra = aliases.get(i).into_iter().flatten();
            for kw in std::iter::once(kw).chain(extra.map(|a| normalise(a.trim()))) {
                if kw.is_empty() || by_keyword.contains_key(&kw) {
                    continue;
                }
                if let Some(n) = code_prefix_len(&kw) {
                    if n < code_prefix_lens.len() {
                        code_prefix_lens[n] = true;
                    }
                }
                if !is_ascii_alnum_word(&kw) {
                    if let Some(c) = kw.chars().next() {
                        by_first_char.entry(c).or_default().push((kw.clone(), id));
                    }
                }
                by_keyword.insert(kw, id);
            }

            let mut keys = Vec::with_capacity(p.variants.len());
            for (vi, v) in p.variants.iter().enumerate() {
                let n = normalise(v.trim());
                if n.is_empty() {
                    continue;
                }
                let key = option_key(&n).to_string();
                let group = option_group(&key);
                keys.push((key, group, vi));
                if is_ascii_alnum_word(&n) {
                    option_words.insert(n, OptionKind::Other);
                } else if let Some(c) = n.chars().next() {
                    if !c.is_ascii() {
                        let list = option_by_first_char.entry(c).or_default();
                        if !list.iter().any(|(x, _)| *x == n) {
                            list.push((n, OptionKind::Other));
                        }
                    }
                }
            }
            variant_keys.push(keys);
        }
        for list in by_first_char.values_mut() {
            list.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
        }
        for list in option_by_first_char.values_mut() {
            list.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
        }
        if !code_prefix_lens.iter().any(|&b| b) {
            code_prefix_lens[1] = true;
            code_prefix_lens[2] = true;
        }
        Catalog {
            products,
            by_keyword,
            by_first_char,
            variant_keys,
            names,
            option_words,
            option_by_first_char,
            synonyms: HashMap::new(),
            word_counters: HashMap::new(),
            counters_by_first_char: HashMap::new(),
            code_prefix_lens,
        }
    }

    /// The catalogue with the shop's own words (`synonyms`) added. A row the table's
    /// check refuses against this catalogue (it names a product here, say) is left out,
    /// so a shop word never changes what a keyword or a built-in word means.
    pub fn with_synonyms(mut self, rows: &[Synonym]) -> Catalog {
        if rows.is_empty() {
            return self;
        }
        let keywords: Vec<(String, String)> = self
            .by_keyword
            .keys()
            .map(|k| (k.clone(), k.clone()))
            .collect();
        let refused: HashSet<usize> = synonyms::check(rows, &keywords)
            .into_iter()
            .map(|p| p.row)
            .collect();
        for (i, row) in rows.iter().enumerate() {
            if refused.contains(&i) {
                continue;
            }
            let key = synonyms::word_key(row.kind, &row.word);
            let kind = match row.kind {
                SynonymKind::Colour => OptionKind::Colour,
                SynonymKind::Size => OptionKind::Size,
                SynonymKind::Counter => {
                    let Some(per) = synonyms::counter_units(&row.meaning) else {
                        continue;
                    };
                    if key.is_ascii() {
                        self.word_counters.insert(key, per);
                    } else if let Some(c) = key.chars().next() {
                        self.counters_by_first_char
                            .entry(c)
                            .or_default()
                            .push((key, per));
                    }
                    continue;
                }
            };
            self.synonyms
                .insert(key.clone(), synonyms::meaning_key(&row.meaning));
            if key.is_ascii() {
                self.option_words.insert(key, kind);
            } else if let Some(c) = key.chars().next() {
                let list = self.option_by_first_char.entry(c).or_default();
                match list.iter_mut().find(|(x, _)| *x == key) {
                    Some(found) => found.1 = kind,
                    None => list.push((key, kind)),
                }
            }
        }
        for list in self.option_by_first_char.values_mut() {
            list.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
        }
        for list in self.counters_by_first_char.values_mut() {
            list.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
        }
        self
    }

    pub fn products(&self) -> &[Product] {
        &self.products
    }

    pub fn product(&self, id: ProductId) -> &Product {
        &self.products[id.0 as usize]
    }

    /// Finds a product by keyword as a person would type it (any case, any width).
    pub fn find(&self, keyword: &str) -> Option<ProductId> {
        self.by_keyword
            .get(keyword)
            .or_else(|| self.by_keyword.get(normalise(keyword.trim()).as_str()))
            .copied()
    }

    /// Lookup of an already normalised keyword.
    pub(crate) fn exact(&self, normalised: &str) -> Option<ProductId> {
        self.by_keyword.get(normalised).copied()
    }

    /// Keywords that start `s` and are not plain ASCII words, longest first.
    pub(crate) fn keywords_at<'a>(
        &'a self,
        s: &'a str,
    ) -> impl Iterator<Item = (usize, ProductId)> + 'a {
        let c = s.chars().next();
        c.and_then(|c| self.by_first_char.get(&c))
            .into_iter()
            .flatten()
            .filter(move |(k, _)| s.starts_with(k.as_str()))
            .map(|(k, id)| (k.len(), *id))
    }

    /// Longest catalogue or shop option spelling (non-ASCII start) that `s` starts
    /// with, and its kind (`Other` for a catalogue spelling).
    pub(crate) fn option_at(&self, s: &str) -> Option<(usize, OptionKind)> {
        let c = s.chars().next()?;
        self.option_by_first_char
            .get(&c)?
            .iter()
            .find(|(k, _)| s.starts_with(k.as_str()))
            .map(|(k, kind)| (k.len(), *kind))
    }

    /// The kind of an ASCII option word the catalogue or the shop's table has.
    pub(crate) fn option_word(&self, w: &str) -> Option<OptionKind> {
        self.option_words.get(w).copied()
    }

    /// A shop counter that `s` starts with (an ASCII one as a whole word): its byte
    /// length and units per counter.
    pub(crate) fn counter_at(&self, s: &str) -> Option<(usize, u64)> {
        // Most shops have none: every number of every comment asks.
        if self.word_counters.is_empty() && self.counters_by_first_char.is_empty() {
            return None;
        }
        let c = s.chars().next()?;
        if c.is_ascii_alphabetic() {
            let end = s
                .bytes()
                .position(|b| !b.is_ascii_alphanumeric())
                .unwrap_or(s.len());
            return self.word_counters.get(&s[..end]).map(|&per| (end, per));
        }
        self.counters_by_first_char
            .get(&c)?
            .iter()
            .find(|(k, _)| s.starts_with(k.as_str()))
            .map(|(k, per)| (k.len(), *per))
    }

    /// Whether an ASCII word is one of the shop's counters.
    pub(crate) fn is_word_counter(&self, w: &str) -> bool {
        self.word_counters.contains_key(w)
    }

    pub(crate) fn is_code_prefix_len(&self, n: usize) -> bool {
        self.code_prefix_lens.get(n).copied().unwrap_or(false)
    }

    /// The normalised product name (empty when it is the keyword itself).
    pub(crate) fn name(&self, id: ProductId) -> &str {
        self.names.get(id.0 as usize).map_or("", String::as_str)
    }

    /// The catalogue spelling of the option `key` names, for this product.
    pub(crate) fn variant_of(&self, id: ProductId, key: &str) -> Option<&str> {
        let i = id.0 as usize;
        let keys = self.variant_keys.get(i)?;
        // `grey` may find `灰` and `細碼` find `S`, but only when the catalogue has one
        // of them, and only one.
        let by_group = |key: &str| {
            let group = option_group(key)?;
            let mut same = keys.iter().filter(|(_, g, _)| *g == Some(group));
            let first = same.next()?;
            same.next().is_none().then_some(first)
        };
        let exact = |key: &str| keys.iter().find(|(k, _, _)| k == key);
        exact(key)
            .or_else(|| {
                // The shop's word means its option here, as spelled or by group.
                let meant = self.synonyms.get(key)?;
                exact(meant).or_else(|| by_group(meant))
            })
            .or_else(|| by_group(key))
            .map(|(_, _, vi)| self.products[i].variants[*vi].as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(kw: &str, variants: &[&str]) -> Product {
        Product {
            keyword: kw.into(),
            name: String::new(),
            price: 0,
            variants: variants.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn lookups() {
        let c = Catalog::new(vec![
            p("A01", &["黑色", "M碼", "Navy"]),
            p("茶壺", &[]),
            p("MASK", &[]),
        ]);
        assert_eq!(c.find("a01"), Some(ProductId(0)));
        assert_eq!(c.find("Ａ０１"), Some(ProductId(0)));
        assert_eq!(c.find("mask"), Some(ProductId(2)));
        assert_eq!(c.variant_of(ProductId(0), "黑"), Some("黑色"));
        assert_eq!(c.variant_of(ProductId(0), "m"), Some("M碼"));
        assert_eq!(c.variant_of(ProductId(0), "navy"), Some("Navy"));
        assert_eq!(c.variant_of(ProductId(0), "海軍藍"), Some("Navy"));
        assert_eq!(c.variant_of(ProductId(0), "black"), Some("黑色"));
        assert_eq!(c.variant_of(ProductId(0), "中"), Some("M碼"));
        assert_eq!(c.variant_of(ProductId(0), "細"), None);
        assert_eq!(c.variant_of(ProductId(0), "白"), None);
        assert_eq!(c.keywords_at("茶壺+1").next(), Some((6, ProductId(1))));
        assert!(c.is_code_prefix_len(1));
        assert!(!c.is_code_prefix_len(2));
    }

    #[test]
    fn sizes_map_both_ways_when_the_catalogue_has_them() {
        let c = Catalog::new(vec![
            p("K08", &["S", "M", "L"]),
            p("K15", &["細碼", "中碼", "大碼"]),
            p("T3", &["Pink", "粉紅"]),
        ]);
        for (typed, want) in [("細", "S"), ("小", "S"), ("small", "S"), ("大", "L")] {
            assert_eq!(c.variant_of(ProductId(0), typed), Some(want), "{typed}");
        }
        for (typed, want) in [("s", "細碼"), ("m", "中碼"), ("large", "大碼")] {
            assert_eq!(c.variant_of(ProductId(1), typed), Some(want), "{typed}");
        }
        // Two catalogue options of one meaning: the buyer's word picks neither.
        assert_eq!(c.variant_of(ProductId(2), "粉"), None);
        assert_eq!(c.variant_of(ProductId(2), "pink"), Some("Pink"));
    }

    #[test]
    fn an_alias_names_its_product_but_takes_no_other_keyword() {
        let c = Catalog::with_aliases(
            vec![p("H01", &["紅", "黑"]), p("H02", &[])],
            vec![
                vec!["漁夫帽".into(), "Bucket Hat".into()],
                vec!["H01".into(), "cap".into()],
            ],
        );
        assert_eq!(c.find("漁夫帽"), Some(ProductId(0)));
        assert_eq!(c.find("bucket hat"), Some(ProductId(0)));
        assert_eq!(c.find("CAP"), Some(ProductId(1)));
        // H02's alias `H01` is H01's keyword already: it stays H01's.
        assert_eq!(c.find("H01"), Some(ProductId(0)));
        assert_eq!(c.keywords_at("漁夫帽紅+1").next(), Some((9, ProductId(0))));
        // The product keeps its keyword, which the parse result echoes.
        assert_eq!(c.product(ProductId(0)).keyword, "H01");
    }

    #[test]
    fn shop_words_join_the_option_words_and_counters() {
        use crate::parse::{Synonym, SynonymKind};
        let row = |kind, word: &str, meaning: &str| Synonym {
            kind,
            word: word.into(),
            meaning: meaning.into(),
        };
        let c = Catalog::new(vec![p("A01", &["Burgundy", "黑色", "M"]), p("茶壺", &[])])
            .with_synonyms(&[
                row(SynonymKind::Colour, "酒紅色", "burgundy"),
                row(SynonymKind::Colour, "Wine", "Burgundy"),
                row(SynonymKind::Colour, "墨黑", "black"),
                row(SynonymKind::Size, "中童", "M碼"),
                row(SynonymKind::Counter, "扎", "1"),
                row(SynonymKind::Counter, "Bundle", "打"),
                // Refused here, so left out: a keyword, and a built-in of another group.
                row(SynonymKind::Colour, "茶壺", "Burgundy"),
                row(SynonymKind::Colour, "白", "black"),
            ]);
        assert_eq!(c.variant_of(ProductId(0), "酒紅"), Some("Burgundy"));
        assert_eq!(c.variant_of(ProductId(0), "wine"), Some("Burgundy"));
        assert_eq!(c.variant_of(ProductId(0), "墨黑"), Some("黑色"));
        assert_eq!(c.variant_of(ProductId(0), "中童"), Some("M"));
        assert_eq!(c.variant_of(ProductId(0), "白"), None);
        assert_eq!(c.option_at("酒紅色"), Some((6, OptionKind::Colour)));
        assert_eq!(c.option_at("中童"), Some((6, OptionKind::Size)));
        assert_eq!(c.option_word("wine"), Some(OptionKind::Colour));
        assert_eq!(c.option_word("burgundy"), Some(OptionKind::Other));
        assert_eq!(c.counter_at("扎 +1"), Some((3, 1)));
        assert_eq!(c.counter_at("bundle!"), Some((6, 12)));
        assert_eq!(c.counter_at("bundles"), None);
        assert_eq!(c.option_at("茶壺"), None);
        assert_eq!(c.find("茶壺"), Some(ProductId(1)));
        // Without a table nothing changes.
        let plain = Catalog::new(vec![p("A01", &["Burgundy"])]);
        assert_eq!(plain.variant_of(ProductId(0), "酒紅"), None);
        assert_eq!(plain.counter_at("扎"), None);
    }

    #[test]
    fn option_key_strips_suffix_but_not_to_nothing() {
        assert_eq!(option_key("黑色"), "黑");
        assert_eq!(option_key("m碼"), "m");
        assert_eq!(option_key("色"), "色");
        assert_eq!(option_key("xl"), "xl");
    }
}
