//! The owner's settings: reply templates with a preview, the payment methods, pickup
//! stores and delivery switch checkout offers (edited here, else the config's), Pages and
//! their tokens, and links to users and API tokens. The same checks as
//! `/api/v1/templates`, `/api/v1/settings/checkout` and `/api/v1/pages`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use minijinja::{context, Value};
use secrecy::SecretString;
use serde::Deserialize;

use super::super::shop_checkout::{self, ChoicesSource};
use super::{failed, now_ms, render, Ctx, NoticeQuery};
use crate::checkout::config::ProviderKind;
use crate::checkout::page::method_label;
use crate::console::page::local_time;
use crate::console::settings_lang::SettingsTexts;
use crate::http::AppState;
use crate::i18n::Lang;
use crate::outbox::templates::{self, TemplateError, Templates};
use crate::store::{ShopCheckout, ShopPaymentMethod};
use crate::vocab::PaymentKind;

const PLATFORMS: [&str; 3] = ["facebook", "instagram", "telegram"];
/// Empty store boxes under the stores named.
const BLANK_STORES: usize = 2;

/// The checkout choices as the form shows them: saved, or as just posted when refused.
struct ChoicesForm {
    /// (kind, instructions); an empty kind is a blank row.
    methods: Vec<(String, String)>,
    stores: Vec<String>,
    delivery: bool,
    /// Why the posted choices were refused.
    error: Option<String>,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(page))
        .route("/settings/pages", post(save_page))
        .route("/settings/checkout", post(save_checkout))
        .route(
            "/settings/templates/{lang}/{name}",
            get(template_page).post(template_form),
        )
}

#[derive(Deserialize)]
struct SettingsQuery {
    notice: Option<String>,
    /// The templates' language shown; the page's own when absent.
    tlang: Option<String>,
}

async fn view(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    tlang: Option<&str>,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    view_with(state, ctx, status, tlang, notice, error, None).await
}

async fn view_with(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    tlang: Option<&str>,
    notice: Option<&str>,
    error: Option<&str>,
    posted: Option<ChoicesForm>,
) -> Response {
    let s = SettingsTexts::get(ctx.lang);
    let lang = tlang.and_then(Lang::parse).unwrap_or(ctx.lang);
    let rows = match state.store.templates(Some(lang.tag())).await {
        Ok(rows) => rows,
        Err(err) => return failed(err),
    };
    let templates: Vec<Value> = rows
        .iter()
        .map(|t| {
            context! {
                name => t.name,
                first_line => t.body.lines().next().unwrap_or_default(),
                is_default => t.is_default,
            }
        })
        .collect();
    let langs: Vec<Value> = Lang::ALL
        .iter()
        .map(|l| context! { tag => l.tag(), current => *l == lang })
        .collect();
    let pages = match state.store.list_pages().await {
        Ok(pages) => pages,
        Err(err) => return failed(err),
    };
    let effective = match shop_checkout::effective(state).await {
        Ok(effective) => effective,
        Err(err) => return failed(err),
    };
    let source = match (
        effective.source,
        &effective.updated_by,
        effective.updated_at_ms,
    ) {
        (ChoicesSource::Console, Some(who), Some(when)) => s
            .source_console
            .replace("{who}", who)
            .replace("{when}", &local_time(when)),
        _ => s.source_config.to_string(),
    };
    let form = posted.unwrap_or_else(|| ChoicesForm {
        methods: effective
            .payment_methods
            .iter()
            .map(|m| (m.kind.as_str().to_string(), m.instructions.clone()))
            .collect(),
        stores: effective.pickup_stores.clone(),
        delivery: effective.delivery,
        error: None,
    });
    let hosted = state.config.payments.provider == ProviderKind::Hosted;
    let kinds: Vec<Value> = PaymentKind::ALL
        .iter()
        .filter(|k| hosted || **k != PaymentKind::Hosted)
        .map(|k| context! { value => k.as_str(), label => method_label(ctx.lang.texts(), *k) })
        .collect();
    // One row per method the shop may offer: the chosen ones, then blank ones.
    let rows = form.methods.len().max(kinds.len());
    let methods: Vec<Value> = (0..rows)
        .map(|i| {
            let (kind, instructions) = form.methods.get(i).cloned().unwrap_or_default();
            context! { n => i + 1, kind => kind, instructions => instructions }
        })
        .collect();
    let stores: Vec<Value> = form
        .stores
        .iter()
        .cloned()
        .chain(std::iter::repeat_n(String::new(), BLANK_STORES))
        .enumerate()
        .map(|(i, name)| context! { n => i + 1, name => name })
        .collect();
    render(
        ctx,
        status,
        "settings.html",
        context! {
            s => s,
            tlang => lang.tag(),
            langs => langs,
            templates => templates,
            methods => methods,
            kinds => kinds,
            stores => stores,
            delivery => form.delivery,
            choices_source => source,
            choices_error => form.error,
            pages => pages,
            platforms => PLATFORMS,
            notice => notice,
            error => error,
        },
    )
}

async fn page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(query): Query<SettingsQuery>,
) -> Response {
    let s = SettingsTexts::get(ctx.lang);
    let notice = match query.notice.as_deref() {
        Some("page_saved") => Some(s.page_saved),
        Some("checkout_saved") => Some(s.checkout_saved),
        _ => None,
    };
    view(
        &state,
        &ctx,
        StatusCode::OK,
        query.tlang.as_deref(),
        notice,
        None,
    )
    .await
}

#[derive(Deserialize)]
struct PageForm {
    #[serde(default)]
    platform: String,
    #[serde(default)]
    page_id: String,
    #[serde(default)]
    access_token: String,
}

async fn save_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<PageForm>,
) -> Response {
    let s = SettingsTexts::get(ctx.lang);
    let page_id = form.page_id.trim();
    let token = form.access_token.trim();
    if !PLATFORMS.contains(&form.platform.as_str())
        || page_id.is_empty()
        || page_id.chars().count() > 100
        || token.is_empty()
    {
        return view(
            &state,
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            None,
            Some(s.err_page),
        )
        .await;
    }
    let token = SecretString::from(token.to_string());
    match state
        .store
        .upsert_page(&form.platform, page_id, &token)
        .await
    {
        Ok(_) => Redirect::to("/settings?notice=page_saved").into_response(),
        Err(err) => failed(err),
    }
}

/// The checkout choices form: `method_kind` and `method_instructions` once per row (an
/// empty kind leaves the row out), `pickup_store` once per box (empty ones left out), and
/// `delivery` when ticked. Saved whole through the API's checks.
async fn save_checkout(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let s = SettingsTexts::get(ctx.lang);
    let column = |name: &str| -> Vec<String> {
        fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let kinds = column("method_kind");
    let instructions = column("method_instructions");
    let methods: Vec<(String, String)> = kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| (kind, instructions.get(i).cloned().unwrap_or_default()))
        .filter(|(kind, _)| !kind.trim().is_empty())
        .collect();
    let stores: Vec<String> = column("pickup_store")
        .into_iter()
        .filter(|name| !name.trim().is_empty())
        .collect();
    let delivery = fields.iter().any(|(k, _)| k == "delivery");
    let mut form = ChoicesForm {
        methods,
        stores,
        delivery,
        error: None,
    };
    let parsed: Option<Vec<ShopPaymentMethod>> = form
        .methods
        .iter()
        .map(|(kind, instructions)| {
            PaymentKind::parse(kind.trim()).map(|kind| ShopPaymentMethod {
                kind,
                instructions: instructions.clone(),
            })
        })
        .collect();
    let refused = |form: ChoicesForm| {
        view_with(
            &state,
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            None,
            None,
            Some(form),
        )
    };
    let Some(payment_methods) = parsed else {
        form.error = Some(s.err_choices_form.to_string());
        return refused(form).await;
    };
    let choices = ShopCheckout {
        payment_methods,
        pickup_stores: form.stores.clone(),
        delivery: form.delivery,
    };
    match shop_checkout::save(&state, choices, ctx.username()).await {
        Ok(Ok(())) => Redirect::to("/settings?notice=checkout_saved#payments").into_response(),
        Ok(Err(problem)) => {
            let label = match (problem.key, problem.index) {
                ("payment_methods", Some(i)) => format!("{} {}: ", s.method, i + 1),
                ("pickup_stores", Some(i)) => format!("{} {}: ", s.store, i + 1),
                _ => String::new(),
            };
            form.error = Some(format!("{label}{}", s.choice_problem(problem.code)));
            refused(form).await
        }
        Err(err) => failed(err),
    }
}

/// A template's language and name from the path, when both exist.
fn template_of(lang: &str, name: &str) -> Option<(Lang, &'static [&'static str])> {
    Some((Lang::parse(lang)?, templates::variables_of(name)?))
}

#[allow(clippy::too_many_arguments)]
fn template_view(
    ctx: &Ctx,
    status: StatusCode,
    lang: Lang,
    name: &str,
    variables: &[&str],
    body: &str,
    preview: Option<String>,
    notice: Option<&str>,
    error: Option<String>,
) -> Response {
    let s = SettingsTexts::get(ctx.lang);
    render(
        ctx,
        status,
        "settings_template.html",
        context! {
            s => s,
            tlang => lang.tag(),
            name => name,
            variables => variables.iter().map(|v| format!("{{{v}}}")).collect::<Vec<_>>(),
            body => body,
            preview => preview,
            notice => notice,
            error => error,
        },
    )
}

async fn stored_texts(state: &AppState, lang: Lang) -> Result<Templates, Response> {
    match state.store.templates(Some(lang.tag())).await {
        Ok(rows) => Ok(Templates::with_stored(
            lang,
            rows.into_iter().map(|t| (t.name, t.body)),
        )),
        Err(err) => Err(failed(err)),
    }
}

fn not_found(ctx: &Ctx) -> Response {
    let t = ctx.t();
    ctx.message(StatusCode::NOT_FOUND, t.err_not_found, t.err_not_found)
}

async fn template_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((lang, name)): Path<(String, String)>,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let s = SettingsTexts::get(ctx.lang);
    let Some((lang, variables)) = template_of(&lang, &name) else {
        return not_found(&ctx);
    };
    let texts = match stored_texts(&state, lang).await {
        Ok(texts) => texts,
        Err(page) => return page,
    };
    let body = match state.store.templates(Some(lang.tag())).await {
        Ok(rows) => rows
            .into_iter()
            .find(|t| t.name == name)
            .map(|t| t.body)
            .unwrap_or_default(),
        Err(err) => return failed(err),
    };
    let preview = templates::preview(&name, &texts, now_ms()).ok();
    let notice = (query.notice.as_deref() == Some("saved")).then_some(s.saved);
    template_view(
        &ctx,
        StatusCode::OK,
        lang,
        &name,
        variables,
        &body,
        preview,
        notice,
        None,
    )
}

#[derive(Deserialize)]
struct TemplateForm {
    #[serde(default)]
    body: String,
    /// `preview` shows the text without saving it; anything else saves.
    #[serde(default)]
    action: String,
}

async fn template_form(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((lang, name)): Path<(String, String)>,
    Form(form): Form<TemplateForm>,
) -> Response {
    let s = SettingsTexts::get(ctx.lang);
    let Some((lang, variables)) = template_of(&lang, &name) else {
        return not_found(&ctx);
    };
    // Browsers send a textarea's line breaks as CRLF.
    let body = form.body.replace("\r\n", "\n");
    let refused = |error: String| {
        template_view(
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            &name,
            variables,
            &body,
            None,
            None,
            Some(error),
        )
    };
    if body.trim().is_empty() || body.len() > 2_000 {
        return refused(s.err_body.to_string());
    }
    if let Err(err) = templates::check(&name, &body) {
        return match err {
            TemplateError::UnknownVariable { variable, .. } => {
                refused(format!("{}{{{variable}}}", s.err_variable))
            }
            TemplateError::UnknownTemplate(_) => not_found(&ctx),
        };
    }
    if form.action == "preview" {
        let mut texts = match stored_texts(&state, lang).await {
            Ok(texts) => texts,
            Err(page) => return page,
        };
        texts.set(&name, &body);
        let preview = match templates::preview(&name, &texts, now_ms()) {
            Ok(text) => text,
            Err(err) => return refused(err.to_string()),
        };
        return template_view(
            &ctx,
            StatusCode::OK,
            lang,
            &name,
            variables,
            &body,
            Some(preview),
            None,
            None,
        );
    }
    match state
        .store
        .set_template(&name, lang.tag(), &body, now_ms())
        .await
    {
        Ok(()) => Redirect::to(&format!(
            "/settings/templates/{}/{name}?notice=saved",
            lang.tag()
        ))
        .into_response(),
        Err(err) => failed(err),
    }
}
