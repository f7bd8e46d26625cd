//! Group commit for the inbox: concurrent webhook requests share one transaction, and
//! each is answered only after that transaction has committed.
//!
//! On SQLite the group goes to the intake journal, a file of its own (see
//! `store::intake`), and a second task moves journal rows into the main inbox. The ack
//! then waits only for the journal's commit, never for the sequencer or the dispatcher,
//! which share the main file's one writer.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Notify};
use tokio_util::sync::CancellationToken;

use crate::store::{InsertReport, NewInboxRow, Store, StoreError};

type Reply = oneshot::Sender<Result<InsertReport, Arc<StoreError>>>;

struct Job {
    rows: Vec<NewInboxRow>,
    reply: Reply,
}

/// The handle webhook handlers write through.
#[derive(Clone)]
pub struct InboxWriter {
    jobs: mpsc::Sender<Job>,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the inbox writer has stopped")]
    Stopped,
    #[error("the inbox transaction failed")]
    Store(#[source] Arc<StoreError>),
}

impl InboxWriter {
    /// Starts the writer task, and beside an intake journal the task that moves journal
    /// rows into the inbox. `wake` is notified once new rows are in the inbox, so the
    /// sequencer starts without waiting for its tick.
    pub fn spawn(
        store: Store,
        max_group: usize,
        wake: Arc<Notify>,
        shutdown: CancellationToken,
    ) -> InboxWriter {
        let (jobs, receiver) = mpsc::channel(max_group * 4);
        let moved = Arc::new(AtomicI64::new(0));
        let written = if store.has_intake_journal() {
            let pump = Arc::new(Notify::new());
            tokio::spawn(transfer(
                store.clone(),
                Arc::clone(&pump),
                wake,
                Arc::clone(&moved),
                shutdown.clone(),
            ));
            pump
        } else {
            wake
        };
        tokio::spawn(run(store, receiver, max_group, written, moved, shutdown));
        InboxWriter { jobs }
    }

    /// Stores the rows durably. Returns after commit.
    pub async fn write(&self, rows: Vec<NewInboxRow>) -> Result<InsertReport, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { rows, reply })
            .await
            .map_err(|_| WriteError::Stopped)?;
        answer
            .await
            .map_err(|_| WriteError::Stopped)?
            .map_err(WriteError::Store)
    }
}

async fn run(
    store: Store,
    mut receiver: mpsc::Receiver<Job>,
    max_group: usize,
    written: Arc<Notify>,
    moved: Arc<AtomicI64>,
    shutdown: CancellationToken,
) {
    let mut group = Vec::with_capacity(max_group);
    let mut pruned = 0;
    if let Err(err) = store.prepare_intake().await {
        // Only a journal file made anew after a deletion needs this; say so and go on.
        tracing::error!(error = ?err, "could not check the intake journal's position");
    }
    loop {
        // On shutdown, requests already queued are still written: their senders wait.
        let first = tokio::select! {
            job = receiver.recv() => job,
            _ = shutdown.cancelled() => { receiver.close(); receiver.recv().await }
        };
        let Some(first) = first else { return };
        group.push(first);
        while group.len() < max_group {
            match receiver.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let rows: Vec<&[NewInboxRow]> = group.iter().map(|job| job.rows.as_slice()).collect();
        match store.write_intake(&rows).await {
            Ok(reports) => {
                for (job, report) in group.drain(..).zip(reports) {
                    let _ = job.reply.send(Ok(report));
                }
                written.notify_one();
            }
            Err(err) if group.len() > 1 => {
                // One request's rows may be what the database refused: write each request
                // on its own, so only that one fails and its neighbours are acknowledged.
                tracing::warn!(
                    error = ?err,
                    requests = group.len(),
                    "inbox group commit failed; writing its requests one by one"
                );
                let mut any = false;
                for job in group.drain(..) {
                    match store.write_intake(&[job.rows.as_slice()]).await {
                        Ok(mut reports) => {
                            any = true;
                            let _ = job.reply.send(Ok(reports.pop().unwrap_or_default()));
                        }
                        Err(err) => {
                            tracing::warn!(error = ?err, "inbox write of one request failed");
                            let _ = job.reply.send(Err(Arc::new(err)));
                        }
                    }
                }
                if any {
                    written.notify_one();
                }
            }
            Err(err) => {
                tracing::warn!(error = ?err, "inbox write of one request failed");
                let err = Arc::new(err);
                for job in group.drain(..) {
                    let _ = job.reply.send(Err(Arc::clone(&err)));
                }
            }
        }
        // The journal's rows that are in the inbox go, between groups: this task is the
        // journal's only writer, so the delete never waits for a lock.
        let up_to = moved.load(Ordering::Acquire);
        if up_to - pruned >= PRUNE_EVERY && receiver.is_empty() {
            match store.prune_intake(up_to).await {
                Ok(_) => pruned = up_to,
                Err(err) => tracing::warn!(error = ?err, "could not prune the intake journal"),
            }
        }
    }
}

/// Journal rows moved before the writer deletes them.
const PRUNE_EVERY: i64 = 10_000;

/// Moves journal rows into the inbox whenever the writer has written some, and at start
/// (rows acknowledged before a crash), then wakes the sequencer.
async fn transfer(
    store: Store,
    written: Arc<Notify>,
    wake: Arc<Notify>,
    moved: Arc<AtomicI64>,
    shutdown: CancellationToken,
) {
    let mut failures = 0u32;
    loop {
        match store.transfer_intake().await {
            Ok(transfer) => {
                failures = 0;
                moved.store(transfer.position, Ordering::Release);
                if transfer.moved > 0 {
                    wake.notify_one();
                }
                // A full transfer leaves more behind, or at least its horizon: go again.
                if transfer.full {
                    continue;
                }
            }
            Err(err) => {
                failures += 1;
                tracing::warn!(error = ?err, "could not move intake rows into the inbox");
                let backoff = Duration::from_millis(50 << failures.min(6));
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => continue,
                    _ = shutdown.cancelled() => return,
                }
            }
        }
        // A write during the transfer leaves a permit, so this cannot miss one.
        tokio::select! {
            _ = written.notified() => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
