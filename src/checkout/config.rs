//! The shop's checkout settings: `[checkout]` and `[payments]` in the config.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::settings::{invalid, mask_secret, ConfigError};

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
    /// The largest receipt image accepted, in bytes.
    pub receipt_max_bytes: usize,
    /// Lookups of unknown checkout tokens allowed per minute, for the whole service.
    pub unknown_token_per_minute: u32,
    /// What buyers may pay with, in the order shown.
    pub payment_methods: Vec<PaymentMethodConfig>,
}

impl CheckoutConfig {
    /// The pages' language when the browser names none we have. The key is read as
    /// loosely as a browser's tag (`zh-hk` works), as it always was.
    pub fn default_lang(&self) -> Lang {
        Lang::recognise(&self.language).unwrap_or(Lang::ZhHk)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    BankTransfer,
    Fps,
    Payme,
    CashOnPickup,
    /// The hosted checkout of `[payments]`.
    Hosted,
}

impl PaymentKind {
    pub const ALL: [PaymentKind; 5] = [
        PaymentKind::BankTransfer,
        PaymentKind::Fps,
        PaymentKind::Payme,
        PaymentKind::CashOnPickup,
        PaymentKind::Hosted,
    ];

    pub fn parse(text: &str) -> Option<PaymentKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentKind::BankTransfer => "bank_transfer",
            PaymentKind::Fps => "fps",
            PaymentKind::Payme => "payme",
            PaymentKind::CashOnPickup => "cash_on_pickup",
            PaymentKind::Hosted => "hosted",
        }
    }

    /// Methods the buyer pays outside plusone and staff confirm by hand.
    pub fn is_manual(self) -> bool {
        !matches!(self, PaymentKind::Hosted)
    }

    /// Whether a receipt upload makes sense.
    pub fn takes_receipt(self) -> bool {
        matches!(
            self,
            PaymentKind::BankTransfer | PaymentKind::Fps | PaymentKind::Payme
        )
    }
}

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
    if !checkout.delivery && checkout.pickup_stores.is_empty() {
        return Err(invalid(
            "checkout.delivery",
            "delivery is off and checkout.pickup_stores is empty, so a buyer could not receive anything",
        ));
    }
    if checkout.points_per_unit < 0 {
        return Err(invalid(
            "checkout.points_per_unit",
            "it must not be negative",
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
    if checkout.payment_methods.is_empty() {
        return Err(invalid(
            "checkout.payment_methods",
            "name at least one method",
        ));
    }
    let hosted = checkout
        .payment_methods
        .iter()
        .any(|m| m.kind == PaymentKind::Hosted);
    if hosted && payments.provider == ProviderKind::None {
        return Err(invalid(
            "checkout.payment_methods",
            "the `hosted` method needs payments.provider = \"hosted\"",
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
