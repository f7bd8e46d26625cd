//! The sequencer: decides each live session's comments in fair order, a batch per
//! transaction. One replica at a time owns a session (a lease row with an expiry).
//!
//! In one transaction per batch it parses each comment, resolves its author to a member,
//! applies the ledger batch, records one outcome per event and writes the outbox rows for
//! the replies. The batch's orders, cancels and removals are one ordered ledger batch, so
//! a cancel frees units before a later comment asks for them.
//!
//! Sessions are isolated from each other: [`Sequencer::run`] is a supervisor that starts
//! one task per session with due work, so a storm on one live does not delay another's
//! comments, and an error in one session is retried (with a growing pause) in that
//! session's task alone. A batch that keeps failing is split down to single events, and
//! an event that keeps failing alone is recorded as `needs_review` / `processing_failed`
//! so its session moves on. Every batch transaction first renews the lease and checks it
//! still holds it (fencing): a replica whose lease was taken over commits nothing.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Notify, OwnedMutexGuard};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::catalog::LiveCatalog;
use super::decide::{decide, Action, OrderLine};
use super::orders::{order_intents, order_result, EventOrder};
use super::OutcomeKind;
use super::PipelineConfig;
use crate::ledger::{Intent, Outcome};
use crate::metrics::Metrics;
use crate::outbox::{NewReply, ReplyBody, ReplyFacts, ReplyKind};
use crate::parse::{self, Limits};
use crate::store::{
    fence_live_lease_in, finish_event_in, finish_events_in, members_for_identities_in,
    next_batch_in, original_of_in, restricted_members_in, run_ledger_in, BackendKind, EventOutcome,
    Identity, LiveState, PendingEvent, Store, StoreError, StoreResult, Tx,
};

/// A test's way to make batches fail: a batch holding an event it matches returns an error
/// from [`Sequencer::process_batch`] without committing anything.
pub type Fault = Arc<dyn Fn(&PendingEvent) -> bool + Send + Sync>;

/// The pause after a session's first failure in a row; it doubles up to [`BACKOFF_MAX`].
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Sequencer {
    store: Store,
    config: PipelineConfig,
    owner: String,
    wake: Arc<Notify>,
    metrics: Option<Arc<Metrics>>,
    /// Told after each batch commits, so the live's board follows.
    board: Option<crate::board::BoardHub>,
    fault: Option<Fault>,
    /// SQLite has one writer, and its busy handler is not fair: a session committing
    /// batch after batch could keep the write lock from the others. Session tasks take
    /// their turns through this FIFO lock instead (SQLite only; Postgres sessions run in
    /// parallel).
    turn: Arc<Mutex<()>>,
    /// `telegram.staff_chat_id`: review items are posted there.
    staff_chat: Option<String>,
    /// `telegram.low_stock_threshold`: the staff chat hears when a SKU is down to this.
    low_stock: i64,
}

/// What one event came to, before it is written.
struct Decided {
    outcome: OutcomeKind,
    reason: Option<String>,
    parse: Option<String>,
    hold_ids: Vec<i64>,
    /// What the event's replies announce; none when it gets no reply.
    reply: Option<ReplyFacts>,
}

impl Decided {
    fn plain(outcome: OutcomeKind, reason: impl Into<Option<String>>) -> Decided {
        Decided {
            outcome,
            reason: reason.into(),
            parse: None,
            hold_ids: Vec::new(),
            reply: None,
        }
    }
}

/// Why a session's task stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LiveExit {
    /// Nothing more is due; the supervisor starts it again when something is.
    Idle,
    /// Another replica holds the lease.
    NotOwner,
    Shutdown,
}

/// A session task's memory of its failures.
#[derive(Default)]
struct Streak {
    /// Errors in a row of any kind; sets the pause before the next attempt.
    errors: u32,
    /// Failures in a row that were not transient (a database away, busy, a deadlock);
    /// these count towards splitting the batch and setting an event aside.
    failures: u32,
    /// While isolating, batches hold one event; `Some(n)`: n decided alone so far.
    isolating: Option<usize>,
    /// While isolating, the event at the head of the session (the one tried alone).
    suspect: Option<i64>,
    /// An event that failed alone too often, to be recorded as needs_review.
    set_aside: Option<i64>,
    /// The last error came from a batch (not from taking the lease or looking ahead).
    in_batch: bool,
}

/// Why a batch failed.
enum Failure {
    Store(StoreError),
    Panic(String),
}

impl Failure {
    fn kind(&self) -> &'static str {
        match self {
            Failure::Store(err) if is_transient(err) => "transient",
            Failure::Store(_) => "failed",
            Failure::Panic(_) => "panic",
        }
    }
}

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Store(err) => write!(f, "{err:?}"),
            Failure::Panic(msg) => write!(f, "panicked: {msg}"),
        }
    }
}

/// Errors that say nothing about the events: the database was away or busy, or it chose
/// this transaction as a deadlock or serialization victim. They are retried, but never
/// count towards setting an event aside.
fn is_transient(err: &StoreError) -> bool {
    match err {
        // Deadlocks, serialization failures and lost hold races.
        StoreError::Unavailable(_) | StoreError::Contention(_) => true,
        StoreError::Database(sqlx::Error::Database(db)) => matches!(
            db.code().as_deref(),
            // Postgres: lock not available, admin shutdown.
            Some("55P03" | "57P01")
            // SQLite: busy and locked, with their extended codes.
            | Some("5" | "6" | "261" | "262" | "517")
        ),
        StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)) => true,
        _ => false,
    }
}

fn backoff(errors: u32) -> Duration {
    let doublings = errors.saturating_sub(1).min(16);
    BACKOFF_BASE.saturating_mul(1 << doublings).min(BACKOFF_MAX)
}

impl Sequencer {
    pub fn new(store: Store, config: PipelineConfig, wake: Arc<Notify>) -> Sequencer {
        let owner = format!("{}-{:x}", std::process::id(), rand::random::<u64>());
        Sequencer {
            store,
            config,
            owner,
            wake,
            metrics: None,
            board: None,
            fault: None,
            turn: Arc::new(Mutex::new(())),
            staff_chat: None,
            low_stock: 0,
        }
    }

    /// Posts every comment sent to review to this Telegram chat (`telegram.staff_chat_id`)
    /// with decision buttons: one outbox row per comment, in the outcome's transaction.
    /// Alerts the staff chat when a SKU's available units fall to `threshold` (0: off).
    pub fn with_low_stock(mut self, threshold: i64) -> Sequencer {
        self.low_stock = threshold;
        self
    }

    pub fn with_staff_chat(mut self, chat: Option<String>) -> Sequencer {
        self.staff_chat = chat.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
        self
    }

    /// The staff chat's review items for events just sent to review (none without a
    /// staff chat, and none for the sandbox's make-believe comments).
    fn staff_rows<'a>(
        &self,
        waiting: impl Iterator<Item = (&'a str, i64)>,
    ) -> Vec<crate::store::PlannedReply> {
        let Some(chat) = &self.staff_chat else {
            return Vec::new();
        };
        waiting
            .filter(|(platform, _)| *platform != crate::store::SANDBOX)
            .map(|(_, id)| crate::outbox::telegram_staff::staff_review_row(chat, id))
            .collect()
    }

    /// Counts errors, set-aside events, lost leases and running session tasks.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Sequencer {
        self.metrics = Some(metrics);
        self
    }

    /// Signals `board` after every committed batch.
    pub fn with_board(mut self, board: crate::board::BoardHub) -> Sequencer {
        self.board = Some(board);
        self
    }

    /// For tests: every batch that holds an event `fault` matches fails, as a batch with
    /// a poison event would. Only tests that build a `Sequencer` on a `Store` use it.
    pub fn with_fault(mut self, fault: Fault) -> Sequencer {
        self.fault = Some(fault);
        self
    }

    /// The name this sequencer holds leases under.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    fn metric(&self, record: impl FnOnce(&Metrics)) {
        if let Some(metrics) = &self.metrics {
            record(metrics);
        }
    }

    /// Works until `shutdown`: a supervisor that starts one task per live session with
    /// due work (woken by the inbox writer, or on each `tick_ms`). Each task works its
    /// session's batches and stops when nothing is due or its lease is gone. On shutdown
    /// every task finishes the batch it is in, and the leases are released.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(Duration::from_millis(self.config.tick_ms));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tasks: JoinSet<LiveExit> = JoinSet::new();
        // Session id of each running task, by task id.
        let mut running = std::collections::HashMap::new();
        let mut owned: HashSet<i64> = HashSet::new();
        let tick_every = Duration::from_millis(self.config.tick_ms);
        let mut last_scan: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                Some(joined) = tasks.join_next_with_id() => {
                    self.reaped(joined, &mut running);
                    continue;
                }
                _ = self.wake.notified() => {}
                _ = tick.tick() => {}
            }
            // Every webhook commit wakes the supervisor. In a storm that would be hundreds
            // of scans a second, each a query: scan at most once a tick, and while lives
            // are being worked (their own tasks follow their backlog) once every 4 ticks.
            let gap = if running.is_empty() {
                tick_every
            } else {
                tick_every * 4
            };
            if last_scan.is_some_and(|at| at.elapsed() < gap) {
                continue;
            }
            last_scan = Some(tokio::time::Instant::now());
            let now = chrono::Utc::now().timestamp_millis();
            let due = match self
                .store
                .lives_due_for(&self.owner, now, self.config.reorder_window_ms)
                .await
            {
                Ok(due) => due,
                Err(err) => {
                    tracing::warn!(error = ?err, "sequencer could not look for due sessions; will retry");
                    self.metric(|m| m.sequencer_batch_error("transient"));
                    continue;
                }
            };
            for live in due {
                if running.values().any(|&l| l == live) {
                    continue;
                }
                owned.insert(live);
                let this = self.clone();
                let stop = shutdown.clone();
                let handle = tasks.spawn(async move { this.work_live(live, &stop).await });
                running.insert(handle.id(), live);
            }
            self.metric(|m| m.sequencer_live_tasks(running.len()));
        }
        // Each task sees the cancellation after the batch it is in.
        while let Some(joined) = tasks.join_next_with_id().await {
            self.reaped(joined, &mut running);
        }
        for live in owned {
            let _ = self.store.release_live_lease(live, &self.owner).await;
        }
    }

    fn reaped(
        &self,
        joined: Result<(tokio::task::Id, LiveExit), tokio::task::JoinError>,
        running: &mut std::collections::HashMap<tokio::task::Id, i64>,
    ) {
        match joined {
            Ok((id, exit)) => {
                let live = running.remove(&id);
                tracing::trace!(?live, ?exit, "session task stopped");
            }
            Err(err) => {
                // A batch's panic is caught inside the task; this is the task's own.
                let live = running.remove(&err.id());
                tracing::error!(?live, error = ?err, "a session task stopped abnormally");
                self.metric(|m| m.sequencer_batch_error("panic"));
            }
        }
        self.metric(|m| m.sequencer_live_tasks(running.len()));
    }

    /// One session's task: batches until nothing is due, the lease is gone or shutdown.
    /// Errors are retried here after a pause that doubles each time; other sessions'
    /// tasks go on meanwhile.
    async fn work_live(&self, live: i64, shutdown: &CancellationToken) -> LiveExit {
        let mut streak = Streak::default();
        let mut leased = false;
        loop {
            if shutdown.is_cancelled() {
                return LiveExit::Shutdown;
            }
            match self.live_step(live, &mut streak, &mut leased).await {
                Ok(Some(true)) => {}
                Ok(Some(false)) => return LiveExit::Idle,
                Ok(None) => return LiveExit::NotOwner,
                Err(failure) => {
                    // Renew (or retake) the lease before the next attempt.
                    leased = false;
                    let kind = failure.kind();
                    self.metric(|m| m.sequencer_batch_error(kind));
                    streak.errors += 1;
                    if kind != "transient" && std::mem::take(&mut streak.in_batch) {
                        self.count_failure(live, &mut streak);
                    }
                    let pause = backoff(streak.errors.max(1));
                    tracing::warn!(
                        live, error = ?failure, kind, errors_in_a_row = streak.errors,
                        isolating = streak.isolating.is_some(), pause_ms = pause.as_millis() as u64,
                        "a sequencer batch failed; this session retries after a pause"
                    );
                    tokio::select! {
                        _ = shutdown.cancelled() => return LiveExit::Shutdown,
                        _ = tokio::time::sleep(pause) => {}
                    }
                }
            }
        }
    }

    /// One step of a session: `Some(true)` when more may be due at once, `Some(false)`
    /// when nothing is, `None` when another replica holds the lease.
    async fn live_step(
        &self,
        live: i64,
        streak: &mut Streak,
        leased: &mut bool,
    ) -> Result<Option<bool>, Failure> {
        if !*leased {
            if !self
                .store
                .take_live_lease(live, &self.owner, self.config.lease_ms)
                .await
                .map_err(Failure::Store)?
            {
                return Ok(None);
            }
            *leased = true;
        }
        if let Some(event) = streak.set_aside {
            let recorded = self.set_aside(live, event).await.map_err(Failure::Store)?;
            if recorded {
                tracing::error!(
                    live,
                    event,
                    failures = self.config.max_batch_failures,
                    "an event failed alone every time; recorded as needs_review/processing_failed"
                );
                self.metric(Metrics::sequencer_set_aside);
            }
            *streak = Streak::default();
            return Ok(Some(true));
        }
        let size = match streak.isolating {
            Some(_) => {
                // The head of the session is the event the next batch of one will hold.
                let head = self.head_event(live).await.map_err(Failure::Store)?;
                if head.is_none() {
                    *streak = Streak::default();
                    return Ok(Some(false));
                }
                if head != streak.suspect {
                    streak.suspect = head;
                    streak.failures = 0;
                }
                1
            }
            None => self.config.batch_size,
        };
        streak.in_batch = true;
        let decided = self.guarded_batch(live, size).await?;
        streak.in_batch = false;
        streak.errors = 0;
        streak.failures = 0;
        if decided == 0 {
            // Nothing was due after all, or the fence refused the batch.
            return match self.store.live_lease(live).await.map_err(Failure::Store)? {
                Some((owner, until))
                    if owner == self.owner && until > chrono::Utc::now().timestamp_millis() =>
                {
                    Ok(Some(false))
                }
                _ => {
                    tracing::info!(live, "lost the session's lease; stopping its sequencer");
                    self.metric(Metrics::sequencer_lease_lost);
                    Ok(None)
                }
            };
        }
        if let Some(alone) = &mut streak.isolating {
            *alone += decided;
            streak.suspect = None;
            // Past the batch that failed: back to full batches.
            if *alone >= self.config.batch_size as usize {
                streak.isolating = None;
            }
            return Ok(Some(true));
        }
        Ok(Some(decided as i64 >= size))
    }

    /// Counts a non-transient failure: after `max_batch_failures` in a row a batch is
    /// split into batches of one; after as many of the same event alone, it is set aside.
    fn count_failure(&self, live: i64, streak: &mut Streak) {
        streak.failures += 1;
        if streak.failures < self.config.max_batch_failures {
            return;
        }
        streak.failures = 0;
        streak.errors = 0;
        match (streak.isolating, streak.suspect) {
            (None, _) => {
                tracing::warn!(
                    live,
                    "a batch failed {} times in a row; trying its events one at a time",
                    self.config.max_batch_failures
                );
                streak.isolating = Some(0);
            }
            (Some(_), Some(event)) => streak.set_aside = Some(event),
            (Some(_), None) => {}
        }
    }

    /// Runs one batch of `size` in a task of its own, so a panic inside it is a failure of
    /// this session like any other (and counts towards setting an event aside).
    async fn guarded_batch(&self, live: i64, size: i64) -> Result<usize, Failure> {
        let mut this = self.clone();
        this.config.batch_size = size;
        let batch = tokio::spawn(async move {
            let _turn = this.write_turn().await;
            this.process_batch(live).await
        });
        match batch.await {
            Ok(result) => result.map_err(Failure::Store),
            Err(err) => Err(Failure::Panic(
                err.try_into_panic()
                    .ok()
                    .and_then(|p| {
                        p.downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| p.downcast_ref::<String>().cloned())
                    })
                    .unwrap_or_else(|| "cancelled".to_string()),
            )),
        }
    }

    /// The write turn on SQLite (see `turn`); nothing on Postgres.
    async fn write_turn(&self) -> Option<OwnedMutexGuard<()>> {
        match self.store.kind() {
            BackendKind::Sqlite => Some(Arc::clone(&self.turn).lock_owned().await),
            BackendKind::Postgres => None,
        }
    }

    /// The event the next batch of this session starts with, if any is due.
    async fn head_event(&self, live: i64) -> StoreResult<Option<i64>> {
        let now = chrono::Utc::now().timestamp_millis();
        let mut tx = self.store.begin_read().await?;
        let head = next_batch_in(&mut tx, live, now, self.config.reorder_window_ms, 1).await?;
        drop(tx);
        Ok(head.first().map(|e| e.id))
    }

    /// Records `event` as needs_review / processing_failed in a transaction of its own,
    /// if it is still the head of the session and this replica still holds the lease.
    /// Nothing else is written for it: no member, no hold, no reply; staff decide it.
    async fn set_aside(&self, live: i64, event: i64) -> StoreResult<bool> {
        let _turn = self.write_turn().await;
        let now = chrono::Utc::now().timestamp_millis();
        let mut tx = self.store.begin_write().await?;
        if !fence_live_lease_in(&mut tx, live, &self.owner, self.config.lease_ms, now).await? {
            return Ok(false);
        }
        let head = next_batch_in(&mut tx, live, now, self.config.reorder_window_ms, 1).await?;
        if head.first().map(|e| e.id) != Some(event) {
            return Ok(false);
        }
        let outcome = EventOutcome {
            outcome: OutcomeKind::NeedsReview,
            reason: Some("processing_failed"),
            parse_result: None,
            member_id: None,
            hold_ids: Vec::new(),
        };
        let done = finish_event_in(&mut tx, event, &outcome, now).await?;
        if done {
            let platform = head.first().map(|e| e.platform.as_str()).unwrap_or("");
            let staff = self.staff_rows(std::iter::once((platform, event)));
            if !staff.is_empty() {
                crate::store::insert_planned_in(&mut tx, &staff, now).await?;
            }
        }
        tx.commit().await?;
        Ok(done)
    }

    /// The first statements of every batch transaction: renews the lease and checks this
    /// replica still holds it (fencing). False: the caller drops the transaction and
    /// decides nothing. With a test fault set, fails when the batch would hold a matching
    /// event.
    async fn fence_batch(&self, tx: &mut Tx, live_id: i64, now: i64) -> StoreResult<bool> {
        let fresh = chrono::Utc::now().timestamp_millis();
        if !fence_live_lease_in(tx, live_id, &self.owner, self.config.lease_ms, fresh).await? {
            return Ok(false);
        }
        if let Some(fault) = &self.fault {
            let window = self.config.reorder_window_ms;
            let events = next_batch_in(tx, live_id, now, window, self.config.batch_size).await?;
            if let Some(event) = events.iter().find(|e| fault(e)) {
                return Err(StoreError::Invariant(format!(
                    "fault injected for event {}",
                    event.id
                )));
            }
        }
        Ok(true)
    }

    /// One pass over every session with due work, in this task, one after another (for
    /// tools and tests that want everything decided now; the service uses [`Self::run`]).
    pub async fn drain(&self, owned: &mut Vec<i64>) -> StoreResult<usize> {
        let mut total = 0;
        for live in self.store.lives_with_pending().await? {
            // Nothing is due until the oldest waiting event has sat out the window.
            let now = chrono::Utc::now().timestamp_millis();
            match self.store.oldest_pending_arrival(live).await? {
                Some(oldest) if oldest + self.config.reorder_window_ms <= now => {}
                _ => continue,
            }
            if !self
                .store
                .take_live_lease(live, &self.owner, self.config.lease_ms)
                .await?
            {
                continue;
            }
            if !owned.contains(&live) {
                owned.push(live);
            }
            loop {
                let done = self.process_batch(live).await?;
                total += done;
                if done < self.config.batch_size as usize {
                    break;
                }
            }
        }
        Ok(total)
    }

    /// One batch of one session in one transaction. Returns how many events it decided.
    ///
    /// Every order, cancel and removal of the batch goes to the ledger as one ordered list
    /// of intents, so a cancel frees units for a later comment of the same batch without
    /// splitting it, and the batch costs the same number of statements whatever its size.
    pub async fn process_batch(&self, live_id: i64) -> StoreResult<usize> {
        Ok(self.process_batch_counted(live_id).await?.events)
    }

    /// [`Sequencer::process_batch`], also saying how many statements the batch ran.
    pub async fn process_batch_counted(&self, live_id: i64) -> StoreResult<BatchReport> {
        let Some(live) = self.store.live(live_id).await? else {
            return Ok(BatchReport::default());
        };
        let catalog = LiveCatalog::load(&self.store, live).await?;
        let now = chrono::Utc::now().timestamp_millis();
        let mut tx = self.store.begin_write().await?;
        if !self.fence_batch(&mut tx, live_id, now).await? {
            return Ok(BatchReport::default());
        }
        let events = next_batch_in(
            &mut tx,
            live_id,
            now,
            self.config.reorder_window_ms,
            self.config.batch_size,
        )
        .await?;
        if events.is_empty() {
            return Ok(BatchReport::default());
        }
        let members = event_members(&mut tx, &events, now).await?;
        let authors: Vec<i64> = members.iter().flatten().copied().collect();
        let restricted = restricted_members_in(&mut tx, &authors).await?;
        let mut decided: Vec<Option<Decided>> = (0..events.len()).map(|_| None).collect();
        let mut planned: Vec<(usize, Planned, Range<usize>)> = Vec::new();
        let mut intents: Vec<Intent> = Vec::new();
        let limits = Limits::default();
        for (i, event) in events.iter().enumerate() {
            match self.special_verb(&mut tx, event).await? {
                Verb::Decided(done) => {
                    decided[i] = Some(*done);
                    continue;
                }
                Verb::Remove(holds) => {
                    let start = intents.len();
                    intents.push(Intent::Release {
                        hold_ids: holds.clone(),
                        ordered: false,
                    });
                    planned.push((i, Planned::Remove(holds), start..intents.len()));
                    continue;
                }
                Verb::Parse => {}
            }
            let text = event.text.as_deref().unwrap_or("");
            let parsed = parse::parse(
                text,
                &catalog.catalog,
                catalog.live.current.as_deref(),
                &limits,
            );
            let parse_json = serde_json::to_string(&parsed).ok();
            let start = intents.len();
            let mut done = match decide(&parsed, &catalog) {
                // A paused live takes no orders: they wait for staff, who may accept
                // them (review::accept reserves) once the live goes on.
                Action::Order(_) if catalog.live.state == LiveState::Paused => Decided {
                    reply: Some(ReplyFacts::default()),
                    ..Decided::plain(OutcomeKind::NeedsReview, "live_paused".to_string())
                },
                // A restricted member's orders wait for staff; accepting the review
                // reserves them (review::accept skips this check).
                Action::Order(_) if members[i].is_some_and(|m| restricted.contains(&m)) => {
                    Decided::plain(OutcomeKind::NeedsReview, "member_restricted".to_string())
                }
                Action::Order(lines) => {
                    let order = EventOrder {
                        event_id: event.id,
                        member: members[i],
                        lines: &lines,
                    };
                    intents.extend(order_intents(&catalog.live, &order));
                    planned.push((i, Planned::Order(lines), start..intents.len()));
                    Decided::plain(OutcomeKind::NeedsReview, "undecided".to_string())
                }
                Action::Cancel(lines) => match members[i] {
                    None => Decided::plain(OutcomeKind::NeedsReview, "unknown_author".to_string()),
                    Some(member) => {
                        intents.extend(lines.iter().map(|line| Intent::Cancel {
                            member_id: member,
                            live_id: Some(catalog.live.id),
                            sku_ids: line.sku_ids.clone(),
                            qty: line.qty,
                        }));
                        planned.push((i, Planned::Cancel, start..intents.len()));
                        Decided::plain(OutcomeKind::NeedsReview, "undecided".to_string())
                    }
                },
                Action::Question(keywords) => Decided {
                    reply: Some(ReplyFacts {
                        question: keywords,
                        ..ReplyFacts::default()
                    }),
                    ..Decided::plain(OutcomeKind::QuestionAnswered, None)
                },
                // The replies room decides whether to say "we will confirm shortly".
                Action::Review(reason) => Decided {
                    reply: Some(ReplyFacts::default()),
                    ..Decided::plain(OutcomeKind::NeedsReview, reason)
                },
                Action::Ignore(reason) => Decided::plain(OutcomeKind::Ignored, reason.to_string()),
            };
            done.parse = parse_json;
            decided[i] = Some(done);
        }

        let outcomes = run_ledger_in(&mut tx, &intents, now).await?;
        // The staff chat hears of SKUs this batch sold out, once per live.
        if let Some(chat) = &self.staff_chat {
            let mut skus: Vec<i64> = intents
                .iter()
                .filter_map(|intent| match intent {
                    Intent::Reserve { request, .. } => Some(request.sku_id),
                    _ => None,
                })
                .collect();
            skus.sort_unstable();
            skus.dedup();
            if !skus.is_empty() && live_platform_is_real(&events) {
                let low: Vec<_> = crate::store::low_skus_in(&mut tx, &skus, self.low_stock.max(0))
                    .await?
                    .into_iter()
                    .map(|(sku_id, code, available)| (live_id, sku_id, code, available))
                    .collect();
                let rows = crate::outbox::telegram_staff::stock_alert_rows(chat, &low);
                if !rows.is_empty() {
                    crate::store::insert_planned_in(&mut tx, &rows, now).await?;
                }
            }
        }
        for (i, plan, range) in planned {
            let outs = &outcomes[range];
            let parse = decided[i].take().and_then(|d| d.parse);
            let done = match plan {
                Planned::Order(lines) => {
                    let result = order_result(&lines, outs);
                    Decided {
                        outcome: result.outcome,
                        reason: result.reason,
                        parse: None,
                        hold_ids: result.hold_ids,
                        reply: Some(result.facts),
                    }
                }
                Planned::Cancel => {
                    let (mut units, mut kept) = (0, 0);
                    for outcome in outs {
                        if let Outcome::Cancelled {
                            units: u,
                            kept_in_order: k,
                        } = outcome
                        {
                            units += u;
                            kept += k;
                        }
                    }
                    let reason = (units == 0 && kept == 0).then(|| "nothing_to_cancel".to_string());
                    Decided {
                        reply: Some(ReplyFacts {
                            cancelled_units: units,
                            kept_in_order: kept,
                            ..ReplyFacts::default()
                        }),
                        ..Decided::plain(OutcomeKind::Cancelled, reason)
                    }
                }
                Planned::Remove(holds) => match outs.first() {
                    // A removed comment cannot be answered: staff see what stayed.
                    Some(Outcome::Released { kept_in_order, .. }) if !kept_in_order.is_empty() => {
                        Decided {
                            hold_ids: holds,
                            ..Decided::plain(
                                OutcomeKind::NeedsReview,
                                "removed_but_ordered".to_string(),
                            )
                        }
                    }
                    Some(Outcome::Released { units, .. }) => Decided {
                        hold_ids: holds,
                        reply: Some(ReplyFacts {
                            cancelled_units: *units,
                            ..ReplyFacts::default()
                        }),
                        ..Decided::plain(OutcomeKind::Cancelled, "comment_removed".to_string())
                    },
                    _ => Decided::plain(OutcomeKind::Ignored, "comment_removed".to_string()),
                },
            };
            decided[i] = Some(Decided { parse, ..done });
        }

        let decided: Vec<Decided> = decided
            .into_iter()
            .map(|d| {
                d.unwrap_or_else(|| {
                    Decided::plain(OutcomeKind::NeedsReview, "undecided".to_string())
                })
            })
            .collect();
        let outcomes: Vec<(i64, EventOutcome)> = events
            .iter()
            .zip(&decided)
            .zip(&members)
            .map(|((event, decision), member)| {
                let outcome = EventOutcome {
                    outcome: decision.outcome,
                    reason: decision.reason.as_deref(),
                    parse_result: decision.parse.clone(),
                    member_id: *member,
                    hold_ids: decision.hold_ids.clone(),
                };
                (event.id, outcome)
            })
            .collect();
        let finished = finish_events_in(&mut tx, &outcomes, now).await?;
        let mut outbox = Vec::new();
        let mut waiting = Vec::new();
        for (((event, decision), member), done) in
            events.iter().zip(&decided).zip(&members).zip(finished)
        {
            if done {
                outbox.extend(replies_for(event, decision, *member, live_id));
                if decision.outcome == OutcomeKind::NeedsReview {
                    waiting.push((event.platform.as_str(), event.id));
                }
            }
        }
        crate::outbox::insert_replies_in(&mut tx, &outbox, now).await?;
        let staff = self.staff_rows(waiting.into_iter());
        if !staff.is_empty() {
            crate::store::insert_planned_in(&mut tx, &staff, now).await?;
        }
        let statements = tx.statements();
        tx.commit().await?;
        if let Some(board) = &self.board {
            board.changed(live_id);
        }
        Ok(BatchReport {
            events: events.len(),
            statements,
        })
    }

    /// Edits and removals that reached the sequencer concern comments already decided.
    async fn special_verb(&self, tx: &mut Tx, event: &PendingEvent) -> StoreResult<Verb> {
        let Some(comment) = &event.comment_id else {
            return Ok(Verb::Parse);
        };
        match event.verb.as_str() {
            "edited" => {
                if original_of_in(tx, &event.platform, comment)
                    .await?
                    .is_some()
                {
                    // Never change a decided order silently: a person looks at it.
                    return Ok(Verb::Decided(Box::new(Decided::plain(
                        OutcomeKind::NeedsReview,
                        "edited_after_processing".to_string(),
                    ))));
                }
                Ok(Verb::Parse)
            }
            "remove" => {
                let Some((_, _, holds)) = original_of_in(tx, &event.platform, comment).await?
                else {
                    return Ok(Verb::Decided(Box::new(Decided::plain(
                        OutcomeKind::Ignored,
                        "nothing_to_remove".to_string(),
                    ))));
                };
                if !self.config.release_holds_on_remove || holds.is_empty() {
                    return Ok(Verb::Decided(Box::new(Decided::plain(
                        OutcomeKind::Ignored,
                        "comment_removed".to_string(),
                    ))));
                }
                Ok(Verb::Remove(holds))
            }
            _ => Ok(Verb::Parse),
        }
    }
}

/// Whether a batch's comments are real ones (the sandbox's make-believe sells nothing the
/// staff chat should hear of).
fn live_platform_is_real(events: &[PendingEvent]) -> bool {
    events.iter().all(|e| e.platform != crate::store::SANDBOX)
}

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub events: usize,
    /// Statements run in the batch's transaction.
    pub statements: u32,
}

/// What an edit or removal asks of the batch.
enum Verb {
    Parse,
    Decided(Box<Decided>),
    /// Release the removed comment's holds.
    Remove(Vec<i64>),
}

/// An event whose outcome waits for the ledger's answer to its intents.
enum Planned {
    Order(Vec<OrderLine>),
    Cancel,
    Remove(Vec<i64>),
}

/// The member behind each event's author (a guest on first sight); none where the
/// platform withheld the author.
pub(crate) async fn event_members(
    tx: &mut Tx,
    events: &[PendingEvent],
    now: i64,
) -> StoreResult<Vec<Option<i64>>> {
    let identities: Vec<Identity> = events
        .iter()
        .filter_map(|e| {
            Some(Identity {
                platform: e.platform.clone(),
                user_id: e.author_id.clone()?,
                display_name: e.author_name.clone().unwrap_or_default(),
            })
        })
        .collect();
    let members = members_for_identities_in(tx, &identities, now).await?;
    Ok(events
        .iter()
        .map(|e| {
            let author = e.author_id.as_ref()?;
            members.get(&(e.platform.clone(), author.clone())).copied()
        })
        .collect())
}

/// The replies an outcome calls for. The replies room renders and sends them; sending is
/// idempotent per (event, kind) through the dedupe key.
fn replies_for(
    event: &PendingEvent,
    decided: &Decided,
    member: Option<i64>,
    live_id: i64,
) -> Vec<NewReply> {
    match &decided.reply {
        Some(facts) => reply_rows(
            event,
            decided.outcome,
            decided.reason.as_deref(),
            facts,
            member,
            live_id,
        ),
        None => Vec::new(),
    }
}

pub(crate) fn reply_rows(
    event: &PendingEvent,
    outcome: OutcomeKind,
    reason: Option<&str>,
    facts: &ReplyFacts,
    member: Option<i64>,
    live_id: i64,
) -> Vec<NewReply> {
    let body = ReplyBody {
        outcome: Some(outcome.into()),
        reason: reason.map(str::to_string),
        live_id: Some(live_id),
        member_id: member,
        page_id: event.page_id.clone(),
        facts: facts.clone(),
        ..ReplyBody::default()
    };
    let row = |kind: ReplyKind, target: String| NewReply {
        inbox_id: Some(event.id),
        kind,
        target,
        body: body.clone(),
        dedupe_key: format!("{}:{kind}", event.id),
    };
    match (&event.comment_id, event.kind.as_str()) {
        (Some(comment), "comment") => {
            let mut rows = vec![row(ReplyKind::PrivateReply, comment.clone())];
            if outcome == OutcomeKind::Reserved {
                rows.push(row(ReplyKind::PublicReply, comment.clone()));
            }
            rows
        }
        _ => event
            .author_id
            .clone()
            .map(|author| vec![row(ReplyKind::SendApi, author)])
            .unwrap_or_default(),
    }
}
