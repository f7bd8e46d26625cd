//! `/api/v1/members`: find, edit, block, restrict and merge members.
//!
//! Request bodies here carry phones and addresses; nothing in this module logs them
//! (request spans carry only the route template, and the store types redact `Debug`).

use axum::extract::State;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Path, Query};
use super::{ApiJson, AppState};
use crate::auth::Caller;
use crate::members::{Email, Phone};
use crate::store::{
    Adjusted, Member, MemberChange, MemberFilter, MemberFlag, MemberPatch, MergeError, MergeReason,
    MergeRecord, MergeSuggestion, PointMovement,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members))
        .routes(routes!(get_member, patch_member))
        .routes(routes!(block_member))
        .routes(routes!(unblock_member))
        .routes(routes!(restrict_member))
        .routes(routes!(unrestrict_member))
        .routes(routes!(merge_members))
        .routes(routes!(member_merges))
        .routes(routes!(merge_suggestions))
        .routes(routes!(point_history, adjust_points))
}

#[derive(Deserialize, IntoParams)]
struct MemberQuery {
    /// A part of the name, display name, phone, email or a platform identity.
    q: Option<String>,
    /// true: only blocked members; false: only the others.
    blocked: Option<bool>,
    /// At most this many (default 50, at most 500).
    limit: Option<i64>,
    /// `next_after` of the previous page.
    after: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct MemberPage {
    items: Vec<Member>,
    /// Null on the last page.
    next_after: Option<i64>,
}

/// Members (merged ones left out), oldest first.
#[utoipa::path(get, path = "/members", tag = "members", params(MemberQuery),
    responses((status = 200, body = MemberPage)))]
async fn list_members(
    State(state): State<AppState>,
    Query(query): Query<MemberQuery>,
) -> Result<Json<MemberPage>, ApiError> {
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    let filter = MemberFilter {
        q: query.q,
        blocked: query.blocked,
        limit,
        after: query.after.unwrap_or(0),
    };
    let items = state.store.list_members(&filter).await?;
    let next_after = (items.len() as i64 == limit)
        .then(|| items.last().map(|m| m.id))
        .flatten();
    Ok(Json(MemberPage { items, next_after }))
}

/// A member: profile, identities, points, tier, flags and `merged_into`.
#[utoipa::path(get, path = "/members/{id}", tag = "members", params(("id" = i64, Path)),
    responses((status = 200, body = Member), (status = 404, body = ErrorBody)))]
async fn get_member(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Member>, ApiError> {
    state
        .store
        .member(id)
        .await?
        .map(Json)
        .ok_or_else(|| no_member(id))
}

#[derive(Deserialize, ToSchema)]
struct PatchMember {
    /// Null or "" clears a field; an absent field is left alone.
    #[serde(default, deserialize_with = "some_option")]
    name: Option<Option<String>>,
    /// Eight digits are a Hong Kong number; others need their country code.
    #[serde(default, deserialize_with = "some_option")]
    phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "some_option")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "some_option")]
    delivery_address: Option<Option<String>>,
    #[serde(default, deserialize_with = "some_option")]
    pickup_store: Option<Option<String>>,
    /// Letters, digits, `-` and `_`; at most 32.
    tier: Option<String>,
}

/// Tells an absent field (no change) from an explicit null (clear).
fn some_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn invalid(field: &'static str, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::unprocessable(code, message).with_detail("field", field)
}

/// Trims a text field; blank means clear. Checks its length.
fn text_field(
    field: &'static str,
    value: Option<Option<String>>,
    max: usize,
) -> Result<Option<Option<String>>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    let value = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    if value.as_ref().is_some_and(|v| v.chars().count() > max) {
        return Err(invalid(
            field,
            "invalid_field",
            format!("`{field}` has at most {max} characters"),
        ));
    }
    Ok(Some(value))
}

fn contact_field<T>(
    field: &'static str,
    code: &'static str,
    value: Option<Option<String>>,
    parse: impl Fn(&str) -> Result<T, &'static str>,
) -> Result<Option<Option<T>>, ApiError> {
    match text_field(field, value, 320)? {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(raw)) => parse(&raw)
            .map(|v| Some(Some(v)))
            .map_err(|why| invalid(field, code, format!("`{field}`: {why}"))),
    }
}

fn check_patch(input: PatchMember) -> Result<MemberPatch, ApiError> {
    let tier = match input.tier {
        Some(tier) => {
            let tier = tier.trim().to_string();
            let ok = !tier.is_empty()
                && tier.len() <= 32
                && tier
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok {
                return Err(invalid(
                    "tier",
                    "invalid_tier",
                    "`tier` is 1 to 32 letters, digits, `-` or `_`",
                ));
            }
            Some(tier)
        }
        None => None,
    };
    Ok(MemberPatch {
        name: text_field("name", input.name, 200)?,
        phone: contact_field("phone", "invalid_phone", input.phone, Phone::parse)?,
        email: contact_field("email", "invalid_email", input.email, Email::parse)?,
        delivery_address: text_field("delivery_address", input.delivery_address, 500)?,
        pickup_store: text_field("pickup_store", input.pickup_store, 100)?,
        tier,
    })
}

fn no_member(id: i64) -> ApiError {
    ApiError::not_found(format!("no member {id}"))
}

fn changed(id: i64, change: MemberChange<Member>) -> Result<Json<Member>, ApiError> {
    match change {
        MemberChange::Done(member) => Ok(Json(member)),
        MemberChange::NotFound => Err(no_member(id)),
        MemberChange::Merged(into) => Err(ApiError::conflict(
            "member_merged",
            format!("member {id} was merged into {into}; change that member"),
        )
        .with_detail("merged_into", into)),
        MemberChange::ContactTaken { field, member_id } => Err(ApiError::conflict(
            "contact_taken",
            format!("member {member_id} already has this {field}; merge the two instead"),
        )
        .with_detail("field", field)
        .with_detail("member_id", member_id)),
    }
}

/// Edits the profile. A bad phone or email is refused with 422 naming the field; a phone
/// or email another member has is refused with 409 (merge them instead).
#[utoipa::path(patch, path = "/members/{id}", tag = "members", params(("id" = i64, Path)),
    request_body = PatchMember,
    responses((status = 200, body = Member), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn patch_member(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<PatchMember>,
) -> Result<Json<Member>, ApiError> {
    let patch = check_patch(input)?;
    changed(id, state.store.update_member(id, &patch).await?)
}

#[derive(Deserialize, ToSchema)]
struct FlagReason {
    /// Shown to staff, such as "unpaid orders".
    reason: String,
}

fn check_reason(input: &FlagReason) -> Result<&str, ApiError> {
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(invalid(
            "reason",
            "invalid_reason",
            "`reason` must be 1 to 200 characters",
        ));
    }
    Ok(reason)
}

/// Sets or lifts a flag and answers with the member as it now stands.
async fn set_flag(
    state: &AppState,
    id: i64,
    flag: MemberFlag,
    reason: Option<&str>,
) -> Result<Json<Member>, ApiError> {
    let change = state.store.set_member_flag(id, flag, reason).await?;
    changed(id, change)
}

/// Blocks a member: the ledger refuses their orders with `member_blocked` and the reason.
#[utoipa::path(post, path = "/members/{id}/block", tag = "members", params(("id" = i64, Path)),
    request_body = FlagReason,
    responses((status = 200, body = Member), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn block_member(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<FlagReason>,
) -> Result<Json<Member>, ApiError> {
    set_flag(&state, id, MemberFlag::Blocked, Some(check_reason(&input)?)).await
}

/// Lifts a block.
#[utoipa::path(post, path = "/members/{id}/unblock", tag = "members", params(("id" = i64, Path)),
    responses((status = 200, body = Member), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn unblock_member(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Member>, ApiError> {
    set_flag(&state, id, MemberFlag::Blocked, None).await
}

/// Restricts a member: their live-comment orders wait for staff review
/// (`needs_review`, reason `member_restricted`) instead of being reserved.
#[utoipa::path(post, path = "/members/{id}/restrict", tag = "members", params(("id" = i64, Path)),
    request_body = FlagReason,
    responses((status = 200, body = Member), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn restrict_member(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<FlagReason>,
) -> Result<Json<Member>, ApiError> {
    set_flag(
        &state,
        id,
        MemberFlag::Restricted,
        Some(check_reason(&input)?),
    )
    .await
}

/// Lifts a restriction.
#[utoipa::path(post, path = "/members/{id}/unrestrict", tag = "members", params(("id" = i64, Path)),
    responses((status = 200, body = Member), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn unrestrict_member(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Member>, ApiError> {
    set_flag(&state, id, MemberFlag::Restricted, None).await
}

#[derive(Deserialize, ToSchema)]
struct MergeInput {
    /// The member that stays.
    survivor_id: i64,
    /// The member folded into the survivor; its id keeps resolving via `merged_into`.
    merged_id: i64,
}

/// Merges two members: identities, holds, waitlist entries, comments and points move to
/// the survivor, which keeps its profile and fills gaps from the merged member.
#[utoipa::path(post, path = "/members/merge", tag = "members", request_body = MergeInput,
    responses((status = 200, body = MergeRecord), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn merge_members(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(input): ApiJson<MergeInput>,
) -> Result<Json<MergeRecord>, ApiError> {
    let merged = state
        .store
        .merge_members(
            input.survivor_id,
            input.merged_id,
            MergeReason::Staff,
            &caller.name,
        )
        .await;
    match merged {
        Ok(record) => Ok(Json(record)),
        Err(MergeError::SameMember) => Err(ApiError::conflict(
            "same_member",
            "a member cannot be merged into itself",
        )),
        Err(MergeError::NotFound(id)) => Err(no_member(id)),
        Err(MergeError::AlreadyMerged { member_id, into }) => Err(ApiError::conflict(
            "member_merged",
            format!("member {member_id} was already merged into {into}"),
        )
        .with_detail("member_id", member_id)
        .with_detail("merged_into", into)),
        Err(MergeError::SandboxWithReal { sandbox }) => Err(ApiError::conflict(
            "sandbox_member",
            format!("member {sandbox} is a sandbox viewer; it never merges with a real member"),
        )
        .with_detail("member_id", sandbox)),
        Err(MergeError::Store(err)) => Err(err.into()),
    }
}

/// The merges a member took part in, as survivor or as the merged one.
#[utoipa::path(get, path = "/members/{id}/merges", tag = "members", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<MergeRecord>), (status = 404, body = ErrorBody)))]
async fn member_merges(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Vec<MergeRecord>>, ApiError> {
    if state.store.member(id).await?.is_none() {
        return Err(no_member(id));
    }
    Ok(Json(state.store.member_merges(id).await?))
}

#[derive(Deserialize, IntoParams)]
struct SuggestionQuery {
    /// At most this many (default 50, at most 500).
    limit: Option<i64>,
    /// `next_after` of the previous page.
    after: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct SuggestionPage {
    items: Vec<MergeSuggestion>,
    /// Null on the last page.
    next_after: Option<i64>,
}

/// Members that may be one person: a buyer typed, at checkout, a phone or email another
/// member already has. Checkout merges nothing; staff may merge with `POST
/// /members/merge` (`survivor_id` = `holder_id`, `merged_id` = `member_id`) once they
/// have checked it is one person: the holder may itself be someone who typed another's
/// contact first. A suggestion leaves this list once either member is merged. Oldest
/// first.
#[utoipa::path(get, path = "/members/merge-suggestions", tag = "members",
    params(SuggestionQuery), responses((status = 200, body = SuggestionPage)))]
async fn merge_suggestions(
    State(state): State<AppState>,
    Query(query): Query<SuggestionQuery>,
) -> Result<Json<SuggestionPage>, ApiError> {
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    let items = state
        .store
        .merge_suggestions(query.after.unwrap_or(0), limit)
        .await?;
    let next_after = (items.len() as i64 == limit)
        .then(|| items.last().map(|s| s.id))
        .flatten();
    Ok(Json(SuggestionPage { items, next_after }))
}

#[derive(Deserialize, IntoParams)]
struct PointsQuery {
    /// At most this many movements, newest first (default 100, at most 1000).
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct PointsPage {
    /// The member's points: the sum of all their movements.
    balance: i64,
    /// Newest first; each carries the balance right after it.
    items: Vec<PointMovement>,
}

/// A member's points: the balance and the movements behind it (earned, spent, returned,
/// adjusted), newest first. A merged member's history moved to the member it joined.
#[utoipa::path(get, path = "/members/{id}/points", tag = "members",
    params(("id" = i64, Path), PointsQuery),
    responses((status = 200, body = PointsPage), (status = 404, body = ErrorBody)))]
async fn point_history(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(query): Query<PointsQuery>,
) -> Result<Json<PointsPage>, ApiError> {
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let (balance, items) = state
        .store
        .point_history(id, limit)
        .await?
        .ok_or_else(|| no_member(id))?;
    Ok(Json(PointsPage { balance, items }))
}

#[derive(Deserialize, ToSchema)]
struct PointsAdjustment {
    /// Points to add (positive) or take (negative); not 0.
    points: i64,
    /// Why, for the history: 1 to 200 characters.
    reason: String,
}

/// Staff add or take points, with a reason. Taking more than the balance is refused
/// (422 `points_over_balance`); only a cancellation may leave a balance below 0.
#[utoipa::path(post, path = "/members/{id}/points", tag = "members", params(("id" = i64, Path)),
    request_body = PointsAdjustment,
    responses((status = 201, body = PointMovement), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`member_merged`: adjust the member it joined"),
              (status = 422, body = ErrorBody)))]
async fn adjust_points(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<PointsAdjustment>,
) -> Result<(axum::http::StatusCode, Json<PointMovement>), ApiError> {
    if input.points == 0 || input.points.unsigned_abs() > 1_000_000_000 {
        return Err(invalid(
            "points",
            "invalid_points",
            "`points` must be non-zero and at most 1000000000 either way",
        ));
    }
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(invalid(
            "reason",
            "invalid_reason",
            "`reason` must be 1 to 200 characters",
        ));
    }
    match state
        .store
        .adjust_points(id, input.points, reason, &caller.name)
        .await?
    {
        Adjusted::Done(movement) => Ok((axum::http::StatusCode::CREATED, Json(movement))),
        Adjusted::NotFound => Err(no_member(id)),
        Adjusted::Short { balance } => Err(invalid(
            "points",
            "points_over_balance",
            format!("the member has only {balance} points"),
        )
        .with_detail("balance", balance)),
        Adjusted::Merged(into) => Err(ApiError::conflict(
            "member_merged",
            format!("member {id} was merged into {into}; adjust that member"),
        )
        .with_detail("merged_into", into)),
    }
}
