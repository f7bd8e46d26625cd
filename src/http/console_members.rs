//! The members pages: search by name, phone, email or platform id; the profile with its
//! identities, orders, holds and points; block and restrict with a reason; and a merge
//! that shows what moves before it is confirmed.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use minijinja::{context, Value};

use super::{failed, render, Ctx};
use crate::console::members_lang::MemberTexts;
use crate::console::orders_lang::OrderTexts;
use crate::console::page::local_time;
use crate::i18n::format_money;
use crate::store::{
    order_number, sale_number, Member, MemberChange, MemberFilter, MemberFlag, MergeError,
    MergeReason, OrderFilter,
};

const PAGE: i64 = 50;
/// Orders the profile lists, newest last.
const PROFILE_ORDERS: i64 = 100;
/// Point movements the profile lists, newest first; the API has them all.
const PROFILE_POINTS: i64 = 50;

pub const TEMPLATES: [(&str, &str); 3] = [
    (
        "members.html",
        include_str!("../../templates/console/members.html"),
    ),
    (
        "member.html",
        include_str!("../../templates/console/member.html"),
    ),
    (
        "member_merge.html",
        include_str!("../../templates/console/member_merge.html"),
    ),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/members", get(search_page))
        .route("/members/{id}", get(profile_page))
        .route("/members/{id}/flag", axum::routing::post(set_flag))
        .route("/members/{id}/merge", get(merge_preview).post(merge))
}

use crate::http::AppState;

fn pairs(text: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn member_row(m: &Member) -> Value {
    context! {
        id => m.id,
        name => m.name.clone().unwrap_or_else(|| m.display_name.clone()),
        display_name => m.display_name,
        phone => m.phone,
        email => m.email,
        points => m.points,
        blocked => m.blocked_reason.is_some(),
        restricted => m.restricted_reason.is_some(),
        sandbox => m.sandbox,
        platforms => m.identities.iter().map(|i| i.platform.clone()).collect::<Vec<_>>().join(", "),
    }
}

async fn search_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(query): RawQuery,
) -> Response {
    let mt = MemberTexts::get(ctx.lang);
    let pairs = pairs(query.as_deref().unwrap_or(""));
    let q = value(&pairs, "q").unwrap_or("").to_string();
    let after = value(&pairs, "after")
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let filter = MemberFilter {
        q: Some(q.clone()).filter(|q| !q.is_empty()),
        blocked: None,
        limit: PAGE,
        after,
    };
    let members = match state.store.list_members(&filter).await {
        Ok(members) => members,
        Err(err) => return failed(err),
    };
    let next_href = (members.len() as i64 == PAGE)
        .then(|| members.last().map(|m| m.id))
        .flatten()
        .map(|last| {
            let q: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
            format!("/members?q={q}&after={last}")
        });
    let rows: Vec<Value> = members.iter().map(member_row).collect();
    render(
        &ctx,
        StatusCode::OK,
        "members.html",
        context! { mt => mt, q => q, members => rows, next_href => next_href },
    )
}

fn member_id(ctx: &Ctx, id: &str) -> Result<i64, Box<Response>> {
    id.parse::<i64>().map_err(|_| {
        let mt = MemberTexts::get(ctx.lang);
        Box::new(ctx.message(StatusCode::NOT_FOUND, mt.err_not_found, ""))
    })
}

async fn profile_view(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let mt = MemberTexts::get(ctx.lang);
    let ot = OrderTexts::get(ctx.lang);
    let member = match state.store.member(id).await {
        Ok(Some(member)) => member,
        Ok(None) => return ctx.message(StatusCode::NOT_FOUND, mt.err_not_found, ""),
        Err(err) => return failed(err),
    };
    let filter = OrderFilter {
        member_id: Some(id),
        limit: PROFILE_ORDERS,
        ..OrderFilter::default()
    };
    let orders = state.store.list_orders(&filter);
    // One more than shown, to know whether there are more.
    let points = state.store.point_history(id, PROFILE_POINTS + 1);
    let (orders, holds, points) =
        match tokio::try_join!(orders, state.store.member_holds(id), points) {
            Ok(found) => found,
            Err(err) => return failed(err),
        };
    let mut movements = points.map(|(_, items)| items).unwrap_or_default();
    let more_points = movements.len() as i64 > PROFILE_POINTS;
    movements.truncate(PROFILE_POINTS as usize);
    let movements: Vec<Value> = movements
        .iter()
        .map(|m| {
            let (about, href) = match (m.order_id, m.sale_id) {
                (Some(order), _) => (order_number(order), Some(format!("/orders/{order}"))),
                (None, Some(sale)) => (sale_number(sale), None),
                (None, None) => (m.reason.clone(), None),
            };
            context! {
                id => m.id,
                time => local_time(m.created_at_ms),
                kind => m.kind.as_str(),
                kind_label => mt.point_kind(m.kind),
                points => if m.points > 0 { format!("+{}", m.points) } else { m.points.to_string() },
                about => about,
                href => href,
                actor => m.actor,
                balance => m.balance,
            }
        })
        .collect();
    let orders: Vec<Value> = orders
        .iter()
        .map(|o| {
            context! {
                id => o.id,
                number => o.number,
                status => o.status.as_str(),
                status_label => ot.status(o.status),
                total => format_money(o.total, &o.currency),
                created => local_time(o.created_at_ms),
            }
        })
        .collect();
    let holds: Vec<Value> = holds
        .iter()
        .map(|h| {
            context! {
                sku => h.sku,
                name => h.name,
                qty => h.qty,
                until => local_time(h.expires_at_ms),
                order_id => h.order_id,
            }
        })
        .collect();
    let identities: Vec<Value> = member
        .identities
        .iter()
        .map(|i| {
            context! {
                platform => i.platform,
                platform_user_id => i.platform_user_id,
                display_name => i.display_name,
                since => local_time(i.created_at_ms),
            }
        })
        .collect();
    render(
        ctx,
        status,
        "member.html",
        context! {
            mt => mt,
            ot => ot,
            m => member_row(&member),
            member => context! {
                tier => member.tier,
                address => member.delivery_address,
                pickup_store => member.pickup_store,
                blocked_reason => member.blocked_reason,
                restricted_reason => member.restricted_reason,
                merged_into => member.merged_into,
            },
            identities => identities,
            orders => orders,
            holds => holds,
            movements => movements,
            points_more => more_points.then(|| mt.points_more.replace("{n}", &PROFILE_POINTS.to_string())),
            notice => notice,
            error => error,
        },
    )
}

async fn profile_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let id = match member_id(&ctx, &id) {
        Ok(id) => id,
        Err(answer) => return *answer,
    };
    let mt = MemberTexts::get(ctx.lang);
    let notice = match value(&pairs(query.as_deref().unwrap_or("")), "notice") {
        Some("block") => Some(mt.notice_blocked),
        Some("unblock") => Some(mt.notice_unblocked),
        Some("restrict") => Some(mt.notice_restricted),
        Some("unrestrict") => Some(mt.notice_unrestricted),
        Some("merged") => Some(mt.notice_merged),
        _ => None,
    };
    profile_view(&state, &ctx, id, StatusCode::OK, notice, None).await
}

async fn set_flag(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let id = match member_id(&ctx, &id) {
        Ok(id) => id,
        Err(answer) => return *answer,
    };
    let mt = MemberTexts::get(ctx.lang);
    let form = pairs(&String::from_utf8_lossy(&body));
    let action = value(&form, "action").unwrap_or("");
    let reason = value(&form, "reason").unwrap_or("");
    let (flag, set) = match action {
        "block" => (MemberFlag::Blocked, true),
        "unblock" => (MemberFlag::Blocked, false),
        "restrict" => (MemberFlag::Restricted, true),
        "unrestrict" => (MemberFlag::Restricted, false),
        _ => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return profile_view(&state, &ctx, id, status, None, Some(mt.err_other)).await;
        }
    };
    if set && (reason.is_empty() || reason.chars().count() > 200) {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return profile_view(&state, &ctx, id, status, None, Some(mt.err_reason)).await;
    }
    let reason = set.then_some(reason);
    match state.store.set_member_flag(id, flag, reason).await {
        Ok(MemberChange::Done(_)) => {
            Redirect::to(&format!("/members/{id}?notice={action}")).into_response()
        }
        Ok(MemberChange::NotFound) => ctx.message(StatusCode::NOT_FOUND, mt.err_not_found, ""),
        Ok(MemberChange::Merged(into)) => Redirect::to(&format!("/members/{into}")).into_response(),
        Ok(MemberChange::ContactTaken { .. }) => {
            profile_view(
                &state,
                &ctx,
                id,
                StatusCode::CONFLICT,
                None,
                Some(mt.err_other),
            )
            .await
        }
        Err(err) => failed(err),
    }
}

/// The other member named by the merge form, checked to be a live member.
fn other_of(pairs: &[(String, String)]) -> Option<i64> {
    value(pairs, "other")
        .map(|v| v.trim_start_matches('#'))
        .and_then(|v| v.parse().ok())
}

async fn merge_preview(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let id = match member_id(&ctx, &id) {
        Ok(id) => id,
        Err(answer) => return *answer,
    };
    let mt = MemberTexts::get(ctx.lang);
    let Some(other) = other_of(&pairs(query.as_deref().unwrap_or(""))) else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return profile_view(&state, &ctx, id, status, None, Some(mt.err_not_found)).await;
    };
    if other == id {
        let status = StatusCode::CONFLICT;
        return profile_view(&state, &ctx, id, status, None, Some(mt.err_same)).await;
    }
    let (keep, gone) = match tokio::try_join!(state.store.member(id), state.store.member(other)) {
        Ok(found) => found,
        Err(err) => return failed(err),
    };
    let (Some(keep), Some(gone)) = (keep, gone) else {
        let status = StatusCode::NOT_FOUND;
        return profile_view(&state, &ctx, id, status, None, Some(mt.err_not_found)).await;
    };
    if keep.merged_into.is_some() || gone.merged_into.is_some() {
        let status = StatusCode::CONFLICT;
        return profile_view(&state, &ctx, id, status, None, Some(mt.err_merged)).await;
    }
    if keep.sandbox != gone.sandbox {
        let status = StatusCode::CONFLICT;
        return profile_view(&state, &ctx, id, status, None, Some(mt.err_sandbox)).await;
    }
    let preview = match state.store.merge_preview(id, other).await {
        Ok(preview) => preview,
        Err(err) => return failed(err),
    };
    let identities: Vec<Value> = preview
        .identities
        .iter()
        .map(|(platform, name)| context! { platform => platform, name => name })
        .collect();
    render(
        &ctx,
        StatusCode::OK,
        "member_merge.html",
        context! {
            mt => mt,
            keep => member_row(&keep),
            gone => member_row(&gone),
            p => context! {
                orders => preview.orders,
                holds => preview.holds,
                waitlist => preview.waitlist,
                comments => preview.comments,
                points => preview.points,
                identities => identities,
            },
        },
    )
}

async fn merge(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let id = match member_id(&ctx, &id) {
        Ok(id) => id,
        Err(answer) => return *answer,
    };
    let mt = MemberTexts::get(ctx.lang);
    let Some(other) = other_of(&pairs(&String::from_utf8_lossy(&body))) else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return profile_view(&state, &ctx, id, status, None, Some(mt.err_not_found)).await;
    };
    let merged = state
        .store
        .merge_members(id, other, MergeReason::Staff, ctx.username())
        .await;
    let (status, error) = match merged {
        Ok(_) => return Redirect::to(&format!("/members/{id}?notice=merged")).into_response(),
        Err(MergeError::SameMember) => (StatusCode::CONFLICT, mt.err_same),
        Err(MergeError::NotFound(_)) => (StatusCode::NOT_FOUND, mt.err_not_found),
        Err(MergeError::AlreadyMerged { .. }) => (StatusCode::CONFLICT, mt.err_merged),
        Err(MergeError::SandboxWithReal { .. }) => (StatusCode::CONFLICT, mt.err_sandbox),
        Err(MergeError::Store(err)) => return failed(err),
    };
    profile_view(&state, &ctx, id, status, None, Some(error)).await
}
