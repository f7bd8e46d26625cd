//! Group commit for the inbox: concurrent webhook requests share one transaction, and
//! each is answered only after that transaction has committed.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Notify};
use tokio_util::sync::CancellationToken;

use crate::store::{insert_inbox_in, InsertReport, NewInboxRow, Store, StoreError};

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
    /// Starts the writer task. `wake` is notified after each commit so the sequencer
    /// starts without waiting for its tick.
    pub fn spawn(
        store: Store,
        max_group: usize,
        wake: Arc<Notify>,
        shutdown: CancellationToken,
    ) -> InboxWriter {
        let (jobs, receiver) = mpsc::channel(max_group * 4);
        tokio::spawn(run(store, receiver, max_group, wake, shutdown));
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
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let mut group = Vec::with_capacity(max_group);
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
        let result = commit_group(&store, &group).await;
        match result {
            Ok(reports) => {
                for (job, report) in group.drain(..).zip(reports) {
                    let _ = job.reply.send(Ok(report));
                }
                wake.notify_one();
            }
            Err(err) => {
                let err = Arc::new(err);
                tracing::warn!(error = ?err, requests = group.len(), "inbox group commit failed");
                for job in group.drain(..) {
                    let _ = job.reply.send(Err(Arc::clone(&err)));
                }
            }
        }
    }
}

async fn commit_group(store: &Store, group: &[Job]) -> Result<Vec<InsertReport>, StoreError> {
    let now = chrono::Utc::now().timestamp_millis();
    let mut tx = store.begin_write().await?;
    let mut reports = Vec::with_capacity(group.len());
    for job in group {
        reports.push(insert_inbox_in(&mut tx, &job.rows, now).await?);
    }
    tx.commit().await?;
    Ok(reports)
}
