//! The sandbox provider's stand-in for the customer's side (Stripe.js and the 3-D Secure
//! window): only mounted when `PAYMENT_PROVIDER=sandbox`.

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
    responses((status = 202), (status = 400, body = domain::ProblemBody), (status = 404, body = domain::ProblemBody),
        (status = 422, body = domain::ProblemBody)))]
pub async fn complete_action(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<ActionRequest>,
) -> Result<HttpResponse, Problem> {
    let Some(sandbox) = &state.sandbox else {
        return Err(Problem::not_found("The sandbox provider is not in use."));
    };
    let authenticated = match body.outcome.as_deref() {
        Some("authenticate") => true,
        Some("fail") => false,
        _ => {
            return Err(Problem::validation(vec![domain::FieldError::new(
                "outcome",
                "must be authenticate or fail",
            )]));
        }
    };
    sandbox.complete_action(&id, authenticated).await?;
    Ok(HttpResponse::Accepted().finish())
}
