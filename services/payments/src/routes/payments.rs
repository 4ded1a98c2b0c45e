//! `POST /api/payments/create-intent` (the guide's endpoint): a PaymentIntent for one of the
//! caller's own pending orders, for the amount that order owes — never an amount the client
//! picks — for confirmation in the app (Stripe.js). The outcome arrives by webhook.

use crate::intents;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use auth_token::{Authenticated, Customer};
use domain::input::Validation;
use domain::{Money, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateIntentRequest {
    pub order_id: Option<String>,
    /// What the client believes it pays (dollars, e.g. 45.99 or "45.99"); refused (422) when
    /// it is not what the order owes.
    #[schema(value_type = Option<String>)]
    pub amount: Option<serde_json::Value>,
    /// A saved method (payments' id); the order's, else the primary one.
    pub payment_method_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntentView {
    pub payment_id: Uuid,
    pub payment_intent_id: Option<String>,
    pub client_secret: Option<String>,
    /// requires_action (confirm it in the app), succeeded or failed.
    pub status: String,
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

/// A PaymentIntent for the caller's pending order, confirmed in the app.
#[utoipa::path(post, path = "/api/payments/create-intent", tag = "payments", request_body = CreateIntentRequest,
    responses((status = 200, body = IntentView), (status = 400, body = domain::ProblemBody),
        (status = 404, description = "Not the caller's pending order", body = domain::ProblemBody),
        (status = 409, description = "Already paid", body = domain::ProblemBody),
        (status = 422, description = "Wrong amount, or nothing to pay by card", body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn create_intent(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
    body: web::Json<CreateIntentRequest>,
) -> Result<HttpResponse, Problem> {
    let mut v = Validation::new();
    let order_id = v.required("orderId", body.order_id.as_deref(), |s| {
        Uuid::parse_str(s.trim()).map_err(|_| domain::ParseError::unnamed("must be an order id"))
    });
    let claimed = amount(&mut v, body.amount.as_ref());
    let method = body.payment_method_id.as_deref().and_then(|s| {
        v.check(
            "paymentMethodId",
            Uuid::parse_str(s.trim())
                .map_err(|_| domain::ParseError::unnamed("must be a payment method id")),
        )
    });
    let order_id = v.finish(|| order_id)?;
    let payment = intents::create_for_order(
        &state,
        customer.user_id().into_inner(),
        order_id,
        claimed,
        method,
    )
    .await?;
    Ok(HttpResponse::Ok().json(IntentView {
        payment_id: payment.id,
        payment_intent_id: payment.provider_payment_id.clone(),
        client_secret: payment.client_secret.clone(),
        status: payment.status.clone(),
        amount: Money::from_cents(payment.card_amount_cents).unwrap_or(Money::ZERO),
    }))
}
