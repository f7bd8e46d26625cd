//! The session's lineup, with the lookup tables the scanner needs built once.

use std::collections::{HashMap, HashSet};

use super::lexicon::{colour_alias, option_suffix};
use super::normalise::normalise;
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
    /// Per product: (comparison key, index into `variants`).
    variant_keys: Vec<Vec<(String, usize)>>,
    /// Variant spellings the fixed lexicon may not know, so the scanner
    /// can still see them as options.
    option_words: HashSet<String>,
    option_by_first_char: HashMap<char, Vec<String>>,
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
        let mut by_keyword = HashMap::new();
        let mut by_first_char: HashMap<char, Vec<(String, ProductId)>> = HashMap::new();
        let mut variant_keys = Vec::with_capacity(products.len());
        let mut option_words = HashSet::new();
        let mut option_by_first_char: HashMap<char, Vec<String>> = HashMap::new();
        let mut code_prefix_lens = [false; 8];

        for (i, p) in products.iter().enumerate() {
            let id = ProductId(i as u32);
            let kw = normalise(p.keyword.trim());
            if !kw.is_empty() && !by_keyword.contains_key(&kw) {
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
                keys.push((option_key(&n).to_string(), vi));
                if is_ascii_alnum_word(&n) {
                    option_words.insert(n);
                } else if let Some(c) = n.chars().next() {
                    if !c.is_ascii() {
                        let list = option_by_first_char.entry(c).or_default();
                        if !list.contains(&n) {
                            list.push(n);
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
            list.sort_by_key(|k| std::cmp::Reverse(k.len()));
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
            option_words,
            option_by_first_char,
            code_prefix_lens,
        }
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

    /// Longest catalogue option spelling (non-ASCII start) that `s` starts with.
    pub(crate) fn option_at(&self, s: &str) -> Option<usize> {
        let c = s.chars().next()?;
        self.option_by_first_char
            .get(&c)?
            .iter()
            .find(|k| s.starts_with(k.as_str()))
            .map(String::len)
    }

    pub(crate) fn is_option_word(&self, w: &str) -> bool {
        self.option_words.contains(w)
    }

    pub(crate) fn is_code_prefix_len(&self, n: usize) -> bool {
        self.code_prefix_lens.get(n).copied().unwrap_or(false)
    }

    /// The catalogue spelling of the option `key` names, for this product.
    pub(crate) fn variant_of(&self, id: ProductId, key: &str) -> Option<&str> {
        let i = id.0 as usize;
        let keys = self.variant_keys.get(i)?;
        let found = |key: &str| keys.iter().find(|(k, _)| k == key);
        found(key)
            .or_else(|| {
                // `grey` may find `灰`, but only when the catalogue has one of them.
                colour_alias(key).and_then(|a| {
                    keys.iter()
                        .find(|(k, _)| k == a || colour_alias(k) == Some(a))
                })
            })
            .map(|(_, vi)| self.products[i].variants[*vi].as_str())
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
        assert_eq!(c.keywords_at("茶壺+1").next(), Some((6, ProductId(1))));
        assert!(c.is_code_prefix_len(1));
        assert!(!c.is_code_prefix_len(2));
    }

    #[test]
    fn option_key_strips_suffix_but_not_to_nothing() {
        assert_eq!(option_key("黑色"), "黑");
        assert_eq!(option_key("m碼"), "m");
        assert_eq!(option_key("色"), "色");
        assert_eq!(option_key("xl"), "xl");
    }
}
