//! The dispatcher: claims due outbox rows in batches, sends them within each Page's
//! budget, and records what the platform answered.
//!
//! Delivery is at least once: a row is claimed under a lease, and only a recorded answer
//! ends it. Visibility is once: the platform refuses a second private reply to a comment
//! (10900), and an attempt whose answer was lost makes that refusal a delivery.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use tokio_util::sync::CancellationToken;

use super::budgets::SharedBudgets;
use super::checkout_link::checkout_url;
use super::errors::SendError;
use super::facts::ReplyBody;
use super::limits::PageLimits;
use super::senders::{GraphSender, Outgoing, ReplyKind};
use super::telegram::{TelegramSender, TelegramTarget, UrlButton};
use super::templates::{render, CartLine, Context, ProductFacts, Templates};
use super::OutboxConfig;
use crate::checkout::CheckoutLinks;
use crate::i18n::Lang;
use crate::metrics::Metrics;
use crate::store::{ClaimedReply, Store, StoreResult};
use crate::vocab::{OutboxStatus, Topic};

/// What one pass did, so tests can drain the queue step by step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispatchOutcome {
    /// Nothing was due.
    Empty,
    Dispatched(BatchReport),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub sent: usize,
    pub retried: usize,
    /// Put back unsent because a Page was throttled; no attempt spent.
    pub deferred: usize,
    pub failed: usize,
    pub dead: usize,
    /// Rows whose lease another replica had taken over by the time we answered.
    pub lost_lease: usize,
    /// Not sent on purpose (a notice switched off), recorded as `skipped`.
    pub skipped: usize,
}

impl BatchReport {
    /// Whether any row reached an end or spent an attempt (not only waited on a budget).
    pub fn made_progress(&self) -> bool {
        self.sent + self.retried + self.failed + self.dead + self.skipped > 0
    }
}

/// What became of one row.
#[derive(Clone, Copy)]
enum Step {
    Sent,
    Retried,
    Deferred,
    /// Not sent: the Page's budget has no room before this time.
    OverBudget(i64),
    Failed,
    Dead,
    LostLease,
    Skipped,
}

/// What the dispatcher needs: its own section, where the platforms are, the bot's token,
/// and how to make the checkout links replies carry.
#[derive(Debug, Clone)]
pub struct DispatchConfig {
    pub outbox: OutboxConfig,
    pub graph_api_base: String,
    pub telegram_api_base: String,
    pub telegram_bot_token: Option<secrecy::SecretString>,
    pub links: CheckoutLinks,
}

#[derive(Clone)]
pub struct Dispatcher {
    store: Store,
    sender: GraphSender,
    telegram: TelegramSender,
    limits: Arc<PageLimits>,
    /// On Postgres, Meta's budgets live in the database, shared by every replica; on
    /// SQLite (one replica) `limits` holds them.
    shared: Option<Arc<SharedBudgets>>,
    config: OutboxConfig,
    links: Arc<CheckoutLinks>,
    lang: Lang,
    metrics: Arc<Metrics>,
    /// Pages Meta throttled, and until when (ms): their rows wait without a call.
    paused: Arc<Mutex<HashMap<String, i64>>>,
}

impl Dispatcher {
    pub fn new(store: Store, config: DispatchConfig, metrics: Arc<Metrics>) -> Dispatcher {
        let timeout = Duration::from_millis(config.outbox.request_timeout_ms);
        let shared = (store.kind() == crate::store::BackendKind::Postgres)
            .then(|| Arc::new(SharedBudgets::new(store.clone())));
        Dispatcher {
            store,
            sender: GraphSender::new(&config.graph_api_base, timeout),
            telegram: TelegramSender::new(
                &config.telegram_api_base,
                config.telegram_bot_token,
                timeout,
            ),
            limits: Arc::new(PageLimits::new()),
            shared,
            lang: config.outbox.lang(),
            config: config.outbox,
            links: Arc::new(config.links),
            metrics,
            paused: Arc::default(),
        }
    }

    /// The shop's texts in its language: staff's edits over the shipped defaults.
    pub async fn templates(&self) -> StoreResult<Templates> {
        let stored = self.store.templates(Some(self.lang.tag())).await?;
        Ok(Templates::with_stored(
            self.lang,
            stored.into_iter().map(|t| (t.name, t.body)),
        ))
    }

    /// Sends until `shutdown`; the batch in flight is finished first.
    pub async fn run(self, shutdown: CancellationToken) {
        let tick = Duration::from_millis(self.config.tick_ms);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(tick) => {}
            }
            loop {
                match self.try_dispatch_batch().await {
                    // A batch that only waited on budgets: the rest will too, so wait a tick
                    // instead of spinning through the backlog.
                    Ok(DispatchOutcome::Dispatched(report))
                        if !shutdown.is_cancelled() && report.made_progress() => {}
                    Ok(_) => break,
                    Err(err) => {
                        tracing::warn!(error = ?err, "outbox pass failed; will retry");
                        break;
                    }
                }
            }
            self.observe_queue().await;
        }
    }

    /// Claims one batch of due rows and sends them side by side.
    pub async fn try_dispatch_batch(&self) -> StoreResult<DispatchOutcome> {
        let now = now_ms();
        let claimed = self
            .store
            .claim_outbox(now, self.config.lease_ms, self.config.batch_size)
            .await?;
        if claimed.is_empty() {
            return Ok(DispatchOutcome::Empty);
        }
        let mut report = BatchReport::default();
        let templates = self.templates().await?;
        // Telegram group replies due together go out as one message per group, each buyer
        // named in it, so a group's 20 messages a minute answer hundreds of buyers.
        let groups = telegram_groups(&claimed);
        let grouped: std::collections::HashSet<usize> =
            groups.values().flatten().copied().collect();
        let (grouped, templates) = (&grouped, &templates);
        let mut steps: Vec<Option<StoreResult<Step>>> =
            join_all(claimed.iter().enumerate().map(|(i, c)| async move {
                if grouped.contains(&i) {
                    None
                } else {
                    Some(self.dispatch_one(c, templates).await)
                }
            }))
            .await;
        for (chat, members) in &groups {
            let claims: Vec<&ClaimedReply> = members.iter().map(|&i| &claimed[i]).collect();
            let group_steps = self.dispatch_group(chat, &claims, templates).await?;
            for (&i, step) in members.iter().zip(group_steps) {
                steps[i] = Some(Ok(step));
            }
        }
        let steps = steps.into_iter().map(|s| s.unwrap_or(Ok(Step::LostLease)));
        // Rows waiting on a budget, by when it has room (to the next 100 ms).
        let mut over_budget: BTreeMap<i64, Vec<&ClaimedReply>> = BTreeMap::new();
        for (claim, step) in claimed.iter().zip(steps) {
            match step? {
                Step::OverBudget(until) => {
                    let slot = (until + 99) / 100 * 100;
                    over_budget.entry(slot).or_default().push(claim);
                }
                Step::Sent => report.sent += 1,
                Step::Retried => report.retried += 1,
                Step::Deferred => report.deferred += 1,
                Step::Failed => report.failed += 1,
                Step::Dead => report.dead += 1,
                Step::LostLease => report.lost_lease += 1,
                Step::Skipped => report.skipped += 1,
            }
        }
        // One statement for every row that waits on a budget, not one per row: in a storm
        // that is nearly all of them, and each write would hold up the comments behind it.
        for (until, claims) in &over_budget {
            let deferred = self
                .store
                .outbox_defer_many(claims, *until, now_ms())
                .await? as usize;
            report.deferred += deferred;
            report.lost_lease += claims.len() - deferred;
        }
        Ok(DispatchOutcome::Dispatched(report))
    }

    #[tracing::instrument(skip_all, fields(outbox_id = claim.id, kind = claim.kind.as_str(), attempt = claim.attempts))]
    async fn dispatch_one(&self, claim: &ClaimedReply, templates: &Templates) -> StoreResult<Step> {
        let result = self.send(claim, templates).await;
        self.record(claim, result).await
    }

    /// Writes what a send came to on the row (under its lease).
    async fn record(
        &self,
        claim: &ClaimedReply,
        result: Result<Option<String>, SendError>,
    ) -> StoreResult<Step> {
        let now = now_ms();
        let store = &self.store;
        let recorded = |done: bool, step: Step| if done { step } else { Step::LostLease };
        Ok(match result {
            Ok(message_id) => {
                self.metrics.reply_sent(claim.kind.as_str());
                recorded(
                    store.outbox_sent(claim, message_id.as_deref(), now).await?,
                    Step::Sent,
                )
            }
            // Our earlier attempt got through and only its answer was lost.
            Err(SendError::AlreadyReplied { .. }) if claim.lost_responses > 0 => {
                tracing::info!("already replied after a lost answer: recorded as delivered");
                self.metrics.reply_sent(claim.kind.as_str());
                recorded(store.outbox_sent(claim, None, now).await?, Step::Sent)
            }
            Err(err @ SendError::Throttled { .. }) => {
                self.metrics.reply_throttled("meta");
                let until = match &err {
                    SendError::Throttled {
                        retry_after: Some(wait),
                        ..
                    } => now + wait.as_millis() as i64,
                    _ => now + self.backoff_ms(claim.attempts),
                };
                self.pause(claim, until);
                recorded(
                    store
                        .outbox_defer(claim, until, Some(&err.to_string()), now)
                        .await?,
                    Step::Deferred,
                )
            }
            // Written for the whole batch at once by `try_dispatch_batch`.
            Err(SendError::Deferred { until_ms }) => {
                self.metrics.reply_throttled("budget");
                Step::OverBudget(until_ms)
            }
            Err(err @ (SendError::Transient { .. } | SendError::Unsendable(_))) => {
                let lost = matches!(
                    err,
                    SendError::Transient {
                        lost_response: true,
                        ..
                    }
                );
                let next = now + self.backoff_ms(claim.attempts);
                let status = store
                    .outbox_retry(
                        claim,
                        next,
                        &err.to_string(),
                        lost,
                        self.config.retry_limits(),
                        now,
                    )
                    .await?;
                match status {
                    Some(OutboxStatus::Dead) => {
                        tracing::warn!(error = %err, "reply out of attempts: dead-lettered");
                        self.metrics.reply_failed(claim.kind.as_str(), "dead");
                        Step::Dead
                    }
                    Some(_) => {
                        tracing::info!(error = %err, "reply failed; will retry");
                        self.metrics.reply_retried();
                        Step::Retried
                    }
                    None => Step::LostLease,
                }
            }
            Err(SendError::Skipped(why)) => {
                tracing::info!(%why, "reply skipped");
                self.metrics.replies_skipped(1);
                recorded(store.outbox_skipped(claim, &why, now).await?, Step::Skipped)
            }
            Err(err @ (SendError::AlreadyReplied { .. } | SendError::Final { .. })) => {
                tracing::warn!(error = %err, "reply refused for good");
                self.metrics.reply_failed(claim.kind.as_str(), "final");
                recorded(
                    store.outbox_failed(claim, &err.to_string(), now).await?,
                    Step::Failed,
                )
            }
        })
    }

    /// What the row's facts leave to the database: the buyer's cart and checkout link, or
    /// the price and stock of what they asked about.
    async fn context(&self, claim: &ClaimedReply, body: &ReplyBody) -> Result<Context, SendError> {
        let unreadable = |err: crate::store::StoreError| SendError::Unsendable(format!("{err}"));
        let mut ctx = Context::default();
        let cart = claim.live_id.zip(claim.member_id).or_else(|| body.cart());
        match (body.topic(), cart) {
            (
                Some(
                    Topic::Checkout
                    | Topic::Reserved
                    | Topic::Merged
                    | Topic::Promoted
                    | Topic::Expiring,
                ),
                Some((live, member)),
            ) => {
                // Several orders of one SKU read as one line; the first expiry counts.
                let held = self
                    .store
                    .member_cart_lines(member, live, now_ms())
                    .await
                    .map_err(unreadable)?;
                for h in held {
                    let same = ctx.cart.iter_mut().find(|l| {
                        l.code == h.product_code
                            && l.options == h.options
                            && l.price == h.unit_price
                    });
                    match same {
                        Some(line) => {
                            line.qty += h.qty;
                            line.expires_at_ms = line.expires_at_ms.min(h.expires_at_ms);
                        }
                        None => ctx.cart.push(CartLine {
                            code: h.product_code,
                            name: h.name,
                            options: h.options,
                            qty: h.qty,
                            price: h.unit_price,
                            currency: h.currency,
                            expires_at_ms: h.expires_at_ms,
                        }),
                    }
                }
                ctx.checkout_url = checkout_url(&self.store, &self.links, member, live, now_ms())
                    .await
                    .map_err(unreadable)?;
            }
            (Some(Topic::QuestionAnswered), _) => {
                if let Some(live) = body.live_id {
                    ctx.products = self
                        .products_asked(live, &body.facts.question)
                        .await
                        .map_err(unreadable)?;
                }
            }
            _ => {}
        }
        Ok(ctx)
    }

    async fn products_asked(
        &self,
        live_id: i64,
        asked: &[String],
    ) -> StoreResult<Vec<(String, Option<ProductFacts>)>> {
        let lineup = self
            .store
            .live(live_id)
            .await?
            .map(|l| l.lineup)
            .unwrap_or_default();
        let mut out = Vec::new();
        for keyword in asked {
            let code = lineup
                .iter()
                .find(|e| e.keyword.eq_ignore_ascii_case(keyword))
                .map(|e| e.code.as_str())
                .unwrap_or(keyword);
            let facts = self
                .store
                .product_by_code(code)
                .await?
                .map(|p| ProductFacts {
                    keyword: keyword.to_string(),
                    name: p.name,
                    price: p.price,
                    currency: p.currency,
                    available: p.skus.iter().map(|s| s.available).sum(),
                });
            out.push((keyword.to_string(), facts));
        }
        Ok(out)
    }

    /// Renders and sends one row. A Page under a pause or out of budget is not called.
    async fn send(
        &self,
        claim: &ClaimedReply,
        templates: &Templates,
    ) -> Result<Option<String>, SendError> {
        let kind = claim.kind;
        if kind == ReplyKind::NoChannel {
            return Err(final_error("the row names no channel to send on".into()));
        }
        let body = ReplyBody::from_stored(&claim.body)
            .map_err(|err| final_error(format!("unreadable body: {err}")))?;
        if body.topic() == Some(Topic::NeedsReview) && !self.config.review_notice {
            return Err(SendError::Skipped(
                "\"we will confirm shortly\" is off (outbox.review_notice)".into(),
            ));
        }
        if matches!(
            body.topic(),
            Some(
                Topic::StaffReview
                    | Topic::StaffLinked
                    | Topic::StaffLinkRefused
                    | Topic::StaffSoldOut
                    | Topic::StaffLowStock
                    | Topic::StaffPayment
                    | Topic::StaffBoard
            )
        ) {
            return self.send_staff(claim, &body).await;
        }
        // Over the Page's budget (or paused by Meta): wait before doing any work for the
        // row. Reading its cart or issuing a checkout link now would be thrown away, and in
        // a storm most rows are here.
        // Telegram has per-chat budgets (below); the sandbox calls nobody.
        let telegram = claim.platform.as_deref() == Some("telegram") || kind == ReplyKind::Telegram;
        if !telegram && claim.platform.as_deref() != Some("sandbox") {
            if let Some(page_id) = body.page_id.as_deref() {
                if let Some(until) = self.paused_until(page_id) {
                    return Err(SendError::Deferred { until_ms: until });
                }
                if let Err(wait) = self.spend_budget(page_id, kind).await {
                    return Err(SendError::Deferred {
                        until_ms: now_ms() + wait.as_millis() as i64 + 1,
                    });
                }
            }
        }
        // A public reply says only a phrase: no cart to read, no link to issue.
        let ctx = if kind == ReplyKind::PublicReply {
            Context::default()
        } else {
            self.context(claim, &body).await?
        };
        let now = now_ms();
        let text = render(
            kind,
            claim.inbox_id.unwrap_or(claim.id),
            &body,
            templates,
            &ctx,
            now,
        )
        .ok_or_else(|| final_error("no template says anything for this outcome".into()))?;
        if telegram {
            return self
                .send_telegram_reply(claim, kind, text, &ctx, templates)
                .await;
        }
        if claim.platform.as_deref() == Some(crate::store::SANDBOX) {
            let live = body.live_id;
            return crate::sandbox::deliver(&self.store, claim, kind, &text, live).await;
        }
        let page_id = body
            .page_id
            .as_deref()
            .ok_or_else(|| final_error("the reply names no page".into()))?;
        let token = self
            .store
            .page_token(page_id)
            .await
            .map_err(|err| SendError::Unsendable(format!("page token unreadable: {err}")))?
            .ok_or_else(|| SendError::Unsendable(format!("no access token for page {page_id}")))?;
        let platform = claim.platform.as_deref().unwrap_or("facebook");
        if kind == ReplyKind::PublicReply && claim.lost_responses > 0 {
            if let Some(id) = self
                .sender
                .find_page_reply(platform, &claim.target, page_id, &token)
                .await?
            {
                tracing::info!("public reply found after a lost answer: recorded as delivered");
                return Ok(Some(id));
            }
        }
        let out = Outgoing {
            kind,
            platform,
            page_id,
            target: &claim.target,
            text: &text,
        };
        self.sender.send(&out, &token).await
    }

    /// A Telegram reply, as the buyer can receive it. Private messages reach only a buyer
    /// who started the bot (a `/start` of theirs is recorded; a failed message proves
    /// nothing): for the others the private reply is skipped, and the group reply carries
    /// a deep link that starts the bot and brings the checkout link at once.
    async fn send_telegram_reply(
        &self,
        claim: &ClaimedReply,
        kind: ReplyKind,
        mut text: String,
        ctx: &Context,
        templates: &Templates,
    ) -> Result<Option<String>, SendError> {
        let author = claim.author_id.as_deref();
        let started = match (kind, author) {
            (ReplyKind::PublicReply | ReplyKind::PrivateReply, Some(author)) => {
                self.started_bot(author).await?
            }
            _ => true,
        };
        // The checkout link also rides under a private message as a URL button.
        let mut button = ctx
            .checkout_url
            .as_ref()
            .filter(|_| kind != ReplyKind::PublicReply)
            .map(|url| UrlButton {
                label: templates.text("checkout_button").to_string(),
                url: url.clone(),
            });
        match (kind, started, author) {
            (ReplyKind::PrivateReply, false, _) => {
                return Err(SendError::Skipped(
                    "the buyer has not started the bot; the group reply carries their deep link"
                        .into(),
                ))
            }
            (ReplyKind::PublicReply, false, Some(author)) => {
                if let Some(link) = self.deep_link_for(author).await? {
                    text.push('\n');
                    text.push_str(&super::templates::fill(
                        templates.text("start_link"),
                        &[("link", link.clone())],
                    ));
                    button = Some(UrlButton {
                        label: templates.text("start_button").to_string(),
                        url: link,
                    });
                }
            }
            _ => {}
        }
        self.send_telegram(claim, kind, &text, button.as_ref())
            .await
    }

    /// Whether the Telegram user `author` started the bot (a recorded `/start`).
    async fn started_bot(&self, author: &str) -> Result<bool, SendError> {
        self.store
            .telegram_started(author)
            .await
            .map_err(|err| SendError::Transient {
                reason: format!("could not read whether the buyer started the bot: {err}"),
                lost_response: false,
            })
    }

    /// The `t.me` link that starts the bot for `author` (their code, bound to them), or
    /// None while the bot's name cannot be read.
    async fn deep_link_for(&self, author: &str) -> Result<Option<String>, SendError> {
        let fresh = format!("{:016x}", rand::random::<u64>());
        let code = self
            .store
            .start_code_for(author, &fresh)
            .await
            .map_err(|err| SendError::Transient {
                reason: format!("could not keep the buyer's start code: {err}"),
                lost_response: false,
            })?;
        Ok(self.telegram.start_link(&code).await)
    }

    /// Several Telegram group replies due at once, as one message naming each buyer: one
    /// spend of the group's budget (and one wait on a paused chat) for all of them. Those
    /// beyond one message's room wait for the group's next turn.
    async fn dispatch_group(
        &self,
        chat: &str,
        claims: &[&ClaimedReply],
        templates: &Templates,
    ) -> StoreResult<Vec<Step>> {
        let now = now_ms();
        let until = match self.paused_until(chat) {
            Some(until) => Some(until),
            None => self
                .limits
                .check_telegram(chat, true)
                .err()
                .map(|wait| now + wait.as_millis() as i64 + 1),
        };
        if let Some(until) = until {
            self.metrics.reply_throttled("budget");
            return Ok(vec![Step::OverBudget(until); claims.len()]);
        }
        let mut steps = vec![Step::OverBudget(now + GROUP_TURN_MS); claims.len()];
        let mut lines: Vec<String> = Vec::new();
        let mut named = Vec::new();
        let mut length = 0;
        for (i, claim) in claims.iter().enumerate().take(MENTIONS_PER_MESSAGE) {
            match self.group_line(claim, templates).await {
                // Telegram takes 4096 characters of text; the markup is not counted, so
                // this keeps well within it.
                Ok(line) if length + line.chars().count() + 1 > MESSAGE_CHARS => break,
                Ok(line) => {
                    length += line.chars().count() + 1;
                    lines.push(line);
                    named.push(i);
                }
                Err(err) => steps[i] = self.record(claim, Err(err)).await?,
            }
        }
        if named.is_empty() {
            return Ok(steps);
        }
        let result = self
            .telegram
            .send_html(&TelegramTarget::chat(chat), &lines.join("\n"))
            .await;
        for i in named {
            steps[i] = self.record(claims[i], result.clone()).await?;
        }
        Ok(steps)
    }

    /// One buyer's line of a group message: a mention, their reply, and the deep link
    /// when they have not started the bot. HTML, escaped.
    async fn group_line(
        &self,
        claim: &ClaimedReply,
        templates: &Templates,
    ) -> Result<String, SendError> {
        let body = ReplyBody::from_stored(&claim.body)
            .map_err(|err| final_error(format!("unreadable body: {err}")))?;
        let text = render(
            ReplyKind::PublicReply,
            claim.inbox_id.unwrap_or(claim.id),
            &body,
            templates,
            &Context::default(),
            now_ms(),
        )
        .ok_or_else(|| final_error("no template says anything for this outcome".into()))?;
        let author = claim
            .author_id
            .as_deref()
            .ok_or_else(|| final_error("the message has no author".into()))?;
        let name = claim.author_name.as_deref().unwrap_or(author);
        let mut line = format!(
            "<a href=\"tg://user?id={}\">{}</a> {}",
            html_escape(author),
            html_escape(name),
            html_escape(&text)
        );
        if !self.started_bot(author).await? {
            if let Some(link) = self.deep_link_for(author).await? {
                line.push(' ');
                line.push_str(&html_escape(&super::templates::fill(
                    templates.text("start_link"),
                    &[("link", link)],
                )));
            }
        }
        Ok(line)
    }

    /// The staff bot's messages: a review item in the staff chat (read from the comment
    /// as it is now: one decided meanwhile is not posted), or the answer to a `/link`.
    async fn send_staff(
        &self,
        claim: &ClaimedReply,
        body: &ReplyBody,
    ) -> Result<Option<String>, SendError> {
        use super::telegram_staff::{review_message, StaffTexts};
        let unreadable = |err: crate::store::StoreError| SendError::Transient {
            reason: format!("could not read the review item: {err}"),
            lost_response: false,
        };
        let t = StaffTexts::get(self.lang);
        let (text, rows) = match body.topic() {
            Some(Topic::StaffLinked) => (t.linked.to_string(), Vec::new()),
            Some(Topic::StaffLinkRefused) => (t.link_refused.to_string(), Vec::new()),
            Some(Topic::StaffSoldOut) => (
                super::telegram_staff::sold_out_text(self.lang, body),
                Vec::new(),
            ),
            Some(Topic::StaffLowStock) => (
                super::telegram_staff::low_stock_text(self.lang, body),
                Vec::new(),
            ),
            Some(Topic::StaffPayment) => (
                super::telegram_staff::payment_text(self.lang, body),
                Vec::new(),
            ),
            Some(Topic::StaffBoard) => (
                body.text
                    .clone()
                    .ok_or_else(|| final_error("a staff message without its text".into()))?,
                Vec::new(),
            ),
            _ => {
                let id = claim
                    .inbox_id
                    .ok_or_else(|| final_error("a review item names no comment".into()))?;
                let event = self
                    .store
                    .event(id)
                    .await
                    .map_err(unreadable)?
                    .ok_or_else(|| final_error("the review item's comment is gone".into()))?;
                if event.outcome != Some(crate::pipeline::OutcomeKind::NeedsReview) {
                    return Err(SendError::Skipped(
                        "the comment was decided before its review item was sent".into(),
                    ));
                }
                let current = match event.live_id {
                    Some(live) => self
                        .store
                        .live(live)
                        .await
                        .map_err(unreadable)?
                        .and_then(|l| l.current),
                    None => None,
                };
                review_message(self.lang, &event, current.as_deref())
            }
        };
        let to = TelegramTarget::chat(&claim.target);
        if let Some(until) = self.paused_until(&to.chat_id) {
            return Err(SendError::Deferred { until_ms: until });
        }
        if let Err(wait) = self.limits.check_telegram(&to.chat_id, to.is_group()) {
            return Err(SendError::Deferred {
                until_ms: now_ms() + wait.as_millis() as i64 + 1,
            });
        }
        self.telegram.send_with_buttons(&to, &text, &rows).await
    }

    /// A Telegram group reply quotes the buyer's message; a private reply goes to the
    /// buyer's chat with the bot (a user's id is that chat's id), which works once they
    /// have started the bot and is refused for good (403) otherwise.
    async fn send_telegram(
        &self,
        claim: &ClaimedReply,
        kind: ReplyKind,
        text: &str,
        button: Option<&UrlButton>,
    ) -> Result<Option<String>, SendError> {
        let to = telegram_target(claim).ok_or_else(|| {
            final_error(match kind {
                ReplyKind::PublicReply => "not a Telegram message id".into(),
                _ => "the message has no author".into(),
            })
        })?;
        if let Some(until) = self.paused_until(&to.chat_id) {
            return Err(SendError::Deferred { until_ms: until });
        }
        if let Err(wait) = self.limits.check_telegram(&to.chat_id, to.is_group()) {
            return Err(SendError::Deferred {
                until_ms: now_ms() + wait.as_millis() as i64 + 1,
            });
        }
        self.telegram.send(&to, text, button).await
    }

    /// Exponential backoff from `retry_base_ms`, capped, with jitter in its upper half so
    /// replicas that failed together do not retry together.
    fn backoff_ms(&self, attempts: i64) -> i64 {
        backoff_ms(
            attempts,
            self.config.retry_base_ms,
            self.config.retry_max_ms,
            rand::random::<u64>(),
        )
    }

    /// Spends one call of a Page's Meta budget, or says how long until one is free. A
    /// database that cannot be asked counts as a short wait: no call without a budget.
    async fn spend_budget(&self, page_id: &str, kind: ReplyKind) -> Result<(), Duration> {
        let Some(shared) = &self.shared else {
            return self.limits.check(page_id, kind);
        };
        let now_us = chrono::Utc::now().timestamp_micros();
        match shared.check(page_id, kind, now_us).await {
            Ok(spent) => spent,
            Err(err) => {
                tracing::warn!(error = ?err, "could not read a Page's shared budget");
                Err(Duration::from_secs(1))
            }
        }
    }

    /// Remembers a throttle: per Page for Meta, per chat for Telegram (a 429 pauses that
    /// chat).
    fn pause(&self, claim: &ClaimedReply, until: i64) {
        let page = match telegram_target(claim) {
            Some(to) => Some(to.chat_id),
            None => ReplyBody::from_stored(&claim.body)
                .ok()
                .and_then(|b| b.page_id),
        };
        if let Some(page) = page {
            let mut paused = self.paused.lock().expect("pause map is not poisoned");
            let entry = paused.entry(page).or_insert(until);
            *entry = (*entry).max(until);
        }
    }

    fn paused_until(&self, page: &str) -> Option<i64> {
        let paused = self.paused.lock().expect("pause map is not poisoned");
        paused.get(page).copied().filter(|until| *until > now_ms())
    }

    async fn observe_queue(&self) {
        let now = now_ms();
        match self.store.outbox_queue(now).await {
            Ok(stats) => {
                let age = stats
                    .oldest_due_ms
                    .map(|due| Duration::from_millis((now - due).max(0) as u64))
                    .unwrap_or_default();
                self.metrics.outbox_queue(stats.due, age);
            }
            Err(err) => tracing::warn!(error = ?err, "could not read the outbox depth"),
        }
    }
}

fn final_error(message: String) -> SendError {
    SendError::Final {
        status: 0,
        code: None,
        subcode: None,
        why: "cannot be sent",
        message,
    }
}

/// `base × 2^(attempts-1)`, capped at `max`, then a random point in its upper half.
pub fn backoff_ms(attempts: i64, base: i64, max: i64, random: u64) -> i64 {
    let exp = (attempts - 1).clamp(0, 30) as u32;
    let full = base.saturating_mul(1i64 << exp).min(max).max(1);
    let half = full / 2;
    full - half + (random % (half as u64 + 1)) as i64
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// One Telegram message holds at most this many buyers' replies…
const MENTIONS_PER_MESSAGE: usize = 50;
/// …and this many characters of them, markup included.
const MESSAGE_CHARS: usize = 4_000;
/// When a group's next message may go, for replies that did not fit in this one.
const GROUP_TURN_MS: i64 = 3_300;

/// Where a Telegram reply goes: a group reply quotes the buyer's message, a private reply
/// goes to the buyer's chat with the bot (a user's id is that chat's id), a message of
/// our own to the chat it names. None for a row that is not Telegram's.
fn telegram_target(claim: &ClaimedReply) -> Option<TelegramTarget> {
    if claim.platform.as_deref() != Some("telegram") && claim.kind != ReplyKind::Telegram {
        return None;
    }
    match claim.kind {
        ReplyKind::PublicReply => TelegramTarget::reply_to(&claim.target),
        ReplyKind::PrivateReply => claim.author_id.as_deref().map(TelegramTarget::chat),
        ReplyKind::SendApi | ReplyKind::Telegram | ReplyKind::NoChannel => {
            Some(TelegramTarget::chat(&claim.target))
        }
    }
}

/// Telegram group replies of the batch by group, where a group has more than one.
fn telegram_groups(claimed: &[ClaimedReply]) -> BTreeMap<String, Vec<usize>> {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, claim) in claimed.iter().enumerate() {
        if claim.kind != ReplyKind::PublicReply {
            continue;
        }
        if let Some(to) = telegram_target(claim).filter(TelegramTarget::is_group) {
            groups.entry(to.chat_id).or_default().push(i);
        }
    }
    groups.retain(|_, members| members.len() > 1);
    groups
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_doubles_stays_capped_and_jitters_in_the_upper_half() {
        assert_eq!(backoff_ms(1, 1000, 60_000, 0), 500);
        assert_eq!(backoff_ms(1, 1000, 60_000, 500), 1000);
        assert_eq!(backoff_ms(3, 1000, 60_000, 0), 2000);
        assert_eq!(
            backoff_ms(3, 1000, 60_000, u64::MAX),
            2000 + (u64::MAX % 2001) as i64
        );
        assert_eq!(backoff_ms(40, 1000, 60_000, 0), 30_000);
        for r in 0..1000 {
            let b = backoff_ms(5, 1000, 60_000, r * 7919);
            assert!((8000..=16_000).contains(&b), "{b}");
        }
    }
}
