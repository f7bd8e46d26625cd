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
use crate::store::{mark_order_paid_in, order_number, OrderChange, Store, StoreResult, Tx};

/// A link ready to send, and when it stops working at the latest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutLink {
    pub url: String,
    pub expires_at_ms: i64,
}

/// What links are made of: the service's public address and how long a link works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutLinks {
    /// `http.public_base_url`, without a trailing slash.
    pub public_base_url: String,
    /// `checkout.link_ttl_hours`.
    pub ttl_hours: i64,
}

/// Makes a checkout link into the member's open cart of the live (opening the cart when
/// there is none). Each call makes a new token; all of a cart's tokens open the same cart.
pub async fn issue_link(
    store: &Store,
    links: &CheckoutLinks,
    member_id: i64,
    live_id: i64,
    now_ms: i64,
) -> StoreResult<Option<CheckoutLink>> {
    let bytes: [u8; 20] = rand::rng().random();
    let token = hex::encode(bytes);
    let expires_at_ms = now_ms + links.ttl_hours * 3_600_000;
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
        url: format!("{}/c/{token}", links.public_base_url),
        expires_at_ms,
    }))
}

/// An order this transaction marked paid: what the buyer's thank-you says. The caller
/// passes it on (to the outbox) in the same transaction, so the message is written with
/// the payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPaid {
    /// `PO-000042`.
    pub number: String,
    pub member_id: i64,
    pub live_id: i64,
    /// Minor units.
    pub total: i64,
    pub currency: String,
}

/// Marks an order paid in `tx`: a sale in the ledger and points for the member (at
/// `shop.points_per_unit`). The refusal when the order cannot be paid now.
pub async fn mark_paid_in(
    tx: &mut Tx,
    shop: &CheckoutConfig,
    order_id: i64,
    now_ms: i64,
) -> StoreResult<Result<OrderPaid, OrderChange>> {
    let points = shop.points();
    let earned = |total| points.earned(total);
    Ok(mark_order_paid_in(tx, order_id, earned, now_ms)
        .await?
        .map(|paid| OrderPaid {
            number: order_number(order_id),
            member_id: paid.member_id,
            live_id: paid.live_id,
            total: paid.total,
            currency: paid.currency,
        }))
}

/// What the checkout pages share across requests.
pub struct CheckoutServices {
    pub provider: Option<std::sync::Arc<dyn provider::PaymentProvider>>,
    /// Lookups of tokens that match nothing, per client address; a guesser runs out
    /// of these quickly, and is then refused before any lookup.
    pub guessing: Guessing,
}

/// Unknown checkout links per client address. An address over its budget is refused
/// until the budget has room again, without looking the token up.
pub struct Guessing {
    limiter: governor::DefaultKeyedRateLimiter<std::net::IpAddr>,
    refused_until:
        std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, std::time::Instant>>,
}

impl Guessing {
    pub fn new(per_minute: std::num::NonZeroU32) -> Guessing {
        Guessing {
            limiter: governor::RateLimiter::keyed(governor::Quota::per_minute(per_minute)),
            refused_until: Default::default(),
        }
    }

    /// True while the address is refused: check before looking a token up.
    pub fn refused(&self, address: std::net::IpAddr) -> bool {
        let now = std::time::Instant::now();
        let mut refused = self.refused_until.lock().expect("not poisoned");
        match refused.get(&address) {
            Some(until) if *until > now => true,
            Some(_) => {
                refused.remove(&address);
                false
            }
            None => false,
        }
    }

    /// Counts one unknown link for the address. False when that was over its budget;
    /// the address is then refused until the budget has room.
    pub fn charge(&self, address: std::net::IpAddr) -> bool {
        use governor::clock::{Clock, DefaultClock};
        match self.limiter.check_key(&address) {
            Ok(()) => true,
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let mut refused = self.refused_until.lock().expect("not poisoned");
                let now = std::time::Instant::now();
                // Guessers from many addresses must not grow the map without bound.
                if refused.len() > 100_000 {
                    refused.retain(|_, until| *until > now);
                    self.limiter.retain_recent();
                }
                refused.insert(address, now + wait);
                false
            }
        }
    }
}

/// The checkout settings in force: the config, with the owner's choices saved in the
/// console (if any) in place of its payment methods, pickup stores and delivery switch.
/// Read per request, so a change applies at once on every replica.
pub async fn shop_config(store: &Store, config: &CheckoutConfig) -> StoreResult<CheckoutConfig> {
    Ok(match store.shop_checkout().await? {
        Some(saved) => config.with_choices(&saved.checkout),
        None => config.clone(),
    })
}

impl CheckoutServices {
    /// `provider_timeout` bounds each call to the payment provider.
    pub fn new(
        shop: &CheckoutConfig,
        payments: &PaymentsConfig,
        provider_timeout: std::time::Duration,
    ) -> CheckoutServices {
        let per_minute = std::num::NonZeroU32::new(shop.unknown_token_per_minute)
            .unwrap_or(std::num::NonZeroU32::MIN);
        CheckoutServices {
            provider: provider::from_config(payments, provider_timeout),
            guessing: Guessing::new(per_minute),
        }
    }
}
