//! `POST /api/payments/create-intent` (the guide's endpoint): a PaymentIntent for one of the
//! caller's own pending orders, for the amount that order owes — never an amount the client
//! picks — for confirmation in the app (Stripe.js). The outcome arrives by webhook.

use crate::db::payments::PaymentStatus;
use crate::intents;
use crate::state::AppState;
use actix_web::web;
use auth_token::{Authenticated, Customer};
use domain::input::Validation;
use domain::{Money, OrderId, PaymentId, PaymentMethodId, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateIntentRequest {
    #[schema(value_type = Option<OrderId>)]
    pub order_id: Option<String>,
    /// What the client believes it pays (dollars, e.g. 45.99 or "45.99"); refused (422) when
    /// it is not what the order owes.
    #[schema(value_type = Option<String>)]
    pub amount: Option<serde_json::Value>,
    /// A saved method (payments' id); the order's, else the primary one.
    #[schema(value_type = Option<PaymentMethodId>)]
    pub payment_method_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntentView {
    pub payment_id: PaymentId,
    pub payment_intent_id: Option<String>,
    pub client_secret: Option<String>,
    /// requires_action (confirm it in the app), succeeded or failed.
    pub status: PaymentStatus,
    #[schema(value_type = String, example = "45.99")]
    pub amount: Money,
}

fn amount(v: &mut Validation, value: Option<&serde_json::Value>) -> Option<Money> {
    let text = match value? {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        _ => {
            v.add("amount", "must be an amount like 45.99");
            return None;
        }
    };
    v.check("amount", Money::parse(&text))
}

fn id<T: From<uuid::Uuid>>(v: &mut Validation, field: &str, value: &str, what: &str) -> Option<T> {
    v.check(
        field,
        uuid::Uuid::parse_str(value.trim())
            .map(T::from)
            .map_err(|_| domain::ParseError::unnamed(format!("must be {what}"))),
    )
}

/// A PaymentIntent for the caller's pending order, confirmed in the app.
#[utoipa::path(post, path = "/api/payments/create-intent", tag = "payments", request_body = CreateIntentRequest,
    responses((status = 200, description = "The PaymentIntent to confirm in the app", body = IntentView),
        (status = 404, description = "`NOT_FOUND`: not the caller's pending order"),
        (status = 409, description = "`CONFLICT`: the order is paid already"),
        (status = 422, description = "`BUSINESS_RULE`: the amount is not what the order owes by card (`amountDue`), or FS Coins cover it all")),
    security(("bearer" = [])))]
pub async fn create_intent(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
    body: web::Json<CreateIntentRequest>,
) -> Result<web::Json<IntentView>, Problem> {
    let mut v = Validation::new();
    let order_id: Option<OrderId> = match body.order_id.as_deref() {
        Some(text) => id(&mut v, "orderId", text, "an order id"),
        None => {
            v.add("orderId", "is required");
            None
        }
    };
    let claimed = amount(&mut v, body.amount.as_ref());
    let method: Option<PaymentMethodId> = body
        .payment_method_id
        .as_deref()
        .and_then(|s| id(&mut v, "paymentMethodId", s, "a payment method id"));
    let order_id = v.finish(|| order_id)?;
    let payment =
        intents::create_for_order(&state, customer.user_id(), order_id, claimed, method).await?;
    Ok(web::Json(IntentView {
        payment_id: payment.id,
        payment_intent_id: payment.provider_payment_id.clone(),
        client_secret: payment.client_secret.clone(),
        status: payment.status,
        amount: Money::from_cents(payment.card_amount_cents).unwrap_or(Money::ZERO),
    }))
}
