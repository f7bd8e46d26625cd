//! One `watch` channel per watched live, fed by one task that computes the board.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::store::{Store, StoreError, BOARD_QUERIES};

/// Computes one live's board as JSON; `None` when the live does not exist.
pub type Compute =
    Arc<dyn Fn(i64) -> BoxFuture<'static, Result<Option<String>, StoreError>> + Send + Sync>;

/// What subscribers of a live see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Snapshot {
    /// Not computed yet.
    Pending,
    /// There is no such live.
    Missing,
    /// The board, as the JSON the API answers.
    Board(Arc<str>),
}

#[derive(Clone)]
pub struct BoardHub {
    inner: Arc<Inner>,
}

struct Inner {
    compute: Compute,
    coalesce: Duration,
    metrics: Option<Arc<Metrics>>,
    lives: Mutex<HashMap<i64, Arc<LiveBoard>>>,
    /// Ends every live's task and stream (the server is stopping).
    closing: CancellationToken,
}

struct LiveBoard {
    tx: watch::Sender<Snapshot>,
    /// Holds one permit: a signal during a computation is not lost.
    dirty: Notify,
}

/// A subscriber's view of one live's board. Dropping it unsubscribes.
pub struct Subscription {
    rx: watch::Receiver<Snapshot>,
    closing: CancellationToken,
    metrics: Option<Arc<Metrics>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(metrics) = &self.metrics {
            metrics.board_subscribers(-1);
        }
    }
}

impl Subscription {
    /// The next board that differs from the last one returned (the current one first);
    /// `None` once the live turns out not to exist or the server stops.
    pub async fn next(&mut self) -> Option<Arc<str>> {
        loop {
            let snapshot = {
                let current = self.rx.borrow_and_update();
                current.clone()
            };
            match snapshot {
                Snapshot::Board(json) => return Some(json),
                Snapshot::Missing => return None,
                Snapshot::Pending => {}
            }
            tokio::select! {
                changed = self.rx.changed() => changed.ok()?,
                _ = self.closing.cancelled() => return None,
            }
        }
    }

    /// Waits for a board newer than the last one [`Self::next`] returned.
    pub async fn changed(&mut self) -> Option<Arc<str>> {
        tokio::select! {
            changed = self.rx.changed() => changed.ok()?,
            _ = self.closing.cancelled() => return None,
        }
        self.next().await
    }

    /// The board as it stands, without waiting.
    pub fn current(&self) -> Snapshot {
        self.rx.borrow().clone()
    }
}

impl BoardHub {
    /// A hub computing boards with `compute`, each live at most once per `coalesce`.
    pub fn new(compute: Compute, coalesce: Duration, metrics: Option<Arc<Metrics>>) -> BoardHub {
        BoardHub {
            inner: Arc::new(Inner {
                compute,
                coalesce,
                metrics,
                lives: Mutex::new(HashMap::new()),
                closing: CancellationToken::new(),
            }),
        }
    }

    /// The service's hub: boards from the store, counted in `metrics`.
    pub fn for_store(store: Store, metrics: Arc<Metrics>) -> BoardHub {
        let counted = Arc::clone(&metrics);
        let compute: Compute = Arc::new(move |live| {
            let store = store.clone();
            let metrics = Arc::clone(&counted);
            Box::pin(async move { board_json(&store, &metrics, live).await })
        });
        BoardHub::new(compute, super::COALESCE, Some(metrics))
    }

    /// Subscribes to a live's board. The first subscriber of a live starts its task; a
    /// later one gets the board already computed, at no cost to the database.
    pub fn subscribe(&self, live_id: i64) -> Subscription {
        let mut lives = self.inner.lives.lock().expect("board map is not poisoned");
        let rx = match lives.get(&live_id) {
            Some(board) => board.tx.subscribe(),
            None => {
                let (tx, rx) = watch::channel(Snapshot::Pending);
                let board = Arc::new(LiveBoard {
                    tx,
                    dirty: Notify::new(),
                });
                lives.insert(live_id, Arc::clone(&board));
                tokio::spawn(run_live(Arc::clone(&self.inner), live_id, board));
                rx
            }
        };
        if let Some(metrics) = &self.inner.metrics {
            metrics.board_subscribers(1);
            metrics.board_lives(lives.len());
        }
        Subscription {
            rx,
            closing: self.inner.closing.clone(),
            metrics: self.inner.metrics.clone(),
        }
    }

    /// Something of this live changed (a sequencer batch committed). Free when nobody
    /// watches it.
    pub fn changed(&self, live_id: i64) {
        let lives = self.inner.lives.lock().expect("board map is not poisoned");
        if let Some(board) = lives.get(&live_id) {
            self.signalled();
            board.dirty.notify_one();
        }
    }

    /// Something that any live's board may show changed (stock, an order, a reset).
    pub fn changed_all(&self) {
        let lives = self.inner.lives.lock().expect("board map is not poisoned");
        if !lives.is_empty() {
            self.signalled();
        }
        for board in lives.values() {
            board.dirty.notify_one();
        }
    }

    /// How many lives have subscribers on this replica.
    pub fn watched(&self) -> usize {
        self.inner
            .lives
            .lock()
            .expect("board map is not poisoned")
            .len()
    }

    /// Ends every stream and task: the server is stopping and must not wait for them.
    pub fn close(&self) {
        self.inner.closing.cancel();
    }

    /// Polls the store's change fingerprint every `every` while some live is watched, and
    /// signals every watched live when it moved: the changes other replicas (and this
    /// one's sweeper and reminders) commit reach the boards this way.
    pub fn spawn_poll(&self, store: Store, every: Duration, stop: CancellationToken) {
        let hub = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last = None;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = hub.inner.closing.cancelled() => return,
                    _ = tick.tick() => {}
                }
                if hub.watched() == 0 {
                    // Nothing is shown, so nothing is known: the next watcher starts fresh.
                    last = None;
                    continue;
                }
                if let Some(metrics) = &hub.inner.metrics {
                    metrics.board_polled();
                }
                match store.change_fingerprint().await {
                    Ok(now) if last != Some(now) => {
                        // The first poll of a watch signals too: a change between the first
                        // computation and this poll would otherwise go unseen.
                        last = Some(now);
                        hub.changed_all();
                    }
                    Ok(_) => {}
                    Err(err) => {
                        tracing::warn!(error = ?err, "board change poll failed; will retry")
                    }
                }
            }
        });
    }

    fn signalled(&self) {
        if let Some(metrics) = &self.inner.metrics {
            metrics.board_signal();
        }
    }
}

/// The board JSON of one live, computed now and counted. The API's one-off answer and
/// the hub's fan-out both come from here, so they are byte for byte the same.
pub(crate) async fn board_json(
    store: &Store,
    metrics: &Metrics,
    live_id: i64,
) -> Result<Option<String>, StoreError> {
    let now = chrono::Utc::now().timestamp_millis();
    let board = store.board(live_id, now, super::PER_MINUTE).await;
    metrics.board_computed(BOARD_QUERIES);
    Ok(board?.map(|b| serde_json::to_string(&b).expect("a board serialises")))
}

/// One live's task: computes when signalled (at most once per `coalesce`) and stops
/// when its last subscriber has gone.
async fn run_live(inner: Arc<Inner>, live_id: i64, board: Arc<LiveBoard>) {
    let mut last_run: Option<tokio::time::Instant> = None;
    loop {
        if let Some(at) = last_run {
            tokio::select! {
                _ = inner.closing.cancelled() => return,
                _ = tokio::time::sleep_until(at + inner.coalesce) => {}
            }
        }
        last_run = Some(tokio::time::Instant::now());
        match (inner.compute)(live_id).await {
            Ok(Some(json)) => {
                board.tx.send_if_modified(|current| match current {
                    Snapshot::Board(old) if **old == *json => false,
                    _ => {
                        *current = Snapshot::Board(json.into());
                        true
                    }
                });
            }
            Ok(None) => {
                board.tx.send_replace(Snapshot::Missing);
            }
            Err(err) => {
                tracing::warn!(live_id, error = ?err, "could not compute a live board; will retry");
                board.dirty.notify_one();
            }
        }
        // Wait for a signal; leave when the last subscriber has gone (checked under the
        // map's lock, which `subscribe` also takes, so no subscriber is left behind).
        loop {
            tokio::select! {
                _ = inner.closing.cancelled() => return,
                _ = board.dirty.notified() => break,
                _ = board.tx.closed() => {
                    let mut lives = inner.lives.lock().expect("board map is not poisoned");
                    if board.tx.receiver_count() == 0 {
                        lives.remove(&live_id);
                        if let Some(metrics) = &inner.metrics {
                            metrics.board_lives(lives.len());
                        }
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// A hub whose board is `{"n": <value of the cell>}`, counting its computations.
    fn fake() -> (BoardHub, Arc<AtomicU64>, Arc<AtomicU64>) {
        let value = Arc::new(AtomicU64::new(0));
        let runs = Arc::new(AtomicU64::new(0));
        let (v, r) = (Arc::clone(&value), Arc::clone(&runs));
        let compute: Compute = Arc::new(move |live| {
            r.fetch_add(1, Ordering::SeqCst);
            let n = v.load(Ordering::SeqCst);
            Box::pin(async move { Ok((live != 404).then(|| format!(r#"{{"n":{n}}}"#))) })
        });
        (
            BoardHub::new(compute, Duration::from_millis(50), None),
            value,
            runs,
        )
    }

    #[tokio::test]
    async fn fifty_subscribers_cost_one_computation_per_change() {
        let (hub, value, runs) = fake();
        let mut subs: Vec<Subscription> = (0..50).map(|_| hub.subscribe(7)).collect();
        for sub in &mut subs {
            assert_eq!(sub.next().await.as_deref(), Some(r#"{"n":0}"#));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        for n in 1..=3 {
            value.store(n, Ordering::SeqCst);
            hub.changed(7);
            let want = format!(r#"{{"n":{n}}}"#);
            for sub in &mut subs {
                assert_eq!(sub.changed().await.as_deref(), Some(want.as_str()));
            }
        }
        assert_eq!(runs.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_burst_of_signals_is_coalesced_and_nothing_is_lost() {
        let (hub, value, runs) = fake();
        let mut sub = hub.subscribe(1);
        sub.next().await;
        let started = std::time::Instant::now();
        for n in 1..=100 {
            value.store(n, Ordering::SeqCst);
            hub.changed(1);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let elapsed = started.elapsed().as_millis() as u64;
        tokio::time::sleep(Duration::from_millis(150)).await;
        // The last value arrives, and computations follow the clock (one per 50 ms at
        // most), not the 100 signals.
        assert_eq!(sub.current(), Snapshot::Board(r#"{"n":100}"#.into()));
        let computed = runs.load(Ordering::SeqCst);
        assert!(
            computed <= elapsed / 50 + 3,
            "{computed} computations in {elapsed} ms"
        );
        assert!(computed < 50, "{computed} computations for 100 signals");
    }

    #[tokio::test]
    async fn unwatched_lives_compute_nothing_and_the_last_leaver_stops_the_task() {
        let (hub, _, runs) = fake();
        hub.changed(3);
        hub.changed_all();
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        let mut sub = hub.subscribe(3);
        sub.next().await;
        drop(sub);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(hub.watched(), 0);
        hub.changed(3);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_missing_live_ends_the_subscription() {
        let (hub, _, _) = fake();
        let mut sub = hub.subscribe(404);
        assert_eq!(sub.next().await, None);
    }

    #[tokio::test]
    async fn closing_ends_every_subscription() {
        let (hub, _, _) = fake();
        let mut sub = hub.subscribe(5);
        sub.next().await;
        hub.close();
        assert_eq!(sub.changed().await, None);
    }
}
