//! A live session's lineup as the parser and the ledger see it.

use std::collections::HashMap;

use crate::parse::{self, Catalog};
use crate::store::{Live, Product, Store, StoreResult};

/// Which SKU a parsed line means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkuChoice {
    Sku(i64),
    /// The options named match no SKU of the product.
    NoSuchVariant,
    /// Several SKUs fit; the buyer chooses on the checkout page. Meanwhile the units are
    /// held on this one: of those that fit, the one with the most units free.
    ChooseLater(i64),
}

pub struct LiveCatalog {
    pub live: Live,
    pub catalog: Catalog,
    /// By keyword as the lineup spells it.
    products: HashMap<String, Product>,
}

impl LiveCatalog {
    pub async fn load(store: &Store, live: Live) -> StoreResult<LiveCatalog> {
        let mut products = HashMap::new();
        let mut entries = Vec::new();
        let mut aliases = Vec::new();
        for entry in &live.lineup {
            match store.product_by_code(&entry.code).await? {
                Some(product) => {
                    entries.push(parse::Product {
                        keyword: entry.keyword.clone(),
                        name: product.name.clone(),
                        price: product.price,
                        variants: product.options.clone(),
                    });
                    aliases.push(product.aliases.clone());
                    products.insert(entry.keyword.clone(), product);
                }
                None => {
                    tracing::warn!(live = live.id, code = %entry.code, "lineup names an unknown product")
                }
            }
        }
        // Read at every load, as the lineup is: a change to the table is used from the
        // next batch, with no restart.
        let words: Vec<parse::Synonym> = store
            .synonyms()
            .await?
            .into_iter()
            .map(|row| parse::Synonym {
                kind: row.kind,
                word: row.word,
                meaning: row.meaning,
            })
            .collect();
        Ok(LiveCatalog {
            live,
            catalog: Catalog::with_aliases(entries, aliases).with_synonyms(&words),
            products,
        })
    }

    pub fn product(&self, keyword: &str) -> Option<&Product> {
        self.products.get(keyword)
    }

    /// The SKU whose options include every option the buyer named.
    pub fn sku_for(&self, keyword: &str, variant: &[String]) -> SkuChoice {
        let Some(product) = self.products.get(keyword) else {
            return SkuChoice::NoSuchVariant;
        };
        let fits: Vec<&crate::store::SkuStock> = product
            .skus
            .iter()
            .filter(|s| variant.iter().all(|v| s.options.contains(v)))
            .collect();
        match fits.as_slice() {
            [one] => SkuChoice::Sku(one.id),
            [] => SkuChoice::NoSuchVariant,
            several => {
                // The first of the fullest, so a hold lands where stock is.
                let most = several.iter().map(|s| s.available).max().unwrap_or(0);
                let pick = several
                    .iter()
                    .find(|s| s.available == most)
                    .map_or(several[0].id, |s| s.id);
                SkuChoice::ChooseLater(pick)
            }
        }
    }

    /// Every SKU of a product that has all the named options (for cancels).
    pub fn skus_matching(&self, keyword: &str, variant: &[String]) -> Vec<i64> {
        self.products
            .get(keyword)
            .map(|p| {
                p.skus
                    .iter()
                    .filter(|s| variant.iter().all(|v| s.options.contains(v)))
                    .map(|s| s.id)
                    .collect()
            })
            .unwrap_or_default()
    }
}
