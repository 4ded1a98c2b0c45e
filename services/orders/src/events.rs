//! What orders publishes and consumes (DESIGN §3–4), in one place.
//!
//! - Consumes, on [`SAGA_QUEUE`]: catalog's stock answers and payments' payment answers
//!   ([`SagaEvents`], which decodes each into a [`Step`] for
//!   [`crate::status_changes::saga::answer`]); on [`READ_MODELS_QUEUE`]: catalog's products
//!   and auth's users ([`ReadModels`]: the read models checkout reads instead of calling
//!   those services; each keeps only a newer version than the one it holds).
//! - Publishes, through the outbox in the caller's transaction, one function per event:
//!   [`order_submitted`], [`payment_requested`], [`status_changed`], [`order_cancelled`],
//!   [`order_delivered`], [`driver_assigned`] (and `audit.recorded` through
//!   `::events::audit::record`).

use crate::db;
use crate::db::orders::{DestinationRow, ItemRow, OrderRow};
use crate::db::products::ProductRow;
use crate::db::users::{AccountStatus, IdVerification, UserRow};
use crate::products::ProductType;
use crate::status_changes::driver::IdDocument;
use crate::status_changes::saga::{self, Step, StepError};
use crate::status_changes::transition::{CancelReason, ChangeError, Delivery};
use ::events::audit::proto_role;
use ::events::outbox::publish;
use ::events::{Handler, HandlerError, IncomingEvent, from_timestamp, timestamp, v1};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use domain::{OrderId, OrderStatus, PaymentStatus, ProductId, Role, StockStatus, UserId};
use futures_util::future::BoxFuture;
use platform::client::Actor;
use uuid::Uuid;

/// The saga's answers orders consumes, and what the queue is bound to.
pub const SAGA_QUEUE: &str = "orders.saga";
pub const SAGA_BINDINGS: &[&str] = &[
    "stock.reserved",
    "stock.rejected",
    "payment.succeeded",
    "payment.failed",
    "payment.action_required",
    "payment.refunded",
];

/// The read models' queue (products from catalog, users from auth, arrival estimates from
/// tracking), and its bindings.
pub const READ_MODELS_QUEUE: &str = "orders.read_models";
pub const READ_MODELS_BINDINGS: &[&str] = &[
    "delivery.eta_updated",
    "product.upserted",
    "product.deleted",
    "user.registered",
    "user.profile_updated",
    "user.id_verification_submitted",
    "user.id_verification_decided",
    "user.role_changed",
    "user.status_changed",
];

// --- what orders publishes -----------------------------------------------------------------

const fn proto_status(status: OrderStatus) -> v1::OrderStatus {
    match status {
        OrderStatus::Pending => v1::OrderStatus::Pending,
        OrderStatus::Confirmed => v1::OrderStatus::Confirmed,
        OrderStatus::Preparing => v1::OrderStatus::Preparing,
        OrderStatus::OutForDelivery => v1::OrderStatus::OutForDelivery,
        OrderStatus::Delivered => v1::OrderStatus::Delivered,
        OrderStatus::Cancelled => v1::OrderStatus::Cancelled,
        OrderStatus::PaymentFailed => v1::OrderStatus::PaymentFailed,
    }
}

const fn proto_stock(status: StockStatus) -> v1::StockStatus {
    match status {
        StockStatus::Pending => v1::StockStatus::Pending,
        StockStatus::Reserved => v1::StockStatus::Reserved,
        StockStatus::Rejected => v1::StockStatus::Rejected,
    }
}

const fn proto_payment(status: PaymentStatus) -> v1::PaymentStatus {
    match status {
        PaymentStatus::Pending => v1::PaymentStatus::Pending,
        PaymentStatus::Succeeded => v1::PaymentStatus::Succeeded,
        PaymentStatus::Failed => v1::PaymentStatus::Failed,
        PaymentStatus::Refunded => v1::PaymentStatus::Refunded,
        PaymentStatus::ActionRequired => v1::PaymentStatus::ActionRequired,
    }
}

const fn proto_cancellation(reason: CancelReason) -> v1::CancellationReason {
    match reason {
        CancelReason::CustomerRequested => v1::CancellationReason::CustomerRequested,
        CancelReason::OutOfStock => v1::CancellationReason::OutOfStock,
        CancelReason::PendingTimeout => v1::CancellationReason::PendingTimeout,
        CancelReason::PaymentFailed => v1::CancellationReason::PaymentFailed,
        CancelReason::Staff => v1::CancellationReason::Staff,
        CancelReason::IdCheckFailed => v1::CancellationReason::IdCheckFailed,
        CancelReason::Undeliverable => v1::CancellationReason::Undeliverable,
    }
}

const fn proto_document(document: IdDocument) -> v1::IdDocumentType {
    match document {
        IdDocument::DriversLicense => v1::IdDocumentType::DriversLicense,
        IdDocument::StateId => v1::IdDocumentType::StateId,
        IdDocument::Passport => v1::IdDocumentType::Passport,
    }
}

/// The actor's id and role as events carry them (empty and unspecified for the system).
fn actor_fields(actor: Option<&Actor>) -> (String, v1::Role) {
    actor.map_or((String::new(), v1::Role::Unspecified), |a| {
        (a.id.to_string(), proto_role(a.role))
    })
}

fn optional_id(id: Option<impl ToString>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

/// An item snapshot as an event line.
fn line(item: &ItemRow) -> v1::OrderLine {
    v1::OrderLine {
        product_id: item.product_id.to_string(),
        product_name: item.product_name.clone(),
        product_type: item.product_type.to_proto() as i32,
        quantity: item.quantity,
        unit_price_cents: item.unit_price_cents,
        line_total_cents: item.line_total_cents,
        net_weight_mg: item.net_weight_mg,
        thc_mg: item.thc_mg,
    }
}

fn destination(d: &DestinationRow) -> v1::Destination {
    v1::Destination {
        address_id: d.address_id.to_string(),
        line1: d.address_line1.clone(),
        line2: d.address_line2.clone().unwrap_or_default(),
        city: d.city.clone(),
        state: d.state.clone(),
        zip: d.zip_code.clone(),
        latitude: d.latitude,
        longitude: d.longitude,
        delivery_instructions: d.delivery_instructions.clone().unwrap_or_default(),
    }
}

/// `order.submitted`: a new pending order, with its lines and where it goes (catalog reserves
/// the stock on it).
pub async fn order_submitted(
    conn: &mut AsyncPgConnection,
    order: &OrderRow,
    to: &DestinationRow,
    items: &[ItemRow],
) -> diesel::QueryResult<Uuid> {
    let id = order.id.to_string();
    let event = v1::OrderSubmitted {
        order_id: id.clone(),
        order_number: order.order_number.clone(),
        customer_id: order.customer_id.to_string(),
        lines: items.iter().map(line).collect(),
        destination: Some(destination(to)),
        subtotal_cents: order.subtotal_cents,
        tax_cents: order.tax_cents,
        delivery_fee_cents: order.delivery_fee_cents,
        total_cents: order.total_cents,
        payment_method_id: optional_id(order.payment_method_id),
        points_to_redeem: order.points_to_redeem,
        special_instructions: order.special_instructions.clone().unwrap_or_default(),
        submitted_at: Some(timestamp(order.created_at)),
    };
    publish(conn, &event, Some(&id)).await
}

/// `order.payment_requested`: payments charges the order's current attempt.
pub async fn payment_requested(
    conn: &mut AsyncPgConnection,
    order: &OrderRow,
) -> diesel::QueryResult<Uuid> {
    let id = order.id.to_string();
    let event = v1::OrderPaymentRequested {
        order_id: id.clone(),
        order_number: order.order_number.clone(),
        customer_id: order.customer_id.to_string(),
        total_cents: order.total_cents,
        points_to_redeem: order.points_to_redeem,
        payment_method_id: optional_id(order.payment_method_id),
        attempt: order.payment_attempt,
        requested_at: Some(timestamp(Utc::now())),
    };
    publish(conn, &event, Some(&id)).await
}

/// `order.status_changed`: every change of `order` (as it is now) from `previous`,
/// sub-statuses included.
pub async fn status_changed(
    conn: &mut AsyncPgConnection,
    order: &OrderRow,
    previous: OrderStatus,
    reason: Option<&str>,
    actor: Option<&Actor>,
    at: DateTime<Utc>,
) -> diesel::QueryResult<Uuid> {
    let id = order.id.to_string();
    let (actor_id, actor_role) = actor_fields(actor);
    let event = v1::OrderStatusChanged {
        order_id: id.clone(),
        order_number: order.order_number.clone(),
        customer_id: order.customer_id.to_string(),
        driver_id: optional_id(order.driver_id),
        previous_status: proto_status(previous) as i32,
        status: proto_status(order.status) as i32,
        stock_status: proto_stock(order.stock_status) as i32,
        payment_status: proto_payment(order.payment_status) as i32,
        reason: reason.unwrap_or_default().to_owned(),
        actor_id,
        actor_role: actor_role as i32,
        changed_at: Some(timestamp(at)),
    };
    publish(conn, &event, Some(&id)).await
}

/// A cancellation, as `order.cancelled` announces it.
#[derive(Debug, Clone, Copy)]
pub struct Cancelled<'a> {
    pub previous: OrderStatus,
    pub reason: CancelReason,
    pub note: Option<&'a str>,
    pub actor: Option<&'a Actor>,
    pub at: DateTime<Utc>,
}

/// `order.cancelled`: catalog releases the stock, payments cancels or refunds the payment.
pub async fn order_cancelled(
    conn: &mut AsyncPgConnection,
    order: &OrderRow,
    cancelled: &Cancelled<'_>,
) -> diesel::QueryResult<Uuid> {
    let id = order.id.to_string();
    let (actor_id, actor_role) = actor_fields(cancelled.actor);
    let event = v1::OrderCancelled {
        order_id: id.clone(),
        order_number: order.order_number.clone(),
        customer_id: order.customer_id.to_string(),
        driver_id: optional_id(order.driver_id),
        previous_status: proto_status(cancelled.previous) as i32,
        reason: proto_cancellation(cancelled.reason) as i32,
        reason_detail: cancelled.note.unwrap_or_default().to_owned(),
        stock_status: proto_stock(order.stock_status) as i32,
        payment_status: proto_payment(order.payment_status) as i32,
        actor_id,
        actor_role: actor_role as i32,
        cancelled_at: Some(timestamp(cancelled.at)),
    };
    publish(conn, &event, Some(&id)).await
}

/// `order.delivered`: handed over after the ID check (payments awards the points).
pub async fn order_delivered(
    conn: &mut AsyncPgConnection,
    order: &OrderRow,
    items: &[ItemRow],
    delivery: Option<Delivery>,
    at: DateTime<Utc>,
) -> diesel::QueryResult<Uuid> {
    let id = order.id.to_string();
    let event = v1::OrderDelivered {
        order_id: id.clone(),
        order_number: order.order_number.clone(),
        customer_id: order.customer_id.to_string(),
        driver_id: optional_id(order.driver_id),
        lines: items.iter().map(line).collect(),
        total_cents: order.total_cents,
        id_checked: true,
        id_document_type: delivery.map_or(v1::IdDocumentType::Unspecified, |d| {
            proto_document(d.document)
        }) as i32,
        delivery_location: delivery.and_then(|d| d.location).map(|p| v1::GeoPoint {
            latitude: p.latitude(),
            longitude: p.longitude(),
        }),
        delivered_at: Some(timestamp(at)),
    };
    publish(conn, &event, Some(&id)).await
}

/// A driver's assignment, as `order.driver_assigned` announces it.
#[derive(Debug, Clone, Copy)]
pub struct DriverAssigned<'a> {
    pub customer_name: &'a str,
    pub driver: &'a UserRow,
    pub previous: Option<UserId>,
    pub destination: Option<&'a DestinationRow>,
    pub actor: &'a Actor,
}

/// `order.driver_assigned`: the driver's app and the customer's tracking learn who delivers.
pub async fn driver_assigned(
    conn: &mut AsyncPgConnection,
    order: &OrderRow,
    assigned: &DriverAssigned<'_>,
) -> diesel::QueryResult<Uuid> {
    let id = order.id.to_string();
    let event = v1::OrderDriverAssigned {
        order_id: id.clone(),
        order_number: order.order_number.clone(),
        customer_id: order.customer_id.to_string(),
        customer_name: assigned.customer_name.to_owned(),
        driver_id: assigned.driver.id.to_string(),
        driver_name: assigned.driver.full_name.clone(),
        previous_driver_id: optional_id(assigned.previous),
        destination: assigned.destination.map(destination),
        actor_id: assigned.actor.id.to_string(),
        assigned_at: Some(timestamp(Utc::now())),
    };
    publish(conn, &event, Some(&id)).await
}

// --- what orders consumes ------------------------------------------------------------------

fn uuid(field: &str, value: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(value).map_err(|_| HandlerError::Permanent(format!("{field} is not a UUID")))
}

fn payment_failure_code(reason: i32) -> &'static str {
    match v1::PaymentFailureReason::try_from(reason) {
        Ok(v1::PaymentFailureReason::CardDeclined) => "card_declined",
        Ok(v1::PaymentFailureReason::AuthenticationFailed) => "authentication_failed",
        Ok(v1::PaymentFailureReason::InsufficientPoints) => "insufficient_points",
        Ok(v1::PaymentFailureReason::PaymentMethodUnavailable) => "payment_method_unavailable",
        Ok(v1::PaymentFailureReason::ProviderError) => "provider_error",
        _ => "payment_failed",
    }
}

/// "Blue Dream: 1 of 3 available" for each short line.
fn shortage_note(rejected: &v1::StockRejected) -> String {
    rejected
        .short_lines
        .iter()
        .map(|line| {
            format!(
                "{}: {} of {} available",
                line.product_name, line.available_quantity, line.requested_quantity
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The consumer of [`SAGA_QUEUE`].
pub struct SagaEvents;

impl SagaEvents {
    /// The order and the step an answer is about.
    fn decode(event: &IncomingEvent) -> Result<(String, Step), HandlerError> {
        Ok(match event.name.as_str() {
            "stock.reserved" => (
                event.decode::<v1::StockReserved>()?.order_id,
                Step::StockReserved,
            ),
            "stock.rejected" => {
                let rejected: v1::StockRejected = event.decode()?;
                let shortage = shortage_note(&rejected);
                (rejected.order_id, Step::StockRejected { shortage })
            }
            "payment.succeeded" => {
                let paid: v1::PaymentSucceeded = event.decode()?;
                (
                    paid.order_id,
                    Step::Paid {
                        attempt: paid.attempt,
                    },
                )
            }
            "payment.failed" => {
                let failed: v1::PaymentFailed = event.decode()?;
                let step = Step::PaymentFailed {
                    attempt: failed.attempt,
                    code: payment_failure_code(failed.reason),
                    message: failed.message,
                };
                (failed.order_id, step)
            }
            "payment.action_required" => {
                let required: v1::PaymentActionRequired = event.decode()?;
                let step = Step::ActionRequired {
                    attempt: required.attempt,
                };
                (required.order_id, step)
            }
            "payment.refunded" => {
                let refunded: v1::PaymentRefunded = event.decode()?;
                let step = Step::Refunded {
                    full: refunded.fully_refunded,
                };
                (refunded.order_id, step)
            }
            other => {
                return Err(HandlerError::Permanent(format!(
                    "orders' saga does not handle {other}"
                )));
            }
        })
    }

    async fn handle_answer(
        conn: &mut AsyncPgConnection,
        event: &IncomingEvent,
    ) -> Result<(), HandlerError> {
        let (order_id, step) = Self::decode(event)?;
        let order_id = OrderId::from(uuid("order_id", &order_id)?);
        match saga::answer(conn, order_id, step).await {
            Ok(_) => Ok(()),
            // Orders publishes `order.submitted` in the order's own transaction, so an answer
            // for an unknown order is not ours (another deployment on the exchange).
            Err(err @ StepError::UnknownOrder(_)) => Err(HandlerError::Permanent(err.to_string())),
            Err(StepError::Change(ChangeError::Database(err))) => Err(err.into()),
            Err(StepError::Change(err)) => Err(HandlerError::Permanent(err.to_string())),
        }
    }
}

impl Handler for SagaEvents {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        event: &'a IncomingEvent,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(Self::handle_answer(conn, event))
    }
}

fn at(value: Option<prost_types::Timestamp>) -> DateTime<Utc> {
    value.and_then(from_timestamp).unwrap_or_else(Utc::now)
}

fn role(value: i32) -> Role {
    match v1::Role::try_from(value) {
        Ok(v1::Role::Driver) => Role::Driver,
        Ok(v1::Role::Agent) => Role::Agent,
        Ok(v1::Role::Admin) => Role::Admin,
        _ => Role::Customer,
    }
}

fn id_verification(value: i32) -> IdVerification {
    match v1::IdVerificationStatus::try_from(value) {
        Ok(v1::IdVerificationStatus::Pending) => IdVerification::Pending,
        Ok(v1::IdVerificationStatus::Approved) => IdVerification::Approved,
        Ok(v1::IdVerificationStatus::Rejected) => IdVerification::Rejected,
        _ => IdVerification::NotSubmitted,
    }
}

fn account_status(value: i32) -> AccountStatus {
    match v1::AccountStatus::try_from(value) {
        Ok(v1::AccountStatus::Suspended) => AccountStatus::Suspended,
        _ => AccountStatus::Active,
    }
}

/// The user read model's row for a `user.*` event's whole state.
fn user_row(
    id: &str,
    state: Option<v1::UserState>,
    registered_at: Option<DateTime<Utc>>,
) -> Result<UserRow, HandlerError> {
    let state =
        state.ok_or_else(|| HandlerError::Permanent("the event has no user state".into()))?;
    Ok(UserRow {
        id: UserId::from(uuid("user_id", id)?),
        version: state.version,
        email: state.email,
        full_name: state.full_name,
        phone: state.phone,
        date_of_birth: NaiveDate::parse_from_str(&state.date_of_birth, "%Y-%m-%d").ok(),
        role: role(state.role),
        id_verification: id_verification(state.id_verification_status),
        account_status: account_status(state.account_status),
        registered_at,
        updated_at: Utc::now(),
    })
}

/// The product read model's row for `product.upserted`.
fn product_row(p: v1::ProductUpserted) -> Result<ProductRow, HandlerError> {
    Ok(ProductRow {
        id: ProductId::from(uuid("product_id", &p.product_id)?),
        version: p.version,
        name: p.name,
        category_id: Uuid::parse_str(&p.category_id).ok().map(Into::into),
        category_slug: p.category_slug,
        category_name: p.category_name,
        product_type: ProductType::from_proto(p.product_type),
        price_cents: p.price_cents.max(0),
        original_price_cents: p.original_price_cents.max(0),
        net_weight_mg: p.net_weight_mg.max(0),
        thc_mg: p.thc_mg.max(0),
        active: p.active,
        available_quantity: i64::from(p.available_quantity.max(0)),
        primary_image_url: p.primary_image_url,
        package_label: p.package_label,
        deleted: false,
        updated_at: at(p.updated_at),
    })
}

/// The consumer of [`READ_MODELS_QUEUE`].
pub struct ReadModels;

impl ReadModels {
    async fn handle_change(
        conn: &mut AsyncPgConnection,
        event: &IncomingEvent,
    ) -> Result<(), HandlerError> {
        let user = match event.name.as_str() {
            "delivery.eta_updated" => {
                let e: v1::DeliveryEtaUpdated = event.decode()?;
                let order = OrderId::from(uuid("order_id", &e.order_id)?);
                let (Some(arrival), Some(computed)) = (e.estimated_arrival_at, e.computed_at)
                else {
                    return Err(HandlerError::Permanent(
                        "delivery.eta_updated without estimated_arrival_at or computed_at".into(),
                    ));
                };
                // An estimate for an order this service does not hold changes nothing.
                db::orders::set_eta(conn, order, at(Some(arrival)), at(Some(computed))).await?;
                return Ok(());
            }
            "product.upserted" => {
                let row = product_row(event.decode()?)?;
                db::products::upsert(conn, &row).await?;
                return Ok(());
            }
            "product.deleted" => {
                let p: v1::ProductDeleted = event.decode()?;
                let id = ProductId::from(uuid("product_id", &p.product_id)?);
                db::products::delete(conn, id, p.version, at(p.deleted_at)).await?;
                return Ok(());
            }
            "user.registered" => {
                let e: v1::UserRegistered = event.decode()?;
                user_row(&e.user_id, e.user, Some(at(e.registered_at)))?
            }
            "user.profile_updated" => {
                let e: v1::UserProfileUpdated = event.decode()?;
                user_row(&e.user_id, e.user, None)?
            }
            "user.id_verification_submitted" => {
                let e: v1::UserIdVerificationSubmitted = event.decode()?;
                user_row(&e.user_id, e.user, None)?
            }
            "user.id_verification_decided" => {
                let e: v1::UserIdVerificationDecided = event.decode()?;
                user_row(&e.user_id, e.user, None)?
            }
            "user.role_changed" => {
                let e: v1::UserRoleChanged = event.decode()?;
                user_row(&e.user_id, e.user, None)?
            }
            "user.status_changed" => {
                let e: v1::UserStatusChanged = event.decode()?;
                user_row(&e.user_id, e.user, None)?
            }
            other => {
                return Err(HandlerError::Permanent(format!(
                    "orders' read models do not use {other}"
                )));
            }
        };
        db::users::upsert(conn, &user).await?;
        Ok(())
    }
}

impl Handler for ReadModels {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        event: &'a IncomingEvent,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(Self::handle_change(conn, event))
    }
}
