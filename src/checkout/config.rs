//! The shop's checkout settings: `[checkout]` and `[payments]` in the config.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::members::PointsPolicy;
use crate::settings::{invalid, mask_secret, ConfigError};
use crate::store::{ShopCheckout, ShopPaymentMethod};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutConfig {
    /// The shop's page language when the browser asks for none we have.
    pub language: String,
    /// How long a confirmed order keeps its units before they go back on sale.
    pub payment_deadline_minutes: i64,
    /// A checkout link stops working this long after it was sent, whatever the cart holds.
    pub link_ttl_hours: i64,
    /// Whether buyers may ask for delivery.
    pub delivery: bool,
    /// Stores a buyer may pick up from; empty turns pickup off.
    pub pickup_stores: Vec<String>,
    /// Points earned per whole currency unit paid (100 minor units).
    pub points_per_unit: i64,
    /// Minor units one point pays when spent (at checkout or the counter).
    #[serde(default = "one")]
    pub points_value: i64,
    /// The highest share of an order that points may pay, in percent: 0 (points are
    /// never spent) to 100.
    #[serde(default = "fifty")]
    pub max_points_share: i64,
    /// The largest receipt image accepted, in bytes.
    pub receipt_max_bytes: usize,
    /// How many receipt images one order may have; more are refused.
    #[serde(default = "ten")]
    pub max_receipts_per_order: i64,
    /// Lookups of unknown checkout tokens allowed per minute, per client address.
    pub unknown_token_per_minute: u32,
    /// What buyers may pay with, in the order shown.
    pub payment_methods: Vec<PaymentMethodConfig>,
}

fn ten() -> i64 {
    10
}

fn one() -> i64 {
    1
}

fn fifty() -> i64 {
    50
}

impl CheckoutConfig {
    /// The payment methods, pickup stores and delivery switch the config names.
    pub fn choices(&self) -> ShopCheckout {
        ShopCheckout {
            payment_methods: self
                .payment_methods
                .iter()
                .map(|m| ShopPaymentMethod {
                    kind: m.kind,
                    instructions: m.instructions.clone(),
                })
                .collect(),
            pickup_stores: self.pickup_stores.clone(),
            delivery: self.delivery,
        }
    }

    /// This config with the shop's own choices in place of the config's.
    pub fn with_choices(&self, choices: &ShopCheckout) -> CheckoutConfig {
        CheckoutConfig {
            payment_methods: choices
                .payment_methods
                .iter()
                .map(|m| PaymentMethodConfig {
                    kind: m.kind,
                    instructions: m.instructions.clone(),
                })
                .collect(),
            pickup_stores: choices.pickup_stores.clone(),
            delivery: choices.delivery,
            ..self.clone()
        }
    }

    /// The pages' language when the browser names none we have. The key is read as
    /// loosely as a browser's tag (`zh-hk` works), as it always was.
    pub fn default_lang(&self) -> Lang {
        Lang::recognise(&self.language).unwrap_or(Lang::ZhHk)
    }

    /// How points are earned and spent, at checkout and at the counter alike.
    pub fn points(&self) -> PointsPolicy {
        PointsPolicy {
            per_unit: self.points_per_unit,
            value: self.points_value,
            max_share_percent: self.max_points_share,
        }
    }
}

pub use crate::vocab::PaymentKind;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethodConfig {
    pub kind: PaymentKind,
    /// What the buyer is told to do (account number, FPS id…), shown after confirming.
    #[serde(default)]
    pub instructions: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    None,
    Hosted,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentsConfig {
    pub provider: ProviderKind,
    /// The hosted-checkout provider's API base.
    #[serde(default)]
    pub api_base: String,
    #[serde(default, serialize_with = "mask_secret")]
    pub api_key: Option<SecretString>,
    /// Signs the provider's webhooks (HMAC-SHA256).
    #[serde(default, serialize_with = "mask_secret")]
    pub webhook_secret: Option<SecretString>,
}

pub fn validate(checkout: &CheckoutConfig, payments: &PaymentsConfig) -> Result<(), ConfigError> {
    if Lang::recognise(&checkout.language).is_none() {
        return Err(invalid(
            "checkout.language",
            "it must be `zh-HK`, `zh-TW` or `en`",
        ));
    }
    if checkout.payment_deadline_minutes < 1 {
        return Err(invalid(
            "checkout.payment_deadline_minutes",
            "it must be at least 1",
        ));
    }
    if checkout.link_ttl_hours < 1 {
        return Err(invalid("checkout.link_ttl_hours", "it must be at least 1"));
    }
    if checkout.points_per_unit < 0 {
        return Err(invalid(
            "checkout.points_per_unit",
            "it must not be negative",
        ));
    }
    if checkout.points_value < 1 {
        return Err(invalid(
            "checkout.points_value",
            "it must be at least 1 (minor units one point pays)",
        ));
    }
    if !(0..=100).contains(&checkout.max_points_share) {
        return Err(invalid(
            "checkout.max_points_share",
            "it is a percent of the order: 0 (points are never spent) to 100",
        ));
    }
    if checkout.max_receipts_per_order < 1 {
        return Err(invalid(
            "checkout.max_receipts_per_order",
            "it must be at least 1",
        ));
    }
    if checkout.receipt_max_bytes < 1024 {
        return Err(invalid(
            "checkout.receipt_max_bytes",
            "it must be at least 1024",
        ));
    }
    if checkout.unknown_token_per_minute == 0 {
        return Err(invalid(
            "checkout.unknown_token_per_minute",
            "it must be at least 1",
        ));
    }
    // The same rules as a shop's choices saved in the console.
    let hosted_available = payments.provider == ProviderKind::Hosted;
    if let Err(problem) = check_choices(&checkout.choices(), hosted_available) {
        return Err(invalid(
            &format!("checkout.{}", problem.field()),
            problem.message,
        ));
    }
    if payments.provider == ProviderKind::Hosted {
        if !(payments.api_base.starts_with("http://") || payments.api_base.starts_with("https://"))
        {
            return Err(invalid(
                "payments.api_base",
                "it must start with http:// or https://",
            ));
        }
        if payments.api_key.is_none() {
            return Err(invalid("payments.api_key", "the hosted provider needs it"));
        }
        if payments.webhook_secret.is_none() {
            return Err(invalid(
                "payments.webhook_secret",
                "the hosted provider needs it",
            ));
        }
    }
    Ok(())
}

/// The most pickup stores a shop may list.
pub const MAX_PICKUP_STORES: usize = 50;
/// The longest pickup store name, in characters (an order keeps up to 100).
pub const MAX_STORE_NAME: usize = 100;
/// The longest payment instructions, in characters.
pub const MAX_INSTRUCTIONS: usize = 1000;

/// Why a shop's checkout choices cannot be used: which part, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceProblem {
    /// `payment_methods`, `pickup_stores` or `delivery`: the key under `checkout.` in
    /// the config, and the field of `/api/v1/settings/checkout`.
    pub key: &'static str,
    /// The item of that list, when one item is wrong.
    pub index: Option<usize>,
    /// `no_payment_method`, `repeated_method`, `hosted_unavailable`,
    /// `instructions_too_long`, `empty_store`, `store_spaces`, `store_too_long`, `repeated_store`,
    /// `too_many_stores` or `nothing_to_receive`.
    pub code: &'static str,
    /// For people, in English.
    pub message: String,
}

impl ChoiceProblem {
    /// `payment_methods[1]`, `pickup_stores`…
    pub fn field(&self) -> String {
        match self.index {
            Some(i) => format!("{}[{i}]", self.key),
            None => self.key.to_string(),
        }
    }
}

/// The choices as they are kept: store names and instructions without the spaces around
/// them. Check them after.
pub fn tidy_choices(choices: ShopCheckout) -> ShopCheckout {
    ShopCheckout {
        payment_methods: choices
            .payment_methods
            .into_iter()
            .map(|m| ShopPaymentMethod {
                kind: m.kind,
                instructions: m.instructions.replace("\r\n", "\n").trim().to_string(),
            })
            .collect(),
        pickup_stores: choices
            .pickup_stores
            .into_iter()
            .map(|s| s.trim().to_string())
            .collect(),
        delivery: choices.delivery,
    }
}

/// The rules a shop's payment methods, pickup stores and delivery switch keep, whether
/// they come from the config or the console: at least one method, each kind once, the
/// hosted checkout only with a provider, store names of 1 to 100 characters without
/// spaces around them, each once, at most 50, and a way to receive the order.
pub fn check_choices(choices: &ShopCheckout, hosted_available: bool) -> Result<(), ChoiceProblem> {
    let problem = |key, index, code, message: String| {
        Err(ChoiceProblem {
            key,
            index,
            code,
            message,
        })
    };
    if choices.payment_methods.is_empty() {
        return problem(
            "payment_methods",
            None,
            "no_payment_method",
            "name at least one method".into(),
        );
    }
    for (i, method) in choices.payment_methods.iter().enumerate() {
        if choices.payment_methods[..i]
            .iter()
            .any(|m| m.kind == method.kind)
        {
            return problem(
                "payment_methods",
                Some(i),
                "repeated_method",
                format!("`{}` is named twice", method.kind),
            );
        }
        if method.kind == PaymentKind::Hosted && !hosted_available {
            return problem(
                "payment_methods",
                Some(i),
                "hosted_unavailable",
                "the `hosted` method needs payments.provider = \"hosted\"".into(),
            );
        }
        if method.instructions.chars().count() > MAX_INSTRUCTIONS {
            return problem(
                "payment_methods",
                Some(i),
                "instructions_too_long",
                format!("the instructions may be at most {MAX_INSTRUCTIONS} characters"),
            );
        }
    }
    if choices.pickup_stores.len() > MAX_PICKUP_STORES {
        return problem(
            "pickup_stores",
            None,
            "too_many_stores",
            format!("name at most {MAX_PICKUP_STORES} stores"),
        );
    }
    for (i, store) in choices.pickup_stores.iter().enumerate() {
        if store.trim().is_empty() {
            return problem(
                "pickup_stores",
                Some(i),
                "empty_store",
                "a store needs a name".into(),
            );
        }
        if store.trim() != store {
            return problem(
                "pickup_stores",
                Some(i),
                "store_spaces",
                "a store name may not start or end with a space".into(),
            );
        }
        if store.chars().count() > MAX_STORE_NAME {
            return problem(
                "pickup_stores",
                Some(i),
                "store_too_long",
                format!("a store name may be at most {MAX_STORE_NAME} characters"),
            );
        }
        if choices.pickup_stores[..i].contains(store) {
            return problem(
                "pickup_stores",
                Some(i),
                "repeated_store",
                format!("`{store}` is named twice"),
            );
        }
    }
    if !choices.delivery && choices.pickup_stores.is_empty() {
        return problem(
            "delivery",
            None,
            "nothing_to_receive",
            "delivery is off and checkout.pickup_stores is empty, so a buyer could not receive anything".into(),
        );
    }
    Ok(())
}
