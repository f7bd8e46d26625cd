//! `/api/v1/pages` and `/api/v1/lives`: where comments come from and what they can buy.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::Path;
use super::{ApiJson, AppState};
use crate::store::{Binding, LineupEntry, Live, LivePatch, LiveState, NewLive, PageView};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_pages, add_page))
        .routes(routes!(create_live))
        .routes(routes!(get_live, patch_live))
}

const PLATFORMS: &[&str] = &["facebook", "instagram", "telegram"];

fn check_platform(platform: &str) -> Result<(), ApiError> {
    if PLATFORMS.contains(&platform) {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "invalid_platform",
            format!("`platform` must be one of {}", PLATFORMS.join(", ")),
        )
        .with_detail("field", "platform"))
    }
}

#[derive(Deserialize, ToSchema)]
struct NewPage {
    platform: String,
    page_id: String,
    /// Kept for the senders and the poll backstop; never shown again.
    #[schema(value_type = String)]
    access_token: SecretString,
}

/// Connects a page (or replaces its token). The token is never returned.
#[utoipa::path(post, path = "/pages", tag = "lives", request_body = NewPage,
    responses((status = 201, body = PageView), (status = 422, body = ErrorBody)))]
async fn add_page(
    State(state): State<AppState>,
    ApiJson(page): ApiJson<NewPage>,
) -> Result<(StatusCode, Json<PageView>), ApiError> {
    check_platform(&page.platform)?;
    if page.page_id.trim().is_empty() {
        return Err(ApiError::unprocessable(
            "invalid_page",
            "`page_id` is required",
        ));
    }
    let view = state
        .store
        .upsert_page(&page.platform, &page.page_id, &page.access_token)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Connected pages, without their tokens.
#[utoipa::path(get, path = "/pages", tag = "lives", responses((status = 200, body = Vec<PageView>)))]
async fn list_pages(State(state): State<AppState>) -> Result<Json<Vec<PageView>>, ApiError> {
    Ok(Json(state.store.list_pages().await?))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct LineupInput {
    /// What buyers type; defaults to the code.
    pub(super) keyword: Option<String>,
    pub(super) code: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct CreateLive {
    pub(super) title: String,
    #[serde(default)]
    pub(super) bindings: Vec<Binding>,
    #[serde(default)]
    pub(super) lineup: Vec<LineupInput>,
    pub(super) current: Option<String>,
    #[serde(default = "default_ttl")]
    pub(super) hold_ttl_seconds: i64,
    #[serde(default = "yes")]
    pub(super) waitlist: bool,
    pub(super) limit_per_member: Option<i64>,
    #[serde(default = "scheduled")]
    pub(super) state: LiveState,
}

fn default_ttl() -> i64 {
    1800
}

fn yes() -> bool {
    true
}

fn scheduled() -> LiveState {
    LiveState::Scheduled
}

async fn check_lineup(
    state: &AppState,
    lineup: Vec<LineupInput>,
) -> Result<Vec<LineupEntry>, ApiError> {
    let mut entries: Vec<LineupEntry> = Vec::with_capacity(lineup.len());
    for input in lineup {
        let keyword = input.keyword.unwrap_or_else(|| input.code.clone());
        if keyword.trim().is_empty() {
            return Err(ApiError::unprocessable(
                "invalid_lineup",
                "a lineup keyword cannot be blank",
            )
            .with_detail("field", "keyword"));
        }
        if entries
            .iter()
            .any(|e| e.keyword.eq_ignore_ascii_case(&keyword))
        {
            return Err(ApiError::unprocessable(
                "invalid_lineup",
                format!("keyword `{keyword}` appears twice in the lineup"),
            )
            .with_detail("field", "duplicate")
            .with_detail("value", keyword));
        }
        if state.store.product_by_code(&input.code).await?.is_none() {
            return Err(ApiError::unprocessable(
                "unknown_product",
                format!("no product has code `{}`", input.code),
            )
            .with_detail("field", "code")
            .with_detail("value", input.code));
        }
        entries.push(LineupEntry {
            keyword,
            code: input.code,
        });
    }
    Ok(entries)
}

fn check_current(current: Option<&str>, lineup: &[LineupEntry]) -> Result<(), ApiError> {
    match current {
        Some(c) if !lineup.iter().any(|e| e.keyword == c) => Err(ApiError::unprocessable(
            "invalid_current",
            format!("`current` must be a lineup keyword; `{c}` is not"),
        )
        .with_detail("field", "current")
        .with_detail("value", c)),
        _ => Ok(()),
    }
}

/// Starts a live session (or a post that sells all day) bound to platform objects, or a
/// sandbox live (`"bindings": [{"platform": "sandbox"}]`) that sells sandbox products.
#[utoipa::path(post, path = "/lives", tag = "lives", request_body = CreateLive,
    responses((status = 201, body = Live), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn create_live(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<CreateLive>,
) -> Result<(StatusCode, Json<Live>), ApiError> {
    let live = create(&state, input).await?;
    Ok((StatusCode::CREATED, Json(live)))
}

/// Checks and stores a new live; the API and the console's form both come here.
pub(super) async fn create(state: &AppState, mut input: CreateLive) -> Result<Live, ApiError> {
    if input.title.trim().is_empty() {
        return Err(
            ApiError::unprocessable("invalid_live", "`title` is required")
                .with_detail("field", "title"),
        );
    }
    if !(60..=7 * 24 * 3600).contains(&input.hold_ttl_seconds) {
        return Err(ApiError::unprocessable(
            "invalid_live",
            "`hold_ttl_seconds` must be 60 to 604800",
        )
        .with_detail("field", "hold_ttl_seconds"));
    }
    if input.limit_per_member.is_some_and(|l| l < 1) {
        return Err(ApiError::unprocessable(
            "invalid_live",
            "`limit_per_member` must be at least 1",
        )
        .with_detail("field", "limit_per_member"));
    }
    let sandbox = super::sandbox::prepare_bindings(&mut input.bindings)?;
    for binding in input.bindings.iter().filter(|_| !sandbox) {
        check_platform(&binding.platform)?;
        if binding.object_id.trim().is_empty() || binding.page_id.trim().is_empty() {
            return Err(ApiError::unprocessable(
                "invalid_binding",
                "`page_id` and `object_id` are required",
            )
            .with_detail("field", "object_id"));
        }
    }
    let lineup = check_lineup(state, input.lineup).await?;
    super::sandbox::check_lineup_products(state, sandbox, &lineup).await?;
    check_current(input.current.as_deref(), &lineup)?;
    Ok(state
        .store
        .create_live(&NewLive {
            title: input.title,
            state: input.state,
            current: input.current,
            hold_ttl_seconds: input.hold_ttl_seconds,
            waitlist: input.waitlist,
            limit_per_member: input.limit_per_member,
            bindings: input.bindings,
            lineup,
        })
        .await?)
}

#[utoipa::path(get, path = "/lives/{id}", tag = "lives", params(("id" = i64, Path)),
    responses((status = 200, body = Live), (status = 404, body = ErrorBody)))]
async fn get_live(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Live>, ApiError> {
    state
        .store
        .live(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no live session {id}")))
}

#[derive(Deserialize, ToSchema, Default)]
pub(super) struct PatchLive {
    /// The keyword on screen; null clears it.
    #[serde(default, deserialize_with = "some_option")]
    pub(super) current: Option<Option<String>>,
    pub(super) state: Option<LiveState>,
    pub(super) lineup: Option<Vec<LineupInput>>,
}

/// Tells an absent field (no change) from an explicit null (clear).
fn some_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Sets the product on screen, the state or the lineup.
#[utoipa::path(patch, path = "/lives/{id}", tag = "lives", params(("id" = i64, Path)), request_body = PatchLive,
    responses((status = 200, body = Live), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn patch_live(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<PatchLive>,
) -> Result<Json<Live>, ApiError> {
    patch(&state, id, input).await.map(Json)
}

/// Checks and applies a change to a live; the API and the console's forms both come here.
pub(super) async fn patch(state: &AppState, id: i64, input: PatchLive) -> Result<Live, ApiError> {
    let existing = state
        .store
        .live(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no live session {id}")))?;
    let lineup = match input.lineup {
        Some(lineup) => Some(check_lineup(state, lineup).await?),
        None => None,
    };
    if let Some(lineup) = &lineup {
        super::sandbox::check_lineup_products(state, existing.sandbox, lineup).await?;
    }
    let current = match &input.current {
        Some(current) => current.as_deref(),
        None => existing.current.as_deref(),
    };
    check_current(current, lineup.as_deref().unwrap_or(&existing.lineup))?;
    let patch = LivePatch {
        current: input.current,
        state: input.state,
        lineup,
    };
    state
        .store
        .patch_live(id, &patch)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no live session {id}")))
}
