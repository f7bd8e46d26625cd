//! `/api/v1/settings/checkout`: the payment methods, pickup stores and delivery switch
//! checkout offers, read and replaced whole by the owner. Until the owner saves them they
//! come from the config (`checkout.payment_methods`, `checkout.pickup_stores`,
//! `checkout.delivery`); once saved, the saved ones apply from the next page a buyer opens.

use axum::extract::State;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::{ApiJson, AppState};
use crate::auth::Caller;
use crate::checkout::config::{check_choices, tidy_choices, ChoiceProblem, ProviderKind};
use crate::store::{ShopCheckout, ShopPaymentMethod, StoreResult};
use crate::vocab::PaymentKind;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_checkout_settings, put_checkout_settings))
}

/// Where the choices in force come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ChoicesSource {
    /// The config file and environment: nothing was saved in the console.
    Config,
    /// Saved by the owner (console or this API); the config's are not used.
    Console,
}

/// The checkout choices in force.
#[derive(Serialize, ToSchema)]
pub(crate) struct CheckoutSettings {
    pub source: ChoicesSource,
    /// What buyers may pay with, in the order shown.
    pub payment_methods: Vec<ShopPaymentMethod>,
    /// Stores a buyer may pick up from, in the order shown; empty: no pickup.
    pub pickup_stores: Vec<String>,
    /// Whether buyers may ask for delivery.
    pub delivery: bool,
    /// When the owner saved them; absent while the config applies.
    pub updated_at_ms: Option<i64>,
    /// Who saved them (username or token name); absent while the config applies.
    pub updated_by: Option<String>,
}

/// A payment method as sent.
#[derive(Deserialize, ToSchema)]
struct PaymentMethodInput {
    kind: PaymentKind,
    /// What the buyer is told to do after confirming (at most 1000 characters).
    #[serde(default)]
    instructions: String,
}

/// The whole set of choices, replacing what is there.
#[derive(Deserialize, ToSchema)]
struct NewCheckoutSettings {
    /// At least one; each kind once; `hosted` only with `payments.provider = "hosted"`.
    payment_methods: Vec<PaymentMethodInput>,
    /// 0 to 50 names of 1 to 100 characters, each once.
    pickup_stores: Vec<String>,
    /// Off needs at least one pickup store.
    delivery: bool,
}

/// The choices in force, and where they come from.
pub(crate) async fn effective(state: &AppState) -> StoreResult<CheckoutSettings> {
    Ok(match state.store.shop_checkout().await? {
        Some(saved) => CheckoutSettings {
            source: ChoicesSource::Console,
            payment_methods: saved.checkout.payment_methods,
            pickup_stores: saved.checkout.pickup_stores,
            delivery: saved.checkout.delivery,
            updated_at_ms: Some(saved.updated_at_ms),
            updated_by: Some(saved.updated_by),
        },
        None => {
            let config = state.config.checkout.choices();
            CheckoutSettings {
                source: ChoicesSource::Config,
                payment_methods: config.payment_methods,
                pickup_stores: config.pickup_stores,
                delivery: config.delivery,
                updated_at_ms: None,
                updated_by: None,
            }
        }
    })
}

/// Checks and saves a whole set of choices; a refused set changes nothing.
pub(crate) async fn save(
    state: &AppState,
    choices: ShopCheckout,
    actor: &str,
) -> StoreResult<Result<(), ChoiceProblem>> {
    let choices = tidy_choices(choices);
    let hosted_available = state.config.payments.provider == ProviderKind::Hosted;
    if let Err(problem) = check_choices(&choices, hosted_available) {
        return Ok(Err(problem));
    }
    let now = chrono::Utc::now().timestamp_millis();
    state
        .store
        .replace_shop_checkout(&choices, actor, now)
        .await?;
    tracing::info!(
        methods = choices.payment_methods.len(),
        stores = choices.pickup_stores.len(),
        delivery = choices.delivery,
        "checkout choices saved"
    );
    Ok(Ok(()))
}

/// The payment methods, pickup stores and delivery switch checkout offers now, and
/// whether they come from the config or were saved by the owner.
#[utoipa::path(get, path = "/settings/checkout", tag = "settings",
    responses((status = 200, body = CheckoutSettings)))]
async fn get_checkout_settings(
    State(state): State<AppState>,
) -> Result<Json<CheckoutSettings>, ApiError> {
    Ok(Json(effective(&state).await?))
}

/// Replaces the payment methods, pickup stores and delivery switch whole; checkout uses
/// them from the next page a buyer opens, and the config's stop applying. The rules are
/// the config's: at least one method, each kind once (`repeated_method`), `hosted` only
/// with a provider (`hosted_unavailable`), instructions up to 1000 characters, store
/// names of 1 to 100 characters (`empty_store`, `store_too_long`), each once
/// (`repeated_store`), at most 50 (`too_many_stores`), and delivery off only with a
/// pickup store (`nothing_to_receive`). A refusal is 422 with `field` (e.g.
/// `pickup_stores[2]`) and changes nothing. Orders already confirmed keep what they chose.
#[utoipa::path(put, path = "/settings/checkout", tag = "settings",
    request_body = NewCheckoutSettings,
    responses((status = 200, body = CheckoutSettings), (status = 422, body = ErrorBody)))]
async fn put_checkout_settings(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<NewCheckoutSettings>,
) -> Result<Json<CheckoutSettings>, ApiError> {
    let choices = ShopCheckout {
        payment_methods: request
            .payment_methods
            .into_iter()
            .map(|m| ShopPaymentMethod {
                kind: m.kind,
                instructions: m.instructions,
            })
            .collect(),
        pickup_stores: request.pickup_stores,
        delivery: request.delivery,
    };
    if let Err(problem) = save(&state, choices, &caller.name).await? {
        return Err(
            ApiError::unprocessable(problem.code, problem.message.clone())
                .with_detail("field", problem.field()),
        );
    }
    Ok(Json(effective(&state).await?))
}
