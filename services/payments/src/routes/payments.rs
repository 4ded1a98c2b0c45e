//! `POST /api/payments/create-intent` (the guide's endpoint): a PaymentIntent for one of the
//! caller's own pending orders, for the amount that order owes — never an amount the client
//! picks — for confirmation in the app (Stripe.js). The outcome arrives by webhook.
//!
//! The guide's request, `{amount, paymentMethodId}`, names no order: it pays the caller's
//! newest order still waiting for payment, and `amount` (dollars, as the guide's number) must
//! be what that order owes by card, else 422 naming the right `amount`.

use crate::db::payments::PaymentStatus;
use crate::intents::{self, MethodRef, Target};
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
    /// The order to pay; without it (the guide's request), the caller's newest order still
    /// waiting for payment.
    #[schema(value_type = Option<OrderId>)]
    pub order_id: Option<String>,
    /// What the client believes it pays, in dollars: a number (`39.99`, as the guide sends
    /// it) or a decimal string (`"39.99"`), at most two decimal places. It never sets what is
    /// charged: refused (422, with the right `amount`) when it is not what the order owes by
    /// card after FS Coins.
    #[schema(schema_with = domain::money::number_or_string_schema)]
    pub amount: Option<serde_json::Value>,
    /// One of the caller's saved methods: its id (`GET /api/payments/methods`) or the
    /// provider's id it was saved with (`pm_...`, as the guide sends it); 404 for any other.
    /// Without it, the order's method, else the primary one.
    #[schema(value_type = Option<String>, example = "pm_card_visa")]
    pub payment_method_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntentView {
    pub payment_id: PaymentId,
    /// The order this payment is for (the one named, or the one found).
    pub order_id: OrderId,
    pub payment_intent_id: Option<String>,
    /// For Stripe.js (`confirmCardPayment`) in the app.
    pub client_secret: Option<String>,
    /// requires_action (confirm it in the app), succeeded or failed.
    pub status: PaymentStatus,
    /// What the card is charged (the order's total less FS Coins).
    #[schema(value_type = String, example = "45.99")]
    pub amount: Money,
}

/// Read like every amount the guide sends as a number (`domain::money::number_or_string`),
/// here from the JSON value so that a refusal names the field.
fn amount(v: &mut Validation, value: Option<&serde_json::Value>) -> Option<Money> {
    match domain::money::number_or_string(value?) {
        Ok(amount) => Some(amount),
        Err(err) => {
            v.add("amount", err.to_string());
            None
        }
    }
}

fn id<T: From<uuid::Uuid>>(v: &mut Validation, field: &str, value: &str, what: &str) -> Option<T> {
    v.check(
        field,
        uuid::Uuid::parse_str(value.trim())
            .map(T::from)
            .map_err(|_| domain::ParseError::unnamed(format!("must be {what}"))),
    )
}

/// A saved method's id, ours (a UUID) or the provider's (`pm_...`).
fn method(v: &mut Validation, value: &str) -> Option<MethodRef> {
    let value = value.trim();
    if let Ok(id) = uuid::Uuid::parse_str(value) {
        return Some(MethodRef::Id(PaymentMethodId::from(id)));
    }
    let provider_id = !value.is_empty()
        && value.len() <= 255
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if provider_id {
        Some(MethodRef::Provider(value.to_owned()))
    } else {
        v.add(
            "paymentMethodId",
            "must be a saved payment method's id or its provider's id (pm_...)",
        );
        None
    }
}

/// A PaymentIntent for the caller's pending order, confirmed in the app.
///
/// The guide's request (`{amount, paymentMethodId}`, no `orderId`) pays the caller's newest
/// order still waiting for payment. `amount` never sets what is charged: it must be what the
/// order owes by card after FS Coins, else 422 naming the right `amount`.
#[utoipa::path(post, path = "/api/payments/create-intent", tag = "payments", request_body = CreateIntentRequest,
    responses((status = 200, description = "The PaymentIntent to confirm in the app", body = IntentView),
        (status = 404, description = "`NOT_FOUND`: not the caller's pending order (or, without `orderId`, no order waiting for payment), or not one of the caller's saved payment methods"),
        (status = 409, description = "`CONFLICT`: the order is paid already"),
        (status = 422, description = "`BUSINESS_RULE`: the amount is not what the order owes by card (`amount`, dollars as a number; `amountDue`, the same as a string; `orderId`), or FS Coins cover it all")),
    security(("bearer" = [])))]
pub async fn create_intent(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
    body: web::Json<CreateIntentRequest>,
) -> Result<web::Json<IntentView>, Problem> {
    let mut v = Validation::new();
    let target = body
        .order_id
        .as_deref()
        .map(|text| id(&mut v, "orderId", text, "an order id").map(Target::Order));
    let claimed = amount(&mut v, body.amount.as_ref());
    let method = body
        .payment_method_id
        .as_deref()
        .and_then(|s| method(&mut v, s));
    let target = v.finish(|| target.unwrap_or(Some(Target::AwaitingPayment)))?;
    let payment =
        intents::create_for_order(&state, customer.user_id(), target, claimed, method).await?;
    Ok(web::Json(IntentView {
        payment_id: payment.id,
        order_id: payment.order_id,
        payment_intent_id: payment.provider_payment_id.clone(),
        client_secret: payment.client_secret.clone(),
        status: payment.status,
        amount: Money::from_cents(payment.card_amount_cents).unwrap_or(Money::ZERO),
    }))
}
