//! FS Coin: `GET /api/users/rewards` for customers, adjustments for admins.

use crate::db;
use crate::db::rewards::EntryRow;
use crate::ledger;
use crate::rewards::{self, EntryKind, POINTS_PER_DOLLAR};
use crate::state::AppState;
use actix_web::web;
use auth_token::{Admin, Authenticated, Customer};
use chrono::{DateTime, Utc};
use domain::input::{BoundedText, Validation};
use domain::{Listed, Money, OrderId, Page, Pagination, PaginationQuery, Problem, UserId};
use platform::api::Created;
use platform::client::Acting;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Largest single adjustment an admin may make.
const MAX_ADJUSTMENT: i64 = 1_000_000;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntryView {
    pub id: Uuid,
    /// earned, redeemed, restored, reversed, expired or adjusted.
    #[serde(rename = "type")]
    pub kind: EntryKind,
    /// Points added (positive) or taken (negative).
    pub amount: i64,
    pub balance_after: i64,
    pub order_id: Option<OrderId>,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

impl Listed for EntryView {
    const KEY: &'static str = "transactions";
}

impl From<&EntryRow> for EntryView {
    fn from(row: &EntryRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            amount: row.points,
            balance_after: row.balance_after,
            order_id: row.order_id,
            description: row.description.clone(),
            created_at: row.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RewardsView {
    pub balance: i64,
    /// What the balance is worth at checkout (100 points = $1.00).
    #[schema(value_type = String, example = "12.50")]
    pub value: Money,
    pub points_per_dollar: i64,
    /// The history, newest first: `transactions`, `total`, `hasMore`.
    #[serde(flatten)]
    pub history: Page<EntryView>,
}

/// The caller's FS Coin balance, its value in dollars and the history, newest first.
#[utoipa::path(get, path = "/api/users/rewards", tag = "rewards", params(PaginationQuery),
    responses((status = 200, description = "The balance and a page of its history", body = RewardsView)),
    security(("bearer" = [])))]
pub async fn get_rewards(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
    page: Pagination,
) -> Result<web::Json<RewardsView>, Problem> {
    let user = customer.user_id();
    let mut conn = state.db().await?;
    let balance = db::rewards::balance(&mut conn, user).await?;
    let (rows, total) = db::rewards::history(&mut conn, user, &page).await?;
    let total = u64::try_from(total).unwrap_or_default();
    Ok(web::Json(RewardsView {
        balance,
        value: rewards::value_of(balance),
        points_per_dollar: POINTS_PER_DOLLAR,
        history: Page::new(rows.iter().map(EntryView::from).collect(), total, page),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdjustmentRequest {
    /// Points to add (positive) or take (negative).
    pub points: Option<i64>,
    /// Why (shown in the customer's history and kept in the audit log).
    pub reason: Option<String>,
}

/// Correct a customer's balance; it never goes below zero (422).
#[utoipa::path(post, path = "/api/admin/rewards/{user_id}/adjustments", tag = "admin",
    request_body = AdjustmentRequest,
    params(("user_id" = UserId, Path, description = "The customer")),
    responses((status = 201, description = "The ledger entry made", body = EntryView),
        (status = 422, description = "`BUSINESS_RULE`: the balance would go below zero")),
    security(("bearer" = [])))]
pub async fn adjust_rewards(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    user_id: web::Path<UserId>,
    body: web::Json<AdjustmentRequest>,
) -> Result<Created<EntryView>, Problem> {
    let mut v = Validation::new();
    let points = match body.points {
        Some(0) => {
            v.add("points", "must not be 0");
            None
        }
        // `unsigned_abs`: `abs` of `i64::MIN` overflows (a panic in debug builds, and in
        // release it stays negative and would pass).
        Some(p) if p.unsigned_abs() <= MAX_ADJUSTMENT.unsigned_abs() => Some(p),
        Some(_) => {
            v.add(
                "points",
                format!("must be between -{MAX_ADJUSTMENT} and {MAX_ADJUSTMENT}"),
            );
            None
        }
        None => {
            v.add("points", "is required");
            None
        }
    };
    let reason = v.required(
        "reason",
        body.reason.as_deref(),
        BoundedText::<3, 200>::parse,
    );
    let (points, reason) = v.finish(|| Some((points?, reason?)))?;
    let entry = ledger::adjust(&state, &admin, *user_id, points, reason.as_str()).await?;
    Ok(Created::new(EntryView::from(&entry)))
}
