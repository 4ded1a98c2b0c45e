//! `/api/admin/payments*`: find payments, refund part (or the rest) of one.

use crate::admin;
use crate::db;
use crate::db::payments::PaymentRow;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use auth_token::{Admin, Authenticated};
use chrono::{DateTime, Utc};
use domain::input::{BoundedText, Validation};
use domain::{Money, Pagination, PaginationQuery, Problem};
use platform::client::ClientInfo;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub customer_id: Uuid,
    pub attempt: i32,
    /// processing, requires_action, succeeded, failed or refunded.
    pub status: String,
    #[schema(value_type = String)]
    pub total: Money,
    pub points_redeemed: i64,
    #[schema(value_type = String)]
    pub card_amount: Money,
    #[schema(value_type = String)]
    pub refunded: Money,
    pub points_restored: i64,
    pub method_type: String,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub decline_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: DateTime<Utc>,
}

fn money(cents: i64) -> Money {
    Money::from_cents(cents).unwrap_or(Money::ZERO)
}

impl From<&PaymentRow> for PaymentView {
    fn from(row: &PaymentRow) -> Self {
        Self {
            id: row.id,
            order_id: row.order_id,
            customer_id: row.customer_id,
            attempt: row.attempt,
            status: row.status.clone(),
            total: money(row.total_cents),
            points_redeemed: row.points_redeemed,
            card_amount: money(row.card_amount_cents),
            refunded: money(row.refunded_cents),
            points_restored: row.points_restored,
            method_type: row.method_type.clone(),
            card_brand: row.card_brand.clone(),
            card_last4: row.card_last4.clone(),
            decline_code: row.decline_code.clone(),
            failure_message: row.failure_message.clone(),
            created_at: row.created_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PaymentQuery {
    /// processing, requires_action, succeeded, failed or refunded.
    pub status: Option<String>,
    pub customer_id: Option<String>,
    pub order_id: Option<String>,
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    #[param(value_type = Option<u64>)]
    pub offset: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentList {
    pub payments: Vec<PaymentView>,
    pub total: i64,
    pub has_more: bool,
}

const STATUSES: &[&str] = &[
    "processing",
    "requires_action",
    "succeeded",
    "failed",
    "refunded",
];

/// Payments, newest first.
#[utoipa::path(get, path = "/api/admin/payments", tag = "admin", params(PaymentQuery),
    responses((status = 200, body = PaymentList), (status = 400, body = domain::ProblemBody),
        (status = 403, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn list_payments(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    query: web::Query<PaymentQuery>,
) -> Result<HttpResponse, Problem> {
    let query = query.into_inner();
    let page = Pagination::from_query(PaginationQuery {
        limit: query.limit,
        offset: query.offset,
    })?;
    let mut v = Validation::new();
    let status = query.status.filter(|s| !s.is_empty());
    if let Some(status) = &status
        && !STATUSES.contains(&status.as_str())
    {
        v.add("status", format!("must be one of {}", STATUSES.join(", ")));
    }
    let id = |v: &mut Validation, field: &str, value: Option<String>| {
        value.filter(|s| !s.is_empty()).and_then(|s| {
            v.check(
                field,
                Uuid::parse_str(&s).map_err(|_| domain::ParseError::unnamed("must be a UUID")),
            )
        })
    };
    let customer = id(&mut v, "customerId", query.customer_id);
    let order = id(&mut v, "orderId", query.order_id);
    v.finish(|| Some(()))?;
    let filter = db::payments::PaymentFilter {
        status,
        customer,
        order,
    };
    let mut conn = state.db().await?;
    let (rows, total) = db::payments::search(&mut conn, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(PaymentList {
        payments: rows.iter().map(PaymentView::from).collect(),
        total,
        has_more: page.has_more(u64::try_from(total).unwrap_or_default()),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    /// Decimal string, e.g. "10.00"; at most what is left to refund.
    pub amount: Option<String>,
    /// Why (kept with the refund and in the audit log).
    pub reason: Option<String>,
}

/// Refund part (or the rest) of a payment's card amount.
#[utoipa::path(post, path = "/api/admin/payments/{id}/refunds", tag = "admin", request_body = RefundRequest,
    responses((status = 201, body = PaymentView), (status = 400, body = domain::ProblemBody),
        (status = 404, body = domain::ProblemBody), (status = 422, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn refund_payment(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    id: web::Path<Uuid>,
    body: web::Json<RefundRequest>,
) -> Result<HttpResponse, Problem> {
    let mut v = Validation::new();
    let amount = v.required("amount", body.amount.as_deref(), Money::parse);
    if amount.is_some_and(Money::is_zero) {
        v.add("amount", "must be more than 0.00");
    }
    let reason = v.required(
        "reason",
        body.reason.as_deref(),
        BoundedText::<3, 200>::parse,
    );
    let (amount, reason) = v.finish(|| Some((amount?, reason?)))?;
    let actor = super::actor(&admin, client);
    let payment = admin::refund(&state, &actor, *id, amount, reason.as_str()).await?;
    Ok(HttpResponse::Created().json(PaymentView::from(&payment)))
}
