//! The checkout link a private reply carries, from the checkout room.

use crate::config::Config;
use crate::store::{Store, StoreResult};

/// The buyer's checkout link for their cart in a live, or None when there is none (the
/// reply then leaves its link line out). The one call into the checkout room: wiring
/// `plusone::checkout::issue_link(store, config, member_id, live_id, now_ms)` is a change
/// here only.
pub async fn checkout_url(
    store: &Store,
    config: &Config,
    member_id: i64,
    live_id: i64,
    now_ms: i64,
) -> StoreResult<Option<String>> {
    let _ = (store, config, member_id, live_id, now_ms);
    Ok(None)
}
