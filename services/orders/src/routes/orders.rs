//! `/api/orders*`: the customer places an order from the cart, lists and reads their orders,
//! and cancels one before it is out for delivery. The order views here are the ones staff and
//! drivers read too.

use super::money;
use crate::checkout::{self, Checkout, Placed};
use crate::db::orders::{DestinationRow, HistoryRow, ItemRow, OrderFilter, OrderRow};
use crate::order_reads::{self, OrderInFull, OrderWithLines};
use crate::products::ProductType;
use crate::state::AppState;
use crate::status_changes::{self, Access};
use actix_web::{CustomizeResponder, Either, HttpRequest, Responder, web};
use auth_token::{Authenticated, Customer};
use chrono::{DateTime, Utc};
use domain::{
    AddressId, FieldError, Instructions, Listed, Money, OrderId, OrderStatus, Page, Pagination,
    PaginationQuery, PaymentMethodId, PaymentStatus, Problem, Role, StockStatus, UserId,
};
use platform::api::Created;
use platform::client::Acting;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

// --- the views ---------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderItemView {
    pub product_id: domain::ProductId,
    pub product_name: String,
    pub product_type: ProductType,
    pub quantity: i32,
    #[schema(value_type = String, example = "24.99")]
    pub unit_price: Money,
    #[schema(value_type = String, example = "49.98")]
    pub total_price: Money,
}

impl From<ItemRow> for OrderItemView {
    fn from(item: ItemRow) -> Self {
        Self {
            product_id: item.product_id,
            product_name: item.product_name,
            product_type: item.product_type,
            quantity: item.quantity,
            unit_price: money(item.unit_price_cents),
            total_price: money(item.line_total_cents),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaxView {
    pub id: String,
    pub name: String,
    /// The rate in percent, e.g. "6.25".
    pub percent: String,
    #[schema(value_type = String)]
    pub amount: Money,
}

/// An order as lists show it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    pub id: OrderId,
    pub order_number: String,
    pub customer_id: UserId,
    /// The guide's name for `customerId`.
    pub user_id: UserId,
    pub status: OrderStatus,
    /// Inside `pending`: whether catalog reserved the stock.
    pub stock_status: StockStatus,
    pub payment_status: PaymentStatus,
    /// Why the order is cancelled or its payment failed (snake_case code).
    pub status_reason: Option<String>,
    pub status_detail: Option<String>,
    #[schema(value_type = String, example = "100.00")]
    pub subtotal: Money,
    #[schema(value_type = String, example = "24.90")]
    pub tax_amount: Money,
    #[schema(value_type = String, example = "5.00")]
    pub delivery_fee: Money,
    #[schema(value_type = String, example = "129.90")]
    pub total_amount: Money,
    pub points_to_redeem: i64,
    pub payment_method_id: Option<PaymentMethodId>,
    pub service_area: String,
    pub jurisdiction: String,
    pub driver_id: Option<UserId>,
    pub special_instructions: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// When the driver is expected at the door: null until the tracking service publishes
    /// an ETA for the order (`delivery.eta_updated`).
    pub estimated_delivery_time: Option<DateTime<Utc>>,
    /// The order's lines (the snapshot taken at checkout).
    pub items: Vec<OrderItemView>,
}

impl Listed for OrderView {
    const KEY: &'static str = "orders";
}

impl OrderView {
    pub fn new(order: OrderRow, items: Vec<ItemRow>) -> Self {
        Self {
            id: order.id,
            order_number: order.order_number,
            customer_id: order.customer_id,
            user_id: order.customer_id,
            status: order.status,
            stock_status: order.stock_status,
            payment_status: order.payment_status,
            status_reason: order.status_reason,
            status_detail: order.status_detail,
            subtotal: money(order.subtotal_cents),
            tax_amount: money(order.tax_cents),
            delivery_fee: money(order.delivery_fee_cents),
            total_amount: money(order.total_cents),
            points_to_redeem: order.points_to_redeem,
            payment_method_id: order.payment_method_id,
            service_area: order.service_area,
            jurisdiction: order.jurisdiction,
            driver_id: order.driver_id,
            special_instructions: order.special_instructions,
            created_at: order.created_at,
            updated_at: order.updated_at,
            confirmed_at: order.confirmed_at,
            delivered_at: order.delivered_at,
            cancelled_at: order.cancelled_at,
            estimated_delivery_time: order.estimated_delivery_at,
            items: items.into_iter().map(OrderItemView::from).collect(),
        }
    }
}

impl From<OrderWithLines> for OrderView {
    fn from(listed: OrderWithLines) -> Self {
        Self::new(listed.order, listed.items)
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DestinationView {
    pub address_id: AddressId,
    pub name: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    pub state: String,
    pub zip_code: String,
    pub latitude: f64,
    pub longitude: f64,
    pub delivery_instructions: Option<String>,
}

impl From<DestinationRow> for DestinationView {
    fn from(d: DestinationRow) -> Self {
        Self {
            address_id: d.address_id,
            name: d.address_name,
            address_line1: d.address_line1,
            address_line2: d.address_line2,
            city: d.city,
            state: d.state,
            zip_code: d.zip_code,
            latitude: d.latitude,
            longitude: d.longitude,
            delivery_instructions: d.delivery_instructions,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryView {
    pub status: OrderStatus,
    pub stock_status: StockStatus,
    pub payment_status: PaymentStatus,
    pub reason: Option<String>,
    pub note: Option<String>,
    /// Who made the change; absent when the system did.
    pub actor_role: Option<Role>,
    pub at: DateTime<Utc>,
}

impl From<HistoryRow> for HistoryView {
    fn from(h: HistoryRow) -> Self {
        Self {
            status: h.status,
            stock_status: h.stock_status,
            payment_status: h.payment_status,
            reason: h.reason,
            note: h.note,
            actor_role: h.actor_role,
            at: h.created_at,
        }
    }
}

/// One order with everything: lines, totals with their taxes, destination and history.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderDetail {
    #[serde(flatten)]
    pub order: OrderView,
    pub taxes: Vec<TaxView>,
    pub delivery_address: Option<DestinationView>,
    pub status_history: Vec<HistoryView>,
}

impl From<OrderInFull> for OrderDetail {
    fn from(full: OrderInFull) -> Self {
        let taxes: Vec<compliance::TaxComponent> =
            serde_json::from_value(full.order.taxes.clone()).unwrap_or_default();
        Self {
            taxes: taxes
                .into_iter()
                .map(|t| TaxView {
                    id: t.id,
                    name: t.name,
                    percent: t.percent,
                    amount: money(t.amount_cents),
                })
                .collect(),
            order: OrderView::new(full.order, full.items),
            delivery_address: full.destination.map(DestinationView::from),
            status_history: full.history.into_iter().map(HistoryView::from).collect(),
        }
    }
}

/// The order after a change, in full.
pub async fn detail(state: &AppState, order: OrderRow) -> Result<web::Json<OrderDetail>, Problem> {
    let full = order_reads::in_full(state, order).await?;
    Ok(web::Json(OrderDetail::from(full)))
}

/// `status=a,b`: only orders in these statuses (all when absent or empty).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// Only orders in this status (comma-separated for several): pending, confirmed,
    /// preparing, out_for_delivery, delivered, cancelled, payment_failed.
    pub status: Option<String>,
}

impl StatusQuery {
    /// The statuses asked for.
    ///
    /// # Errors
    /// `400` naming `status` when one is not a status.
    pub fn statuses(&self) -> Result<Vec<OrderStatus>, Problem> {
        let Some(raw) = self.status.as_deref().filter(|s| !s.is_empty()) else {
            return Ok(Vec::new());
        };
        raw.split(',')
            .map(|s| {
                s.trim().parse::<OrderStatus>().map_err(|_| {
                    Problem::validation(vec![FieldError::new(
                        "status",
                        "must be pending, confirmed, preparing, out_for_delivery, delivered, cancelled or payment_failed",
                    )])
                })
            })
            .collect()
    }
}

/// A page of orders as lists answer it.
pub async fn page(
    state: &AppState,
    filter: &OrderFilter,
    pagination: Pagination,
) -> Result<web::Json<Page<OrderView>>, Problem> {
    let page = order_reads::page(state, filter, pagination).await?;
    Ok(web::Json(page.map(OrderView::from)))
}

// --- checkout --------------------------------------------------------------------------

/// `POST /api/orders` (the guide's orderSchema, plus `pointsToRedeem`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckoutInput {
    /// One of the customer's saved delivery addresses.
    pub delivery_address_id: AddressId,
    /// One of the customer's saved payment methods (payments' id); may be left out only when
    /// reward points pay the whole total.
    #[serde(default)]
    pub payment_method_id: Option<PaymentMethodId>,
    /// Notes for the order (up to 500 characters).
    #[serde(default)]
    pub special_instructions: Option<Instructions>,
    /// FS Coin points to redeem (100 points = $1.00).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10000000)]
    pub points_to_redeem: u32,
}

impl From<CheckoutInput> for Checkout {
    fn from(input: CheckoutInput) -> Self {
        Self {
            delivery_address: input.delivery_address_id,
            payment_method: input.payment_method_id,
            special_instructions: input.special_instructions,
            points_to_redeem: input.points_to_redeem,
        }
    }
}

/// Most characters of an `Idempotency-Key`.
const MAX_KEY_LEN: usize = 255;

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, Problem> {
    let Some(value) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default().trim();
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(Problem::validation(vec![FieldError::new(
            "Idempotency-Key",
            format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
        )]));
    }
    Ok(Some(key.to_owned()))
}

/// 201 for a new order; 200 with `Idempotent-Replayed: true` for a repeat.
type PlacedAnswer = Either<Created<OrderDetail>, CustomizeResponder<web::Json<OrderDetail>>>;

/// Places an order from the cart (see the problem codes for every refusal).
#[utoipa::path(post, path = "/api/orders", tag = "orders", security(("bearer" = [])), request_body = CheckoutInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat with the same key and body to get the same order")),
    responses((status = 201, description = "The order, pending until stock and payment answer", body = OrderDetail),
        (status = 200, description = "A repeat of an earlier request with the same Idempotency-Key (`Idempotent-Replayed: true`)", body = OrderDetail),
        (status = 403, description = "`ID_VERIFICATION_REQUIRED` or `ACCOUNT_SUSPENDED` (or `FORBIDDEN`: not a customer)"),
        (status = 404, description = "`NOT_FOUND`: the address is not the customer's"),
        (status = 422, description = "`CART_EMPTY`, `ADDRESS_NOT_GEOCODED`, `OUTSIDE_DELIVERY_AREA`, `OUTSIDE_DELIVERY_HOURS`, `PURCHASE_LIMIT_EXCEEDED`, `UNDER_MINIMUM_ORDER`, `PRODUCT_UNAVAILABLE`, `INSUFFICIENT_STOCK`, `BUSINESS_RULE` (points leave too little to charge) or `IDEMPOTENCY_KEY_REUSED`")))]
pub async fn place_order(
    state: web::Data<AppState>,
    customer: Acting<Customer>,
    req: HttpRequest,
    body: web::Json<CheckoutInput>,
) -> Result<PlacedAnswer, Problem> {
    let key = idempotency_key(&req)?;
    let placed =
        checkout::place(&state, &customer, body.into_inner().into(), key.as_deref()).await?;
    Ok(match placed {
        Placed::New(order) => {
            let location = format!("/api/orders/{}", order.id);
            Either::Left(Created::at(
                location,
                detail(&state, order).await?.into_inner(),
            ))
        }
        Placed::Replayed(order) => Either::Right(
            detail(&state, order)
                .await?
                .customize()
                .insert_header(("Idempotent-Replayed", "true")),
        ),
    })
}

/// The customer's orders, newest first.
#[utoipa::path(get, path = "/api/orders", tag = "orders", security(("bearer" = [])), params(StatusQuery, PaginationQuery),
    responses((status = 200, description = "A page of the customer's orders", body = Page<OrderView>)))]
pub async fn list_orders(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
    pagination: Pagination,
    query: web::Query<StatusQuery>,
) -> Result<web::Json<Page<OrderView>>, Problem> {
    let filter = OrderFilter {
        customer: Some(customer.user_id()),
        statuses: query.statuses()?,
        ..OrderFilter::default()
    };
    page(&state, &filter, pagination).await
}

/// One of the customer's orders with items, totals, taxes, destination and status history.
#[utoipa::path(get, path = "/api/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = OrderId, Path, description = "The order")),
    responses((status = 200, description = "The order in full", body = OrderDetail),
        (status = 404, description = "`NOT_FOUND`: no such order of the customer's")))]
pub async fn get_order(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
    id: web::Path<OrderId>,
) -> Result<web::Json<OrderDetail>, Problem> {
    let full = order_reads::find(&state, *id, Access::Customer(customer.user_id())).await?;
    Ok(web::Json(OrderDetail::from(full)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelInput {
    /// Why (optional, up to 500 characters).
    pub reason: Option<Instructions>,
}

/// Cancels the order before it is out for delivery (stock is released and the payment
/// refunded).
#[utoipa::path(post, path = "/api/orders/{id}/cancel", tag = "orders", security(("bearer" = [])),
    request_body(content = CancelInput, description = "Optional"),
    params(("id" = OrderId, Path, description = "The order")),
    responses((status = 200, description = "The cancelled order", body = OrderDetail),
        (status = 404, description = "`NOT_FOUND`: no such order of the customer's"),
        (status = 409, description = "`INVALID_STATE_TRANSITION`: out for delivery or already over")))]
pub async fn cancel_order(
    state: web::Data<AppState>,
    customer: Acting<Customer>,
    id: web::Path<OrderId>,
    body: Option<web::Json<CancelInput>>,
) -> Result<web::Json<OrderDetail>, Problem> {
    let reason = body
        .and_then(|b| b.into_inner().reason)
        .filter(|r| !r.is_empty());
    let order = status_changes::customer::cancel_order(
        &state,
        &customer,
        *id,
        reason.as_ref().map(Instructions::as_str),
    )
    .await?;
    detail(&state, order).await
}
