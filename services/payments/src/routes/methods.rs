//! `/api/payments/methods`: a customer's saved cards and wallets.

use crate::db::methods::MethodRow;
use crate::methods::{self, MethodType, Primacy};
use crate::provider::MethodSource;
use crate::state::AppState;
use actix_web::web;
use auth_token::{Authenticated, Customer};
use chrono::{DateTime, Utc};
use domain::input::Validation;
use domain::{Listed, Page, PaymentMethodId, Problem};
use platform::api::{Created, NoContent};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MethodView {
    pub id: PaymentMethodId,
    /// card, apple_pay or google_pay.
    #[serde(rename = "type")]
    pub method_type: MethodType,
    pub card_brand: Option<String>,
    pub last_four: Option<String>,
    pub exp_month: Option<i16>,
    pub exp_year: Option<i16>,
    pub is_primary: bool,
    pub created_at: DateTime<Utc>,
}

impl Listed for MethodView {
    const KEY: &'static str = "paymentMethods";
}

impl From<&MethodRow> for MethodView {
    fn from(row: &MethodRow) -> Self {
        Self {
            id: row.id,
            method_type: row.method_type,
            card_brand: row.card_brand.clone(),
            last_four: row.last_four.clone(),
            exp_month: row.exp_month,
            exp_year: row.exp_year,
            is_primary: row.is_primary,
            created_at: row.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddMethodRequest {
    /// card, apple_pay or google_pay.
    #[serde(rename = "type")]
    #[schema(value_type = Option<MethodType>)]
    pub method_type: Option<String>,
    /// A PaymentMethod made with Stripe's SDK (`pm_...`); required for cards.
    pub stripe_payment_method_id: Option<String>,
    /// An Apple Pay or Google Pay token (`tok_...`); for wallets, instead of the above.
    pub token: Option<String>,
    pub is_primary: Option<bool>,
}

/// A provider id as clients send it: short, no spaces or control characters.
fn provider_id(v: &mut Validation, field: &str, value: &str, prefix: &str) -> Option<String> {
    let value = value.trim();
    let valid = value.starts_with(prefix)
        && value.len() <= 255
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Some(value.to_owned())
    } else {
        v.add(field, format!("must be an id starting with {prefix}"));
        None
    }
}

impl AddMethodRequest {
    fn parse(&self) -> Result<(MethodType, MethodSource), Problem> {
        let mut v = Validation::new();
        let method_type = match self.method_type.as_deref().map(str::parse::<MethodType>) {
            Some(Ok(kind)) => Some(kind),
            Some(Err(_)) => {
                v.add("type", "must be card, apple_pay or google_pay");
                None
            }
            None => {
                v.add("type", "is required");
                None
            }
        };
        let source = match (&self.stripe_payment_method_id, &self.token, method_type) {
            (Some(_), Some(_), _) => {
                v.add(
                    "token",
                    "give either stripePaymentMethodId or token, not both",
                );
                None
            }
            (Some(id), None, _) => provider_id(&mut v, "stripePaymentMethodId", id, "pm_")
                .map(MethodSource::PaymentMethod),
            (None, Some(_), Some(MethodType::Card)) => {
                v.add("token", "cards are saved with stripePaymentMethodId");
                None
            }
            (None, Some(token), _) => {
                provider_id(&mut v, "token", token, "tok_").map(MethodSource::WalletToken)
            }
            (None, None, Some(MethodType::Card)) => {
                v.add("stripePaymentMethodId", "is required for a card");
                None
            }
            (None, None, _) => {
                v.add(
                    "token",
                    "is required for a wallet (or give stripePaymentMethodId)",
                );
                None
            }
        };
        v.finish(|| Some((method_type?, source?)))
    }
}

/// The caller's saved payment methods, primary first.
#[utoipa::path(get, path = "/api/payments/methods", tag = "payments",
    responses((status = 200, description = "Every saved method (at most `PAYMENTS_MAX_METHODS`, so one page)", body = Page<MethodView>)),
    security(("bearer" = [])))]
pub async fn list_methods(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
) -> Result<web::Json<Page<MethodView>>, Problem> {
    let mut conn = state.db().await?;
    let rows = crate::db::methods::list(&mut conn, customer.user_id()).await?;
    Ok(web::Json(Page::all(
        rows.iter().map(MethodView::from).collect(),
    )))
}

/// Save a card (`stripePaymentMethodId`) or an Apple Pay / Google Pay token.
#[utoipa::path(post, path = "/api/payments/methods", tag = "payments", request_body = AddMethodRequest,
    responses((status = 201, description = "Saved", body = MethodView,
            headers(("Location" = String, description = "The method's path"))),
        (status = 422, description = "`BUSINESS_RULE`: the provider refused it (unknown payment method or token), or the customer keeps the most methods allowed"),
        (status = 429, description = "`RATE_LIMITED`: too many methods tried this hour; wait `Retry-After` seconds")),
    security(("bearer" = [])))]
pub async fn add_method(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
    body: web::Json<AddMethodRequest>,
) -> Result<Created<MethodView>, Problem> {
    let (method_type, source) = body.parse()?;
    let primacy = if body.is_primary == Some(true) {
        Primacy::Primary
    } else {
        Primacy::IfFirst
    };
    let row = methods::add(&state, customer.user_id(), method_type, &source, primacy).await?;
    Ok(Created::at(
        format!("/api/payments/methods/{}", row.id),
        MethodView::from(&row),
    ))
}

/// Remove a saved method (detached at the provider).
#[utoipa::path(delete, path = "/api/payments/methods/{id}", tag = "payments",
    params(("id" = PaymentMethodId, Path, description = "The saved method")),
    responses((status = 204, description = "Removed"),
        (status = 404, description = "`NOT_FOUND`: no such method of the caller's")),
    security(("bearer" = [])))]
pub async fn remove_method(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
    id: web::Path<PaymentMethodId>,
) -> Result<NoContent, Problem> {
    methods::remove(&state, customer.user_id(), *id).await?;
    Ok(NoContent)
}
