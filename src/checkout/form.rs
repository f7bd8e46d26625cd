//! The checkout form: what the buyer typed, checked field by field so each message can
//! sit next to its field. Pure: no IO.

use std::collections::{BTreeMap, HashMap};

use super::config::{CheckoutConfig, PaymentKind};
use crate::members::{Email, Phone};

/// A field's problem, as a key into the page's texts (`err_required`, `err_phone`…).
pub type FieldErrors = BTreeMap<&'static str, &'static str>;

/// A valid confirmation. `Debug` leaves out the name and address (personal data).
#[derive(Clone, PartialEq, Eq)]
pub struct Contact {
    pub name: String,
    pub phone: Phone,
    pub email: Option<Email>,
    pub fulfilment: Fulfilment,
    pub payment: PaymentKind,
}

#[derive(Clone, PartialEq, Eq)]
pub enum Fulfilment {
    Delivery { address: String },
    Pickup { store: String },
}

impl std::fmt::Debug for Contact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contact")
            .field("fulfilment", &self.fulfilment)
            .field("payment", &self.payment)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Fulfilment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fulfilment::Delivery { .. } => f.write_str("Delivery(<address redacted>)"),
            Fulfilment::Pickup { store } => write!(f, "Pickup({store})"),
        }
    }
}

impl Fulfilment {
    pub fn kind(&self) -> &'static str {
        match self {
            Fulfilment::Delivery { .. } => "delivery",
            Fulfilment::Pickup { .. } => "pickup",
        }
    }
}

const MAX_TEXT: usize = 200;

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(|v| v.trim()).unwrap_or("")
}

/// Checks the form against the shop's settings.
pub fn validate(
    form: &HashMap<String, String>,
    config: &CheckoutConfig,
) -> Result<Contact, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = field(form, "name");
    if name.is_empty() {
        errors.insert("name", "err_required");
    } else if name.chars().count() > MAX_TEXT {
        errors.insert("name", "err_too_long");
    }
    let phone = Phone::parse(field(form, "phone")).ok();
    if field(form, "phone").is_empty() {
        errors.insert("phone", "err_required");
    } else if phone.is_none() {
        errors.insert("phone", "err_phone");
    }
    let email = match field(form, "email") {
        "" => None,
        raw => {
            let email = Email::parse(raw).ok();
            if email.is_none() {
                errors.insert("email", "err_email");
            }
            email
        }
    };
    let fulfilment = match field(form, "fulfilment") {
        "delivery" if config.delivery => {
            let address = field(form, "address");
            if address.is_empty() {
                errors.insert("address", "err_required");
            } else if address.chars().count() > MAX_TEXT * 2 {
                errors.insert("address", "err_too_long");
            }
            Some(Fulfilment::Delivery {
                address: address.to_string(),
            })
        }
        "pickup" if !config.pickup_stores.is_empty() => {
            let store = field(form, "pickup_store");
            if !config.pickup_stores.iter().any(|s| s == store) {
                errors.insert("pickup_store", "err_choice");
            }
            Some(Fulfilment::Pickup {
                store: store.to_string(),
            })
        }
        _ => {
            errors.insert("fulfilment", "err_choice");
            None
        }
    };
    let payment = config
        .payment_methods
        .iter()
        .map(|m| m.kind)
        .find(|k| k.as_str() == field(form, "payment_method"));
    match payment {
        None => {
            errors.insert("payment_method", "err_choice");
        }
        Some(PaymentKind::CashOnPickup)
            if !matches!(fulfilment, Some(Fulfilment::Pickup { .. })) =>
        {
            errors.insert("payment_method", "err_choice");
        }
        Some(_) => {}
    }
    match (errors.is_empty(), phone, fulfilment, payment) {
        (true, Some(phone), Some(fulfilment), Some(payment)) => Ok(Contact {
            name: name.to_string(),
            phone,
            email,
            fulfilment,
            payment,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkout::config::PaymentMethodConfig;

    fn shop() -> CheckoutConfig {
        CheckoutConfig {
            language: "zh-HK".into(),
            payment_deadline_minutes: 60,
            link_ttl_hours: 24,
            delivery: true,
            pickup_stores: vec!["旺角店".into()],
            points_per_unit: 1,
            points_value: 1,
            max_points_share: 50,
            receipt_max_bytes: 1 << 20,
            max_receipts_per_order: 10,
            unknown_token_per_minute: 10,
            payment_methods: vec![
                PaymentMethodConfig {
                    kind: PaymentKind::Fps,
                    instructions: String::new(),
                },
                PaymentMethodConfig {
                    kind: PaymentKind::CashOnPickup,
                    instructions: String::new(),
                },
            ],
        }
    }

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_complete_form_is_accepted_and_tidied() {
        let contact = validate(
            &form(&[
                ("name", " 陳大文 "),
                ("phone", "9123 4567"),
                ("email", "Tai.Man@Example.com"),
                ("fulfilment", "pickup"),
                ("pickup_store", "旺角店"),
                ("payment_method", "cash_on_pickup"),
            ]),
            &shop(),
        )
        .unwrap();
        assert_eq!(contact.name, "陳大文");
        assert_eq!(contact.phone.as_str(), "+85291234567");
        assert_eq!(
            contact.email.as_ref().unwrap().as_str(),
            "tai.man@example.com"
        );
        let debug = format!("{contact:?}");
        assert!(
            !debug.contains("陳大文") && !debug.contains("9123") && !debug.contains("example"),
            "no personal data in Debug: {debug}"
        );
        assert_eq!(
            contact.fulfilment,
            Fulfilment::Pickup {
                store: "旺角店".into()
            }
        );
    }

    #[test]
    fn each_bad_field_gets_its_own_message() {
        let errors = validate(
            &form(&[
                ("phone", "12ab"),
                ("email", "nope"),
                ("fulfilment", "delivery"),
                ("payment_method", "cash_on_pickup"),
            ]),
            &shop(),
        )
        .unwrap_err();
        assert_eq!(errors.get("name"), Some(&"err_required"));
        assert_eq!(errors.get("phone"), Some(&"err_phone"));
        assert_eq!(errors.get("email"), Some(&"err_email"));
        assert_eq!(errors.get("address"), Some(&"err_required"));
        // Cash is only taken at the counter.
        assert_eq!(errors.get("payment_method"), Some(&"err_choice"));
    }

    #[test]
    fn unknown_stores_and_methods_are_refused() {
        let errors = validate(
            &form(&[
                ("name", "A"),
                ("phone", "+852 9123 4567"),
                ("fulfilment", "pickup"),
                ("pickup_store", "nowhere"),
                ("payment_method", "bitcoin"),
            ]),
            &shop(),
        )
        .unwrap_err();
        assert_eq!(errors.get("pickup_store"), Some(&"err_choice"));
        assert_eq!(errors.get("payment_method"), Some(&"err_choice"));
        assert!(!errors.contains_key("phone"));
    }
}
