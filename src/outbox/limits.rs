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

use governor::clock::{Clock, DefaultClock, Reference};
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
        // Telegram's per-chat figures are in [`telegram_quota`]; this is a group's.
        ReplyKind::Telegram => telegram_quota(TelegramScope::Group),
    }
}

/// Which of Telegram's limits a send counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TelegramScope {
    /// 20 messages a minute in one group: one at once, then one every 3.2 s, so at most
    /// 19 in any minute.
    Group,
    /// About one message a second in one private chat.
    Private,
    /// 30 messages a second over the whole bot: 5 at once, then 25 a second.
    Bot,
}

pub fn telegram_quota(scope: TelegramScope) -> Quota {
    match scope {
        TelegramScope::Group => Quota::with_period(Duration::from_millis(3_200))
            .expect("period is not zero")
            .allow_burst(nonzero(1)),
        TelegramScope::Private => Quota::with_period(Duration::from_secs(1))
            .expect("period is not zero")
            .allow_burst(nonzero(1)),
        TelegramScope::Bot => Quota::per_second(nonzero(25)).allow_burst(nonzero(5)),
    }
}

/// Meta's private replies per Page in an hour; [`quota`] keeps within it over any hour.
pub const PRIVATE_REPLIES_PER_HOUR: i64 = 750;

/// What is left of a Page's hour of private replies after `sent_last_hour` went out in
/// the last 60 minutes (counted from the outbox, so every replica's sends count).
pub fn private_replies_left(sent_last_hour: i64) -> i64 {
    (PRIVATE_REPLIES_PER_HOUR - sent_last_hour.max(0)).max(0)
}

/// One limiter per (Page, kind), made on first use.
pub struct PageLimits<C: Clock = DefaultClock> {
    clock: C,
    limiters: Mutex<Limiters<C>>,
    /// When the whole Telegram bot's budget has room again, once it was found full.
    bot_full_until: Mutex<Option<C::Instant>>,
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
            bot_full_until: Mutex::new(None),
        }
    }

    /// Spends one call of the Page's budget, or says how long until one is free.
    pub fn check(&self, page: &str, kind: ReplyKind) -> Result<(), Duration> {
        self.spend(page.to_string(), kind, || quota(kind))
    }

    /// Spends one Telegram message to `chat`: the chat's budget (a group's or a private
    /// chat's), then the whole bot's, or says how long until both have room. A chat that
    /// has room but meets a full bot budget loses its turn, which only slows that chat;
    /// the bot's budget is spent only by messages that go.
    pub fn check_telegram(&self, chat: &str, group: bool) -> Result<(), Duration> {
        // While the bot's budget is known to be full, no chat spends its turn on it.
        let now = self.clock.now();
        if let Some(until) = *self.bot_full_until.lock().expect("not poisoned") {
            if until > now {
                return Err(until.duration_since(now).into());
            }
        }
        let scope = if group {
            TelegramScope::Group
        } else {
            TelegramScope::Private
        };
        self.spend(format!("telegram:{chat}"), ReplyKind::Telegram, || {
            telegram_quota(scope)
        })?;
        self.spend("telegram:bot".into(), ReplyKind::Telegram, || {
            telegram_quota(TelegramScope::Bot)
        })
        .inspect_err(|wait| {
            let until = now + governor::nanos::Nanos::from(*wait);
            *self.bot_full_until.lock().expect("not poisoned") = Some(until);
        })
    }

    fn spend(
        &self,
        key: String,
        kind: ReplyKind,
        quota: impl FnOnce() -> Quota,
    ) -> Result<(), Duration> {
        let limiter = {
            let mut limiters = self.limiters.lock().expect("limiter map is not poisoned");
            Arc::clone(limiters.entry((key, kind)).or_insert_with(|| {
                Arc::new(RateLimiter::direct_with_clock(quota(), self.clock.clone()))
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

    /// Telegram sends that pass in `window` to `chats`, trying every `step`.
    fn telegram_passed_in(chats: &[&str], group: bool, window: Duration, step: Duration) -> usize {
        let clock = FakeRelativeClock::default();
        let limits = PageLimits::with_clock(clock.clone());
        let mut passed = 0;
        let mut elapsed = Duration::ZERO;
        while elapsed < window {
            for chat in chats {
                while limits.check_telegram(chat, group).is_ok() {
                    passed += 1;
                }
            }
            clock.advance(step);
            elapsed += step;
        }
        passed
    }

    #[test]
    fn a_telegram_group_never_gets_more_than_twenty_a_minute() {
        for minutes in [1, 10] {
            let window = Duration::from_secs(60 * minutes);
            let passed = telegram_passed_in(&["-100"], true, window, Duration::from_millis(100));
            // One at once, then one every 3.2 s: 19 in the first minute, 18.75 after.
            let most = 1 + (window.as_millis() / 3_200) as usize;
            assert_eq!(passed, most, "{minutes} min");
            assert!(passed <= 20 * minutes as usize);
        }
    }

    #[test]
    fn a_private_chat_gets_one_a_second_and_the_bot_thirty() {
        let passed = telegram_passed_in(
            &["7"],
            false,
            Duration::from_secs(10),
            Duration::from_millis(10),
        );
        assert!((10..=11).contains(&passed), "{passed}");
        // Many chats at once: the whole bot stays within 30 in any second.
        let chats: Vec<String> = (1..=100).map(|n| n.to_string()).collect();
        let chats: Vec<&str> = chats.iter().map(String::as_str).collect();
        let passed = telegram_passed_in(
            &chats,
            false,
            Duration::from_secs(1),
            Duration::from_millis(10),
        );
        assert!((25..=30).contains(&passed), "{passed}");
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
