//! `payments` and `refunds`.

use crate::methods::MethodType;
use crate::schema::{payments, refunds};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{OrderId, PaymentId, PaymentMethodId, UserId};
use uuid::Uuid;

domain::string_enum! {
    /// Where a payment stands.
    pub enum PaymentStatus (field = "status") {
        /// Being charged (not kept by this version; listed so old rows still read).
        Processing => "processing",
        /// Waiting for the customer (3-D Secure, or confirmation in the app).
        RequiresAction => "requires_action",
        Succeeded => "succeeded",
        Failed => "failed",
        /// Every cent and point given back.
        Refunded => "refunded",
    }
}

domain::string_enum! {
    /// What paid: a saved method, or FS Coins alone.
    pub enum PaidWith (field = "methodType") {
        Card => "card",
        ApplePay => "apple_pay",
        GooglePay => "google_pay",
        FsCoin => "fs_coin",
    }
}

impl From<MethodType> for PaidWith {
    fn from(method: MethodType) -> Self {
        match method {
            MethodType::Card => Self::Card,
            MethodType::ApplePay => Self::ApplePay,
            MethodType::GooglePay => Self::GooglePay,
        }
    }
}

domain::string_enum! {
    /// Why a refund was made.
    pub enum RefundReason (field = "reason") {
        OrderCancelled => "order_cancelled",
        Admin => "admin",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = payments)]
pub struct PaymentRow {
    pub id: PaymentId,
    pub order_id: OrderId,
    pub customer_id: UserId,
    pub attempt: i32,
    pub total_cents: i64,
    pub points_redeemed: i64,
    pub card_amount_cents: i64,
    pub status: PaymentStatus,
    pub payment_method_id: Option<PaymentMethodId>,
    pub method_type: PaidWith,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub provider: Option<String>,
    pub provider_payment_id: Option<String>,
    pub client_secret: Option<String>,
    pub decline_code: Option<String>,
    pub failure_message: Option<String>,
    pub refunded_cents: i64,
    pub points_restored: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PaymentRow {
    /// Card money not refunded yet.
    pub fn refundable_cents(&self) -> i64 {
        if self.status == PaymentStatus::Succeeded {
            self.card_amount_cents - self.refunded_cents
        } else {
            0
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = payments)]
pub struct NewPayment<'a> {
    pub order_id: OrderId,
    pub customer_id: UserId,
    pub attempt: i32,
    pub total_cents: i64,
    pub points_redeemed: i64,
    pub card_amount_cents: i64,
    pub status: PaymentStatus,
    pub payment_method_id: Option<PaymentMethodId>,
    pub method_type: PaidWith,
    pub card_brand: Option<&'a str>,
    pub card_last4: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub provider_payment_id: Option<&'a str>,
    pub client_secret: Option<&'a str>,
    pub decline_code: Option<&'a str>,
    pub failure_message: Option<&'a str>,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    payment: NewPayment<'_>,
) -> QueryResult<PaymentRow> {
    diesel::insert_into(payments::table)
        .values(payment)
        .returning(PaymentRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find_attempt(
    conn: &mut AsyncPgConnection,
    order_id: OrderId,
    attempt: i32,
) -> QueryResult<Option<PaymentRow>> {
    payments::table
        .filter(payments::order_id.eq(order_id))
        .filter(payments::attempt.eq(attempt))
        .select(PaymentRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The order's latest attempt, locked.
pub async fn lock_latest_for_order(
    conn: &mut AsyncPgConnection,
    order_id: OrderId,
) -> QueryResult<Option<PaymentRow>> {
    payments::table
        .filter(payments::order_id.eq(order_id))
        .order(payments::attempt.desc())
        .for_update()
        .select(PaymentRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn lock(conn: &mut AsyncPgConnection, id: PaymentId) -> QueryResult<Option<PaymentRow>> {
    payments::table
        .find(id)
        .for_update()
        .select(PaymentRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn lock_by_provider_id(
    conn: &mut AsyncPgConnection,
    provider: &str,
    provider_payment_id: &str,
) -> QueryResult<Option<PaymentRow>> {
    payments::table
        .filter(payments::provider.eq(provider))
        .filter(payments::provider_payment_id.eq(provider_payment_id))
        .for_update()
        .select(PaymentRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// How a payment that waited for the customer ended.
#[derive(Debug, Clone, Copy)]
pub enum Settlement<'a> {
    Succeeded,
    /// Declined or abandoned: the provider's decline code, if any, and a message for the
    /// customer.
    Failed {
        decline_code: Option<&'a str>,
        message: &'a str,
    },
}

/// Settles a payment waiting for the customer.
pub async fn settle(
    conn: &mut AsyncPgConnection,
    id: PaymentId,
    settlement: Settlement<'_>,
) -> QueryResult<PaymentRow> {
    let (status, decline_code, failure_message) = match settlement {
        Settlement::Succeeded => (PaymentStatus::Succeeded, None, None),
        Settlement::Failed {
            decline_code,
            message,
        } => (PaymentStatus::Failed, decline_code, Some(message)),
    };
    diesel::update(payments::table.find(id))
        .set((
            payments::status.eq(status),
            payments::decline_code.eq(decline_code),
            payments::failure_message.eq(failure_message),
            payments::updated_at.eq(diesel::dsl::now),
        ))
        .returning(PaymentRow::as_returning())
        .get_result(conn)
        .await
}

/// Adds a refund to the payment's totals; the status becomes `refunded` when nothing is left.
pub async fn add_refund(
    conn: &mut AsyncPgConnection,
    id: PaymentId,
    amount_cents: i64,
    points: i64,
) -> QueryResult<PaymentRow> {
    let row: PaymentRow = diesel::update(payments::table.find(id))
        .set((
            payments::refunded_cents.eq(payments::refunded_cents + amount_cents),
            payments::points_restored.eq(payments::points_restored + points),
            payments::updated_at.eq(diesel::dsl::now),
        ))
        .returning(PaymentRow::as_returning())
        .get_result(conn)
        .await?;
    if row.refunded_cents >= row.card_amount_cents && row.points_restored >= row.points_redeemed {
        return diesel::update(payments::table.find(id))
            .set(payments::status.eq(PaymentStatus::Refunded))
            .returning(PaymentRow::as_returning())
            .get_result(conn)
            .await;
    }
    Ok(row)
}

#[derive(Debug, Insertable)]
#[diesel(table_name = refunds)]
pub struct NewRefund<'a> {
    pub payment_id: PaymentId,
    pub amount_cents: i64,
    pub points_restored: i64,
    pub reason: RefundReason,
    pub note: Option<&'a str>,
    pub actor_id: Option<UserId>,
    pub provider_refund_id: Option<&'a str>,
}

pub async fn insert_refund(
    conn: &mut AsyncPgConnection,
    refund: NewRefund<'_>,
) -> QueryResult<Uuid> {
    diesel::insert_into(refunds::table)
        .values(refund)
        .returning(refunds::id)
        .get_result(conn)
        .await
}

/// What admins filter payments by.
#[derive(Debug, Default)]
pub struct PaymentFilter {
    pub status: Option<PaymentStatus>,
    pub customer: Option<UserId>,
    pub order: Option<OrderId>,
}

fn filtered(filter: &PaymentFilter) -> payments::BoxedQuery<'_, diesel::pg::Pg> {
    let mut query = payments::table.into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(payments::status.eq(status));
    }
    if let Some(customer) = filter.customer {
        query = query.filter(payments::customer_id.eq(customer));
    }
    if let Some(order) = filter.order {
        query = query.filter(payments::order_id.eq(order));
    }
    query
}

/// Payments matching `filter`, newest first, and how many match.
pub async fn search(
    conn: &mut AsyncPgConnection,
    filter: &PaymentFilter,
    page: &domain::Pagination,
) -> QueryResult<(Vec<PaymentRow>, i64)> {
    let total = filtered(filter).count().get_result(conn).await?;
    let rows = filtered(filter)
        .order((payments::created_at.desc(), payments::id.desc()))
        .limit(page.limit_i64())
        .offset(page.offset_i64())
        .select(PaymentRow::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}
