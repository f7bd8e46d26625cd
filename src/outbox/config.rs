//! The dispatcher's and the notices' settings: `[outbox]` in the config.

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::settings::{invalid, ConfigError};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxConfig {
    pub batch_size: i64,
    pub tick_ms: u64,
    pub lease_ms: i64,
    /// Attempts before a reply goes to the dead letters, whatever the window says (the
    /// default is high enough for the window to decide).
    pub max_attempts: i64,
    pub retry_base_ms: i64,
    pub retry_max_ms: i64,
    /// How long a failing reply is retried, from its creation or its last re-drive,
    /// before it goes to the dead letters. Meta redelivers webhooks for 36 hours; a
    /// reply should outlast an outage of a day.
    #[serde(default = "default_retry_for_hours")]
    pub retry_for_hours: i64,
    pub request_timeout_ms: u64,
    pub language: String,
    /// Tell a buyer whose comment went to review that the shop will confirm shortly.
    #[serde(default)]
    pub review_notice: bool,
    /// Remind a buyer this many minutes before their hold runs out (0: never).
    #[serde(default = "default_expiring_notice_minutes")]
    pub expiring_notice_minutes: i64,
    /// How often promotions, expiring and expired holds are looked for.
    #[serde(default = "default_reminder_interval_ms")]
    pub reminder_interval_ms: u64,
}

impl OutboxConfig {
    /// When a failing reply stops being retried.
    pub fn retry_limits(&self) -> crate::store::RetryLimits {
        crate::store::RetryLimits {
            max_attempts: self.max_attempts,
            window_ms: self.retry_for_hours.saturating_mul(3_600_000),
        }
    }

    /// The language replies are written in (validated at start).
    pub fn lang(&self) -> Lang {
        Lang::parse(&self.language).unwrap_or(Lang::ZhHk)
    }
}

fn default_retry_for_hours() -> i64 {
    24
}

fn default_expiring_notice_minutes() -> i64 {
    10
}

fn default_reminder_interval_ms() -> u64 {
    15_000
}

pub fn validate(outbox: &OutboxConfig) -> Result<(), ConfigError> {
    if !(1..=1_000).contains(&outbox.batch_size) {
        return Err(invalid("outbox.batch_size", "it must be 1 to 1000"));
    }
    if outbox.tick_ms == 0 {
        return Err(invalid("outbox.tick_ms", "it must be at least 1"));
    }
    if outbox.request_timeout_ms < 100 {
        return Err(invalid(
            "outbox.request_timeout_ms",
            "it must be at least 100",
        ));
    }
    // A batch's sends must end well inside the lease, or another replica resends them.
    if outbox.lease_ms < 2 * outbox.request_timeout_ms as i64 {
        return Err(invalid(
            "outbox.lease_ms",
            "it must be at least twice outbox.request_timeout_ms",
        ));
    }
    if outbox.max_attempts < 1 {
        return Err(invalid("outbox.max_attempts", "it must be at least 1"));
    }
    if outbox.retry_base_ms < 1 || outbox.retry_max_ms < outbox.retry_base_ms {
        return Err(invalid(
            "outbox.retry_base_ms",
            "it must be at least 1 and at most outbox.retry_max_ms",
        ));
    }
    if !(24..=720).contains(&outbox.retry_for_hours) {
        return Err(invalid(
            "outbox.retry_for_hours",
            "it must be 24 to 720 (replies outlast a day-long outage)",
        ));
    }
    if Lang::parse(&outbox.language).is_none() {
        return Err(invalid(
            "outbox.language",
            "it must be `zh-HK`, `zh-TW` or `en`",
        ));
    }
    if outbox.expiring_notice_minutes < 0 {
        return Err(invalid(
            "outbox.expiring_notice_minutes",
            "it must be 0 (off) or more",
        ));
    }
    if outbox.reminder_interval_ms == 0 {
        return Err(invalid(
            "outbox.reminder_interval_ms",
            "it must be at least 1",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox() -> OutboxConfig {
        crate::config::Config::defaults().outbox
    }

    #[test]
    fn the_defaults_retry_for_a_day_at_least() {
        let config = outbox();
        validate(&config).unwrap();
        assert!(config.retry_for_hours >= 24);
        let limits = config.retry_limits();
        assert_eq!(limits.window_ms, config.retry_for_hours * 3_600_000);
        // Even with every wait at its shortest, the attempts outlast the window.
        let mut spent = 0i64;
        for attempt in 1..limits.max_attempts {
            spent += crate::outbox::dispatcher::backoff_ms(
                attempt,
                config.retry_base_ms,
                config.retry_max_ms,
                0,
            );
        }
        assert!(spent >= limits.window_ms, "{spent} ms < the window");
    }

    #[test]
    fn a_window_shorter_than_a_day_is_refused_by_name() {
        let mut config = outbox();
        config.retry_for_hours = 2;
        let err = validate(&config).unwrap_err().to_string();
        assert!(err.contains("outbox.retry_for_hours"), "{err}");
    }
}
