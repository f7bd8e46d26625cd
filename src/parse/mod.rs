//! The comment parser: text + catalogue + current product → intent and lines.
//!
//! Pure: no IO, no state between calls. The stages are
//! `normalise` (one spelling for every width, case and script),
//! `scan` (tokens), and `grammar` (lines and the decision).

mod catalog;
mod grammar;
mod lexicon;
mod normalise;
mod numerals;
mod scan;
pub mod synonyms;
mod types;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod prop_tests;

pub use catalog::{Catalog, ProductId};
pub use normalise::normalise;
pub use synonyms::{RowProblem, Synonym, SynonymKind, SynonymProblem};
pub use types::{CatalogFile, Intent, Limits, Line, ParseInput, Parsed, Product, ReviewReason};

/// Parses one comment.
///
/// `current` is the keyword of the product on screen, as the session holds
/// it (any case or width); a keyword the catalogue lacks counts as none.
pub fn parse(text: &str, catalog: &Catalog, current: Option<&str>, limits: &Limits) -> Parsed {
    let mut norm = String::new();
    normalise::normalise_into(text, &mut norm);
    let mut toks = Vec::with_capacity(8);
    scan::scan(&norm, catalog, &mut toks);
    let current = current.and_then(|c| catalog.find(c));
    grammar::decide(&norm, &toks, catalog, current, limits)
}

impl From<CatalogFile> for Catalog {
    fn from(f: CatalogFile) -> Catalog {
        Catalog::new(f.products)
    }
}
