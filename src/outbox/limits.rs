//! Our own budget per Page, kept below Meta's so that we are refused by ourselves (and
//! the row waits) rather than by Meta (and the page gets flagged).
//!
//! Each quota is a GCRA with a small burst: at most `burst + rate × window` calls fit in
//! any window, so the pair is chosen to stay within the platform's figure for a whole
//! window, not only on average.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use super::senders::ReplyKind;

type Limiter<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;
type Limiters<C> = HashMap<(String, ReplyKind), Arc<Limiter<C>>>;

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("quota figures are not zero")
}

/// The budget per Page for one kind of reply.
///
/// - Private replies: Meta allows about 750 an hour per Page. 50 at once, then one every
///   5.14 s (700 an hour): at most 750 in any hour.
/// - Send API: 300 calls a second per Page. 50 at once, then 250 a second.
/// - Public comment replies: Meta publishes no figure; pages that comment fast get
///   flagged as spam, so we keep to 10 at once, then one every 2 s (30 a minute).
pub fn quota(kind: ReplyKind) -> Quota {
    match kind {
        ReplyKind::PrivateReply => Quota::with_period(Duration::from_secs(3600) / 700)
            .expect("period is not zero")
            .allow_burst(nonzero(50)),
        // `NoChannel` rows are refused by the dispatcher before any budget is asked.
        ReplyKind::SendApi | ReplyKind::NoChannel => {
            Quota::per_second(nonzero(250)).allow_burst(nonzero(50))
        }
        ReplyKind::PublicReply => Quota::with_period(Duration::from_secs(2))
            .expect("period is not zero")
            .allow_burst(nonzero(10)),
        // Telegram allows about 20 messages a minute in a group (1 a second in a private
        // chat): 3 at once, then one every 3 s, keyed by chat.
        ReplyKind::Telegram => Quota::with_period(Duration::from_secs(3))
            .expect("period is not zero")
            .allow_burst(nonzero(3)),
    }
}

/// One limiter per (Page, kind), made on first use.
pub struct PageLimits<C: Clock = DefaultClock> {
    clock: C,
    limiters: Mutex<Limiters<C>>,
}

impl PageLimits<DefaultClock> {
    pub fn new() -> Self {
        PageLimits::with_clock(DefaultClock::default())
    }
}

impl Default for PageLimits<DefaultClock> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Clock + Clone> PageLimits<C> {
    /// Limits on a clock of the caller's choosing (tests use governor's fake clock).
    pub fn with_clock(clock: C) -> Self {
        PageLimits {
            clock,
            limiters: Mutex::new(HashMap::new()),
        }
    }

    /// Spends one call of the Page's budget, or says how long until one is free.
    pub fn check(&self, page: &str, kind: ReplyKind) -> Result<(), Duration> {
        let limiter = {
            let mut limiters = self.limiters.lock().expect("limiter map is not poisoned");
            Arc::clone(limiters.entry((page.to_string(), kind)).or_insert_with(|| {
                Arc::new(RateLimiter::direct_with_clock(
                    quota(kind),
                    self.clock.clone(),
                ))
            }))
        };
        limiter
            .check()
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    /// Calls that pass in `window`, trying every `step` on the fake clock.
    fn passed_in(kind: ReplyKind, window: Duration, step: Duration) -> usize {
        let clock = FakeRelativeClock::default();
        let limits = PageLimits::with_clock(clock.clone());
        let mut passed = 0;
        let mut elapsed = Duration::ZERO;
        while elapsed < window {
            while limits.check("page-1", kind).is_ok() {
                passed += 1;
            }
            clock.advance(step);
            elapsed += step;
        }
        passed
    }

    #[test]
    fn private_replies_stay_within_750_in_any_hour() {
        let passed = passed_in(
            ReplyKind::PrivateReply,
            Duration::from_secs(3600),
            Duration::from_millis(500),
        );
        assert!((740..=750).contains(&passed), "{passed}");
    }

    #[test]
    fn the_send_api_stays_within_300_a_second() {
        let passed = passed_in(
            ReplyKind::SendApi,
            Duration::from_secs(1),
            Duration::from_millis(1),
        );
        assert!((290..=300).contains(&passed), "{passed}");
    }

    #[test]
    fn comment_replies_keep_to_thirty_a_minute_after_a_small_burst() {
        let passed = passed_in(
            ReplyKind::PublicReply,
            Duration::from_secs(60),
            Duration::from_millis(100),
        );
        assert!((38..=40).contains(&passed), "{passed}");
    }

    #[test]
    fn a_telegram_group_gets_at_most_twenty_three_a_minute() {
        let passed = passed_in(
            ReplyKind::Telegram,
            Duration::from_secs(60),
            Duration::from_millis(100),
        );
        assert!((22..=23).contains(&passed), "{passed}");
    }

    #[test]
    fn a_burst_is_refused_with_the_wait_and_pages_do_not_share_a_budget() {
        let clock = FakeRelativeClock::default();
        let limits = PageLimits::with_clock(clock.clone());
        for _ in 0..50 {
            limits.check("p1", ReplyKind::PrivateReply).unwrap();
        }
        let wait = limits.check("p1", ReplyKind::PrivateReply).unwrap_err();
        assert!(
            wait > Duration::from_secs(5) && wait < Duration::from_millis(5200),
            "{wait:?}"
        );
        assert!(limits.check("p2", ReplyKind::PrivateReply).is_ok());
        assert!(limits.check("p1", ReplyKind::SendApi).is_ok());
        clock.advance(wait);
        assert!(limits.check("p1", ReplyKind::PrivateReply).is_ok());
    }
}
