//! Prices for people, kept for code not yet moved to [`crate::i18n`], where the one
//! formatter of pages and replies lives.

#[doc(hidden)]
pub use crate::i18n::format_money as format;
#[doc(hidden)]
pub use crate::i18n::plain_amount as plain;
