//! `/api/v1/templates`: the reply texts per language, their variables, and a preview with
//! sample facts. There is one shop per deployment, so templates are keyed by
//! (name, language).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Path, Query};
use super::{ApiJson, AppState};
use crate::i18n::Lang;
use crate::outbox::templates::{self, TemplateError, Templates};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_templates))
        .routes(routes!(get_template, put_template))
        .routes(routes!(preview_template))
}

#[derive(Serialize, ToSchema)]
struct TemplateView {
    name: String,
    lang: String,
    body: String,
    /// The `{variables}` this template may use.
    variables: Vec<String>,
    /// True while the text is the shipped default.
    is_default: bool,
    updated_at_ms: i64,
}

#[derive(Deserialize, IntoParams)]
struct LangQuery {
    /// zh-HK, zh-TW or en; all languages when absent.
    #[param(pattern = "^(zh-HK|zh-TW|en)$")]
    lang: Option<String>,
}

#[derive(Deserialize, ToSchema)]
struct TemplateBody {
    body: String,
}

#[derive(Deserialize, ToSchema)]
struct PreviewRequest {
    name: String,
    /// The shop's language (`outbox.language`) when absent.
    #[schema(pattern = "^(zh-HK|zh-TW|en)$")]
    lang: Option<String>,
    /// A text to try instead of the stored one; it is not saved.
    body: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct Preview {
    name: String,
    lang: String,
    /// The reply as a buyer would read it, with sample facts (two items, HK$, a link).
    text: String,
}

fn lang_of(tag: &str) -> Result<Lang, ApiError> {
    Lang::parse(tag).ok_or_else(|| {
        ApiError::unprocessable("invalid_language", "`lang` must be zh-HK, zh-TW or en")
            .with_detail("lang", tag)
    })
}

fn template_error(err: TemplateError) -> ApiError {
    match &err {
        TemplateError::UnknownTemplate(name) => {
            ApiError::not_found(err.to_string()).with_detail("name", name.as_str())
        }
        TemplateError::UnknownVariable {
            template, variable, ..
        } => ApiError::unprocessable("unknown_variable", err.to_string())
            .with_detail("template", template.as_str())
            .with_detail("variable", variable.as_str()),
    }
}

fn view(row: crate::store::TemplateRow) -> TemplateView {
    let variables = templates::variables_of(&row.name)
        .unwrap_or_default()
        .iter()
        .map(|v| v.to_string())
        .collect();
    TemplateView {
        name: row.name,
        lang: row.lang,
        body: row.body,
        variables,
        is_default: row.is_default,
        updated_at_ms: row.updated_at_ms,
    }
}

/// Every reply text, by language and name, with the variables each accepts.
#[utoipa::path(get, path = "/templates", tag = "templates", params(LangQuery),
    responses((status = 200, body = Vec<TemplateView>), (status = 422, body = ErrorBody)))]
async fn list_templates(
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
) -> Result<Json<Vec<TemplateView>>, ApiError> {
    let lang = query.lang.as_deref().map(lang_of).transpose()?;
    let rows = state.store.templates(lang.map(Lang::tag)).await?;
    Ok(Json(rows.into_iter().map(view).collect()))
}

/// One reply text.
#[utoipa::path(get, path = "/templates/{lang}/{name}", tag = "templates",
    params(("lang" = String, Path, pattern = "^(zh-HK|zh-TW|en)$"), ("name" = String, Path)),
    responses((status = 200, body = TemplateView), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn get_template(
    State(state): State<AppState>,
    Path((lang, name)): Path<(String, String)>,
) -> Result<Json<TemplateView>, ApiError> {
    let lang = lang_of(&lang)?;
    state
        .store
        .templates(Some(lang.tag()))
        .await?
        .into_iter()
        .find(|t| t.name == name)
        .map(|t| Json(view(t)))
        .ok_or_else(|| template_error(TemplateError::UnknownTemplate(name)))
}

/// Replaces a reply text. It may use only its template's variables (422
/// `unknown_variable` names the first other one); replies use it from the next batch.
#[utoipa::path(put, path = "/templates/{lang}/{name}", tag = "templates",
    params(("lang" = String, Path, pattern = "^(zh-HK|zh-TW|en)$"), ("name" = String, Path)), request_body = TemplateBody,
    responses((status = 200, body = TemplateView), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn put_template(
    State(state): State<AppState>,
    Path((lang, name)): Path<(String, String)>,
    ApiJson(request): ApiJson<TemplateBody>,
) -> Result<Json<TemplateView>, ApiError> {
    let lang = lang_of(&lang)?;
    templates::check(&name, &request.body).map_err(template_error)?;
    if request.body.trim().is_empty() || request.body.len() > 2_000 {
        return Err(ApiError::unprocessable(
            "invalid_body",
            "`body` must be 1 to 2000 bytes",
        ));
    }
    let now = chrono::Utc::now().timestamp_millis();
    state
        .store
        .set_template(&name, lang.tag(), &request.body, now)
        .await?;
    get_template(State(state), Path((lang.tag().to_string(), name))).await
}

/// Renders a template (the stored text, or `body` if given) with sample facts. 422
/// `unknown_variable` names a variable the template does not have.
#[utoipa::path(post, path = "/templates/preview", tag = "templates", request_body = PreviewRequest,
    responses((status = 200, body = Preview), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn preview_template(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<PreviewRequest>,
) -> Result<Json<Preview>, ApiError> {
    let lang = lang_of(
        request
            .lang
            .as_deref()
            .unwrap_or(&state.config.outbox.language),
    )?;
    if templates::variables_of(&request.name).is_none() {
        return Err(template_error(TemplateError::UnknownTemplate(request.name)));
    }
    let stored = state.store.templates(Some(lang.tag())).await?;
    let mut texts = Templates::with_stored(lang, stored.into_iter().map(|t| (t.name, t.body)));
    if let Some(body) = &request.body {
        texts.set(&request.name, body);
    }
    let now = chrono::Utc::now().timestamp_millis();
    let text = templates::preview(&request.name, &texts, now).map_err(template_error)?;
    Ok(Json(Preview {
        name: request.name,
        lang: lang.tag().to_string(),
        text,
    }))
}
