//! The members room's checked types: contact details as buyers and staff type them,
//! normalised so that the same person's phone or email always compares equal.
//!
//! Neither type prints its value through `Debug`: phones and emails are personal data
//! and must not reach the logs.

use std::fmt;

pub mod proof;

/// A phone number in `+<country><number>` form.
///
/// The rule is deliberately simple:
/// - spaces, dashes, dots and parentheses are dropped;
/// - a leading `00` becomes `+`;
/// - eight bare digits are a Hong Kong number and get `+852`;
/// - anything else must carry its country code: `+` then 8 to 15 digits in all.
///
/// So `9123 4567`, `+852 9123-4567` and `0085291234567` are the same member.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Phone, &'static str> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{3000}'))
            .collect();
        let (plus, digits) = match compact.strip_prefix('+') {
            Some(rest) => (true, rest.to_string()),
            None => match compact.strip_prefix("00") {
                Some(rest) => (true, rest.to_string()),
                None => (false, compact),
            },
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err("a phone number has only digits, spaces, dashes and a leading +");
        }
        if !plus {
            return if digits.len() == 8 {
                Ok(Phone(format!("+852{digits}")))
            } else {
                Err("give the country code (such as +852 or +886) unless it is an 8-digit Hong Kong number")
            };
        }
        if !(8..=15).contains(&digits.len()) {
            return Err("a phone number with its country code has 8 to 15 digits");
        }
        Ok(Phone(format!("+{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Phone(<redacted>)")
    }
}

/// An email address, trimmed and lowercased. Only the shape is checked: one `@`, a
/// non-empty local part and a dotted domain, no spaces.
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, &'static str> {
        let email = raw.trim().to_lowercase();
        if email.len() > 254 || email.chars().any(char::is_whitespace) {
            return Err("an email address has no spaces and at most 254 characters");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err("an email address needs an @");
        };
        let dotted = domain
            .split('.')
            .all(|part| !part.is_empty() && !part.contains('@'));
        if local.is_empty() || !domain.contains('.') || !dotted {
            return Err("an email address looks like name@example.com");
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

/// How points are earned and spent, one rule for checkout and the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointsPolicy {
    /// Points earned per whole currency unit paid (100 minor units).
    pub per_unit: i64,
    /// Minor units one point pays.
    pub value: i64,
    /// The highest share of an order, in percent (0 to 100), that points may pay.
    pub max_share_percent: i64,
}

/// Why points cannot pay for this much.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum PointsRefusal {
    /// More points than the member has.
    OverBalance { balance: i64 },
    /// Points would pay more than `max_share_percent` of the total; `max_points` is the
    /// most this total allows.
    OverShare {
        max_points: i64,
        max_share_percent: i64,
    },
    /// Points need a member.
    NoMember,
}

impl PointsPolicy {
    /// Points a paid total (minor units) earns.
    pub fn earned(&self, total_minor: i64) -> i64 {
        total_minor / 100 * self.per_unit
    }

    /// The most points that may pay for `total_minor`, whatever the balance.
    pub fn max_points_for(&self, total_minor: i64) -> i64 {
        if self.value <= 0 {
            return 0;
        }
        let share = total_minor.saturating_mul(self.max_share_percent) / 100;
        share / self.value
    }

    /// The most points a member with `balance` may spend on `total_minor`.
    pub fn max_spend(&self, total_minor: i64, balance: i64) -> i64 {
        self.max_points_for(total_minor).min(balance).max(0)
    }

    /// What spending `points` takes off `total_minor` (minor units), or why it may not.
    pub fn discount(
        &self,
        points: i64,
        total_minor: i64,
        balance: i64,
    ) -> Result<i64, PointsRefusal> {
        if points > balance {
            return Err(PointsRefusal::OverBalance {
                balance: balance.max(0),
            });
        }
        let max_points = self.max_points_for(total_minor);
        if points > max_points {
            return Err(PointsRefusal::OverShare {
                max_points,
                max_share_percent: self.max_share_percent,
            });
        }
        Ok(points.saturating_mul(self.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hong_kong_numbers_are_the_same_however_written() {
        let want = Phone::parse("+85291234567").unwrap();
        for raw in [
            "9123 4567",
            "9123-4567",
            "+852 9123 4567",
            "00852 9123 4567",
            "(+852) 9123.4567",
        ] {
            assert_eq!(Phone::parse(raw).unwrap(), want, "{raw}");
        }
        assert_eq!(want.as_str(), "+85291234567");
    }

    #[test]
    fn other_countries_need_their_code_and_junk_is_refused() {
        assert_eq!(
            Phone::parse("+886 912-345-678").unwrap().as_str(),
            "+886912345678"
        );
        assert!(Phone::parse("0912345678").is_err());
        assert!(Phone::parse("1234567").is_err());
        assert!(Phone::parse("+1234").is_err());
        assert!(Phone::parse("9123 456x").is_err());
        assert!(Phone::parse("").is_err());
        assert!(Phone::parse("+").is_err());
    }

    #[test]
    fn emails_are_lowercased_and_shape_checked() {
        assert_eq!(
            Email::parse("  Ann.Lee@Example.COM ").unwrap().as_str(),
            "ann.lee@example.com"
        );
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@example",
            "ann@@example.com",
            "ann lee@example.com",
            "ann@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_the_value() {
        let phone = Phone::parse("91234567").unwrap();
        let email = Email::parse("ann@example.com").unwrap();
        let shown = format!("{phone:?} {email:?}");
        assert!(!shown.contains("9123") && !shown.contains("ann"), "{shown}");
    }

    #[test]
    fn points_pay_up_to_the_balance_and_the_share() {
        let policy = super::PointsPolicy {
            per_unit: 1,
            value: 10,
            max_share_percent: 50,
        };
        // HK$100.00: half is 5000 minor units, 500 points at 10 each.
        assert_eq!(policy.max_points_for(10_000), 500);
        assert_eq!(policy.discount(500, 10_000, 800), Ok(5_000));
        assert_eq!(
            policy.discount(501, 10_000, 800),
            Err(super::PointsRefusal::OverShare {
                max_points: 500,
                max_share_percent: 50
            })
        );
        assert_eq!(
            policy.discount(300, 10_000, 200),
            Err(super::PointsRefusal::OverBalance { balance: 200 })
        );
        assert_eq!(policy.max_spend(10_000, 200), 200);
        assert_eq!(policy.max_spend(10_000, -5), 0);
        assert_eq!(policy.earned(12_345), 123);
        let off = super::PointsPolicy {
            max_share_percent: 0,
            ..policy
        };
        assert_eq!(off.max_points_for(10_000), 0);
    }
}
