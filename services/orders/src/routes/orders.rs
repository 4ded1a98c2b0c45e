//! The customer's orders: checkout, list, detail and cancel.

use crate::checkout::{self, CheckoutInput};
use crate::db;
use crate::db::orders::{OrderFilter, OrderRow};
use crate::fulfilment::{self, Access};
use crate::routes::actor;
use crate::state::AppState;
use crate::views::{OrderDetail, OrderView};
use actix_web::{HttpRequest, HttpResponse, web};
use auth_token::{Authenticated, Customer};
use diesel_async::AsyncPgConnection;
use domain::{FieldError, OrderStatus, Pagination, PaginationQuery, Problem};
use platform::client::ClientInfo;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

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

/// Places an order from the cart (see the problem codes for every refusal).
#[utoipa::path(post, path = "/api/orders", tag = "orders", security(("bearer" = [])), request_body = CheckoutInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat with the same key and body to get the same order")),
    responses((status = 201, body = OrderDetail), (status = 200, description = "A repeat of an earlier request with the same Idempotency-Key", body = OrderDetail),
        (status = 400, body = domain::ProblemBody),
        (status = 403, description = "ID_VERIFICATION_REQUIRED or ACCOUNT_SUSPENDED", body = domain::ProblemBody),
        (status = 404, description = "The address is not the customer's", body = domain::ProblemBody),
        (status = 422, description = "CART_EMPTY, OUTSIDE_DELIVERY_AREA, OUTSIDE_DELIVERY_HOURS, PURCHASE_LIMIT_EXCEEDED, UNDER_MINIMUM_ORDER, PRODUCT_UNAVAILABLE, INSUFFICIENT_STOCK, IDEMPOTENCY_KEY_REUSED", body = domain::ProblemBody)))]
pub async fn place_order(
    state: web::Data<AppState>,
    user: Authenticated<Customer>,
    client: ClientInfo,
    req: HttpRequest,
    body: web::Json<CheckoutInput>,
) -> Result<HttpResponse, Problem> {
    let key = idempotency_key(&req)?;
    let actor = actor(user.user_id().into_inner(), user.role(), client);
    let placed = checkout::place(&state, &actor, body.into_inner(), key.as_deref()).await?;
    let mut conn = state.db().await?;
    let detail = detail(&mut conn, placed.order).await?;
    Ok(if placed.replayed {
        HttpResponse::Ok()
            .insert_header(("Idempotent-Replayed", "true"))
            .json(detail)
    } else {
        HttpResponse::Created().json(detail)
    })
}

/// Everything about one order.
pub async fn detail(conn: &mut AsyncPgConnection, order: OrderRow) -> Result<OrderDetail, Problem> {
    let items = db::orders::items(conn, order.id).await?;
    let destination = db::orders::destination(conn, order.id).await?;
    let history = db::orders::history(conn, order.id).await?;
    Ok(OrderDetail::new(order, items, destination, history))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderList {
    pub orders: Vec<OrderView>,
    pub total: i64,
    pub has_more: bool,
}

/// A page of orders with their lines.
pub async fn page(
    conn: &mut AsyncPgConnection,
    filter: &OrderFilter,
    pagination: Pagination,
) -> Result<OrderList, Problem> {
    let (rows, total) = db::orders::list(
        conn,
        filter,
        pagination.limit_i64(),
        pagination.offset_i64(),
    )
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|o| o.id).collect();
    let mut items = db::orders::items_of(conn, &ids).await?;
    let orders = rows
        .into_iter()
        .map(|order| {
            let (mine, rest): (Vec<_>, Vec<_>) =
                items.drain(..).partition(|i| i.order_id == order.id);
            items = rest;
            OrderView::new(order, mine)
        })
        .collect();
    Ok(OrderList {
        orders,
        total,
        has_more: pagination.has_more(u64::try_from(total).unwrap_or(0)),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// Only orders in this status (comma-separated for several).
    pub status: Option<String>,
}

/// `status=a,b` as validated statuses.
pub fn statuses(raw: Option<&str>) -> Result<Vec<String>, Problem> {
    let Some(raw) = raw.filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(|s| {
            s.trim().parse::<OrderStatus>().map(|s| s.as_str().to_owned()).map_err(|_| {
                Problem::validation(vec![FieldError::new(
                    "status",
                    "must be pending, confirmed, preparing, out_for_delivery, delivered, cancelled or payment_failed",
                )])
            })
        })
        .collect()
}

/// The customer's orders, newest first.
#[utoipa::path(get, path = "/api/orders", tag = "orders", security(("bearer" = [])), params(StatusQuery, PaginationQuery),
    responses((status = 200, body = OrderList), (status = 400, body = domain::ProblemBody)))]
pub async fn list_orders(
    state: web::Data<AppState>,
    user: Authenticated<Customer>,
    pagination: Pagination,
    query: web::Query<StatusQuery>,
) -> Result<HttpResponse, Problem> {
    let filter = OrderFilter {
        customer: Some(user.user_id().into_inner()),
        statuses: statuses(query.status.as_deref())?,
        ..OrderFilter::default()
    };
    let mut conn = state.db().await?;
    Ok(HttpResponse::Ok().json(page(&mut conn, &filter, pagination).await?))
}

/// One of the customer's orders with items, totals, taxes, destination and status history.
#[utoipa::path(get, path = "/api/orders/{id}", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = OrderDetail), (status = 404, body = domain::ProblemBody)))]
pub async fn get_order(
    state: web::Data<AppState>,
    user: Authenticated<Customer>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let mut conn = state.db().await?;
    let order = db::orders::find(&mut conn, *id)
        .await?
        .filter(|o| Access::Customer(user.user_id().into_inner()).allows(o))
        .ok_or_else(|| fulfilment::not_found(*id))?;
    Ok(HttpResponse::Ok().json(detail(&mut conn, order).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelInput {
    /// Why (optional, up to 500 characters).
    #[schema(value_type = Option<String>)]
    pub reason: Option<domain::Instructions>,
}

/// Cancels the order before it is out for delivery (stock is released and the payment
/// refunded).
#[utoipa::path(post, path = "/api/orders/{id}/cancel", tag = "orders", security(("bearer" = [])), request_body(content = CancelInput, description = "optional"),
    responses((status = 200, body = OrderDetail), (status = 404, body = domain::ProblemBody),
        (status = 409, description = "INVALID_STATE_TRANSITION: out for delivery or already over", body = domain::ProblemBody)))]
pub async fn cancel_order(
    state: web::Data<AppState>,
    user: Authenticated<Customer>,
    client: ClientInfo,
    id: web::Path<Uuid>,
    body: Option<web::Json<CancelInput>>,
) -> Result<HttpResponse, Problem> {
    let actor = actor(user.user_id().into_inner(), user.role(), client);
    let reason = body
        .and_then(|b| b.into_inner().reason)
        .filter(|r| !r.is_empty());
    let order =
        fulfilment::cancel_by_customer(&state, &actor, *id, reason.as_ref().map(|r| r.as_str()))
            .await?;
    let mut conn = state.db().await?;
    Ok(HttpResponse::Ok().json(detail(&mut conn, order).await?))
}
