//! The checkout link a private reply carries, from the checkout room.

use crate::checkout::CheckoutLinks;
use crate::store::{Store, StoreResult};

/// The buyer's checkout link for their cart in a live, or None when there is none (the
/// reply then leaves its link line out). Each call issues a new token (the checkout room
/// stores it hashed), so a retried reply carries a fresh, equally valid link.
pub async fn checkout_url(
    store: &Store,
    links: &CheckoutLinks,
    member_id: i64,
    live_id: i64,
    now_ms: i64,
) -> StoreResult<Option<String>> {
    Ok(
        crate::checkout::issue_link(store, links, member_id, live_id, now_ms)
            .await?
            .map(|link| link.url),
    )
}
