//! The words the rooms and the database share. Each enum is stored as text, and served in
//! the API and in stored JSON with the same strings; `as_str`, `FromStr`, serde and the
//! sqlx encoding all agree (a test checks). A leaf: it uses nothing in the crate, so the
//! store and every room may depend on it.
//!
//! The hold status is the ledger's own `ledger::HoldStatus`; the rooms re-export
//! the rest where they are at home (`pipeline::OutcomeKind`, `checkout::OrderStatus`,
//! `outbox::ReplyKind`…).

use std::fmt;

/// A stored value this binary does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a known {what}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}

/// An enum whose variants are stored as the given strings, with every conversion.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident as $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        // By hand: the derive does not see the variants' `rename` through this macro.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .description(Some(concat!("A ", $what, ", as stored.")))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl std::str::FromStr for $name {
            type Err = UnknownValue;

            fn from_str(text: &str) -> Result<$name, UnknownValue> {
                $name::parse(text).ok_or_else(|| UnknownValue {
                    what: $what,
                    value: text.to_string(),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as sqlx::Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            &'q str: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<$name, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(text.parse::<$name>()?)
            }
        }
    };
}

text_enum! {
    /// Why an online payment needs staff (`payment_issues.kind`).
    pub enum PaymentIssueKind as "payment issue" {
        /// The provider names a session no order opened.
        Unmatched = "unmatched",
        /// The paid amount or currency is not the order's.
        AmountMismatch = "amount_mismatch",
        /// The order had expired or been cancelled when the payment came.
        AfterClose = "after_close",
        /// Another session of an order that was already paid.
        PaidTwice = "paid_twice",
    }
}

text_enum! {
    /// The one outcome every inbox event ends with (`inbox.outcome`).
    pub enum OutcomeKind as "outcome" {
        Reserved = "reserved",
        Waitlisted = "waitlisted",
        Rejected = "rejected",
        NeedsReview = "needs_review",
        QuestionAnswered = "question_answered",
        Cancelled = "cancelled",
        Ignored = "ignored",
    }
}

text_enum! {
    /// Where an order stands (`orders.status`).
    pub enum OrderStatus as "order status" {
        PendingPayment = "pending_payment",
        Paid = "paid",
        Fulfilled = "fulfilled",
        Cancelled = "cancelled",
        Expired = "expired",
    }
}

text_enum! {
    /// How a reply goes out (`outbox.kind`); also the key of a per-Page budget.
    pub enum ReplyKind as "reply kind" {
        /// A comment under the buyer's comment, seen by everyone.
        PublicReply = "public_reply",
        /// A private reply to a comment: one per comment, within 7 days.
        PrivateReply = "private_reply",
        /// A message to a PSID inside the 24-hour window.
        SendApi = "send_api",
        /// A Telegram `sendMessage`; only a budget key (a chat), never an outbox kind.
        Telegram = "telegram",
        /// Nothing is sent: a notice recorded as `skipped` because no channel was open.
        NoChannel = "none",
    }
}

text_enum! {
    /// What a reply says (`outbox.topic`): the outcome it announces, or what planning or
    /// a notice made of it.
    pub enum Topic as "reply topic" {
        Reserved = "reserved",
        Waitlisted = "waitlisted",
        Rejected = "rejected",
        NeedsReview = "needs_review",
        QuestionAnswered = "question_answered",
        Cancelled = "cancelled",
        Ignored = "ignored",
        /// The first reservation of a cart: the reply with its checkout link.
        Checkout = "checkout",
        /// A later order in a cart whose link went out already.
        Merged = "merged",
        /// A waitlist place became a hold.
        Promoted = "promoted",
        /// Holds about to run out.
        Expiring = "expiring",
        /// Holds the sweeper released.
        Expired = "expired",
        /// An order was paid.
        Paid = "paid",
        /// Staff lowered or removed a line of an unpaid order.
        OrderChanged = "order_changed",
        /// An order was handed over or shipped.
        Fulfilled = "fulfilled",
        /// A one-time code a buyer asked for to prove this member is theirs too.
        IdentityCode = "identity_code",
        /// A Telegram buyer started the bot with nothing held: a welcome.
        Started = "started",
        /// A `/start` with a deep link made for another Telegram user.
        StartRefused = "start_refused",
        /// A comment sent to review, posted to the staff chat with decision buttons.
        StaffReview = "staff_review",
        /// A `/link` that bound a Telegram user to a console user.
        StaffLinked = "staff_linked",
        /// A `/link` with a wrong, used or expired code.
        StaffLinkRefused = "staff_link_refused",
        /// An alert to the staff chat: a SKU sold out in a live.
        StaffSoldOut = "staff_sold_out",
        /// Staff chat: a SKU's available units fell to `telegram.low_stock_threshold`.
        StaffLowStock = "staff_low_stock",
        /// Staff chat: a payment needs attention (a `payment_issues` row was opened).
        StaffPayment = "staff_payment",
        /// The answer to `/board` in the staff chat: the current live's numbers.
        StaffBoard = "staff_board",
    }
}

text_enum! {
    /// Where an outbox row stands (`outbox.status`).
    pub enum OutboxStatus as "outbox status" {
        Pending = "pending",
        Sending = "sending",
        Sent = "sent",
        Failed = "failed",
        Dead = "dead",
        Skipped = "skipped",
    }
}

text_enum! {
    /// What a shop's own word names (`shop_synonyms.kind`): a colour or a size of the
    /// catalogue, or a counter that makes the number before it a qty.
    pub enum SynonymKind as "synonym kind" {
        Colour = "colour",
        Size = "size",
        Counter = "counter",
    }
}

text_enum! {
    /// How a buyer pays at checkout (`orders.payment_method`, `shop_payment_methods.kind`,
    /// `checkout.payment_methods[].kind`).
    pub enum PaymentKind as "payment method" {
        BankTransfer = "bank_transfer",
        Fps = "fps",
        Payme = "payme",
        CashOnPickup = "cash_on_pickup",
        /// The hosted checkout of `[payments]`.
        Hosted = "hosted",
    }
}

impl PaymentKind {
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

impl From<OutcomeKind> for Topic {
    fn from(outcome: OutcomeKind) -> Topic {
        match outcome {
            OutcomeKind::Reserved => Topic::Reserved,
            OutcomeKind::Waitlisted => Topic::Waitlisted,
            OutcomeKind::Rejected => Topic::Rejected,
            OutcomeKind::NeedsReview => Topic::NeedsReview,
            OutcomeKind::QuestionAnswered => Topic::QuestionAnswered,
            OutcomeKind::Cancelled => Topic::Cancelled,
            OutcomeKind::Ignored => Topic::Ignored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agree<T>(all: &[T])
    where
        T: Copy + PartialEq + fmt::Debug + fmt::Display + serde::Serialize,
        T: serde::de::DeserializeOwned + std::str::FromStr<Err = UnknownValue>,
    {
        for value in all {
            let text = value.to_string();
            assert_eq!(serde_json::to_value(value).unwrap(), text.as_str());
            assert_eq!(
                serde_json::from_value::<T>(serde_json::json!(text)).unwrap(),
                *value
            );
            assert_eq!(text.parse::<T>().unwrap(), *value);
        }
        assert!(
            "Reserved".parse::<T>().is_err(),
            "values are case-sensitive"
        );
    }

    #[test]
    fn every_spelling_agrees_with_the_stored_text() {
        agree(OutcomeKind::ALL);
        agree(OrderStatus::ALL);
        agree(ReplyKind::ALL);
        agree(Topic::ALL);
        agree(OutboxStatus::ALL);
        agree(PaymentIssueKind::ALL);
        agree(SynonymKind::ALL);
        agree(PaymentKind::ALL);
    }

    #[test]
    fn the_strings_are_the_ones_stored_before_the_enums() {
        let outcomes: Vec<&str> = OutcomeKind::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(
            outcomes,
            [
                "reserved",
                "waitlisted",
                "rejected",
                "needs_review",
                "question_answered",
                "cancelled",
                "ignored"
            ]
        );
        for outcome in OutcomeKind::ALL {
            assert_eq!(Topic::from(*outcome).as_str(), outcome.as_str());
        }
        assert_eq!(OrderStatus::PendingPayment.as_str(), "pending_payment");
        assert_eq!(ReplyKind::NoChannel.as_str(), "none");
        let err = "sideways".parse::<OrderStatus>().unwrap_err();
        assert_eq!(err.to_string(), "`sideways` is not a known order status");
    }
}
