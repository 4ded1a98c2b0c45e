//! The sandbox provider's stand-in for the customer's side (Stripe.js and the 3-D Secure
//! window): answers 404 unless `PAYMENT_PROVIDER=sandbox`.

use crate::provider::sandbox::CustomerAction;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use domain::Problem;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ActionRequest {
    /// `authenticate` (the customer passes 3-D Secure) or `fail`.
    pub outcome: Option<String>,
}

/// Complete a PaymentIntent's customer action; the outcome arrives at `/webhooks/stripe`.
#[utoipa::path(post, path = "/sandbox/payment_intents/{id}/action", tag = "sandbox", request_body = ActionRequest,
    params(("id" = String, Path, description = "The sandbox PaymentIntent (`pi_sbx...`)")),
    responses((status = 202, description = "Accepted; the outcome is delivered to the webhook"),
        (status = 404, description = "`NOT_FOUND`: the sandbox provider is not in use"),
        (status = 422, description = "`BUSINESS_RULE`: no such PaymentIntent, or it is not waiting for the customer")))]
pub async fn complete_action(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<ActionRequest>,
) -> Result<HttpResponse, Problem> {
    let Some(sandbox) = &state.sandbox else {
        return Err(Problem::not_found("The sandbox provider is not in use."));
    };
    let action = match body.outcome.as_deref() {
        Some("authenticate") => CustomerAction::Authenticate,
        Some("fail") => CustomerAction::Fail,
        _ => {
            return Err(Problem::validation(vec![domain::FieldError::new(
                "outcome",
                "must be authenticate or fail",
            )]));
        }
    };
    sandbox.complete_action(&id, action).await?;
    Ok(HttpResponse::Accepted().finish())
}
