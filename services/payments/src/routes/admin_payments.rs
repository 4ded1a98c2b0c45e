//! `/api/admin/payments*`: find payments, refund part (or the rest) of one.

use crate::db;
use crate::db::payments::{PaidWith, PaymentFilter, PaymentRow, PaymentStatus};
use crate::refunds;
use crate::state::AppState;
use actix_web::web;
use auth_token::{Admin, Authenticated};
use chrono::{DateTime, Utc};
use domain::input::{BoundedText, Validation};
use domain::{
    Listed, Money, OrderId, Page, Pagination, PaginationQuery, PaymentId, Problem, UserId,
};
use platform::api::Created;
use platform::client::Acting;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    pub id: PaymentId,
    pub order_id: OrderId,
    pub customer_id: UserId,
    pub attempt: i32,
    pub status: PaymentStatus,
    #[schema(value_type = String, example = "45.99")]
    pub total: Money,
    pub points_redeemed: i64,
    #[schema(value_type = String, example = "40.99")]
    pub card_amount: Money,
    #[schema(value_type = String, example = "0.00")]
    pub refunded: Money,
    pub points_restored: i64,
    pub method_type: PaidWith,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub decline_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Listed for PaymentView {
    const KEY: &'static str = "payments";
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
            status: row.status,
            total: money(row.total_cents),
            points_redeemed: row.points_redeemed,
            card_amount: money(row.card_amount_cents),
            refunded: money(row.refunded_cents),
            points_restored: row.points_restored,
            method_type: row.method_type,
            card_brand: row.card_brand.clone(),
            card_last4: row.card_last4.clone(),
            decline_code: row.decline_code.clone(),
            failure_message: row.failure_message.clone(),
            created_at: row.created_at,
        }
    }
}

/// The filters of the list (`limit` and `offset` are [`PaginationQuery`]'s). Taken as strings
/// and parsed here, so a bad value is answered naming its field.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PaymentQuery {
    #[param(value_type = Option<PaymentStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<UserId>)]
    pub customer_id: Option<String>,
    #[param(value_type = Option<OrderId>)]
    pub order_id: Option<String>,
}

impl PaymentQuery {
    fn parse(self) -> Result<PaymentFilter, Problem> {
        let mut v = Validation::new();
        let status = self.status.filter(|s| !s.is_empty()).and_then(|status| {
            let parsed = status.parse::<PaymentStatus>().ok();
            if parsed.is_none() {
                let all: Vec<&str> = PaymentStatus::ALL.iter().map(|s| s.as_str()).collect();
                v.add("status", format!("must be one of {}", all.join(", ")));
            }
            parsed
        });
        let id = |v: &mut Validation, field: &str, value: Option<String>| {
            value.filter(|s| !s.is_empty()).and_then(|s| {
                v.check(
                    field,
                    uuid::Uuid::parse_str(&s)
                        .map_err(|_| domain::ParseError::unnamed("must be a UUID")),
                )
            })
        };
        let customer = id(&mut v, "customerId", self.customer_id).map(UserId::from);
        let order = id(&mut v, "orderId", self.order_id).map(OrderId::from);
        v.finish(|| Some(()))?;
        Ok(PaymentFilter {
            status,
            customer,
            order,
        })
    }
}

/// Payments, newest first.
#[utoipa::path(get, path = "/api/admin/payments", tag = "admin", params(PaymentQuery, PaginationQuery),
    responses((status = 200, description = "A page of payments", body = Page<PaymentView>)),
    security(("bearer" = [])))]
pub async fn list_payments(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    page: Pagination,
    query: web::Query<PaymentQuery>,
) -> Result<web::Json<Page<PaymentView>>, Problem> {
    let filter = query.into_inner().parse()?;
    let mut conn = state.db().await?;
    let (rows, total) = db::payments::search(&mut conn, &filter, &page).await?;
    let total = u64::try_from(total).unwrap_or_default();
    Ok(web::Json(Page::new(
        rows.iter().map(PaymentView::from).collect(),
        total,
        page,
    )))
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
    params(("id" = PaymentId, Path, description = "The payment")),
    responses((status = 201, description = "The payment after the refund", body = PaymentView),
        (status = 404, description = "`NOT_FOUND`: no such payment"),
        (status = 422, description = "`BUSINESS_RULE`: more than is left to refund, or the provider refused it")),
    security(("bearer" = [])))]
pub async fn refund_payment(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    id: web::Path<PaymentId>,
    body: web::Json<RefundRequest>,
) -> Result<Created<PaymentView>, Problem> {
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
    let payment = refunds::by_admin(&state, &admin, *id, amount, reason.as_str()).await?;
    Ok(Created::new(PaymentView::from(&payment)))
}
