//! Checkout: the link a buyer gets, the cart behind it, the page that turns held units
//! into an order, and how the order gets paid.
//!
//! A link is `{http.public_base_url}/c/{token}`: 160 random bits, stored as a SHA-256,
//! bound to the member's open cart in one live. It works without a login because the
//! token is the credential; what it opens is decided when it is opened: the order the cart
//! became, else the units still held, else "expired".

pub mod config;
pub mod form;
pub mod lang;
pub mod money;
pub mod page;
pub mod provider;

pub use crate::vocab::OrderStatus;
pub use config::{CheckoutConfig, PaymentKind, PaymentsConfig};

use rand::RngExt;

use crate::auth::hash_token;
use crate::config::Config;
use crate::store::{mark_order_paid_in, order_number, OrderChange, Store, StoreResult};

/// A link ready to send, and when it stops working at the latest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutLink {
    pub url: String,
    pub expires_at_ms: i64,
}

/// Makes a checkout link into the member's open cart of the live (opening the cart when
/// there is none). Each call makes a new token; all of a cart's tokens open the same cart.
pub async fn issue_link(
    store: &Store,
    config: &Config,
    member_id: i64,
    live_id: i64,
    now_ms: i64,
) -> StoreResult<Option<CheckoutLink>> {
    let bytes: [u8; 20] = rand::rng().random();
    let token = hex::encode(bytes);
    let expires_at_ms = now_ms + config.checkout.link_ttl_hours * 3_600_000;
    store
        .issue_checkout_token(
            member_id,
            live_id,
            &hash_token(&token),
            expires_at_ms,
            now_ms,
        )
        .await?;
    Ok(Some(CheckoutLink {
        url: format!("{}/c/{token}", config.public_base_url()),
        expires_at_ms,
    }))
}

/// Marks an order paid (a sale in the ledger, points for the member) and, in the same
/// transaction, queues the buyer's "paid" message where a channel to them is open.
pub async fn mark_paid(
    store: &Store,
    config: &Config,
    order_id: i64,
    now_ms: i64,
) -> StoreResult<OrderChange> {
    let mut tx = store.begin_write().await?;
    let per_unit = config.checkout.points_per_unit;
    let earned = |total| points_for(total, per_unit);
    let paid = match mark_order_paid_in(&mut tx, order_id, earned, now_ms).await? {
        Ok(paid) => paid,
        Err(refused) => return Ok(refused),
    };
    crate::outbox::enqueue_order_paid_in(
        &mut tx,
        paid.member_id,
        paid.live_id,
        &order_number(order_id),
        paid.total,
        &paid.currency,
        now_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(OrderChange::Done)
}

/// Points a paid total earns.
pub fn points_for(total_minor: i64, points_per_unit: i64) -> i64 {
    total_minor / 100 * points_per_unit
}

/// What the checkout pages share across requests.
pub struct CheckoutServices {
    pub provider: Option<std::sync::Arc<dyn provider::PaymentProvider>>,
    /// Lookups of tokens that match nothing; a guesser runs out of these quickly.
    pub unknown_tokens: governor::DefaultDirectRateLimiter,
}

impl CheckoutServices {
    pub fn new(config: &Config) -> CheckoutServices {
        let per_minute = std::num::NonZeroU32::new(config.checkout.unknown_token_per_minute)
            .unwrap_or(std::num::NonZeroU32::MIN);
        CheckoutServices {
            provider: provider::from_config(
                &config.payments,
                std::time::Duration::from_millis(config.outbox.request_timeout_ms),
            ),
            unknown_tokens: governor::RateLimiter::direct(governor::Quota::per_minute(per_minute)),
        }
    }
}
