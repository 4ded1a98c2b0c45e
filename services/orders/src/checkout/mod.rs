//! `POST /api/orders` (DESIGN §3 step 1): every compliance rule is checked against the read
//! models ([`checks`]), the order is stored `pending` with its item snapshots and
//! `order.submitted` in one transaction ([`new_order`]), and the cart is cleared. The
//! customer's read-model row is locked for the transaction, so two checkouts of one customer
//! run one after the other and cannot both pass the daily limits; an `Idempotency-Key` repeat
//! answers the order it created.

mod checks;
mod new_order;

pub use checks::MINIMUM_CHARGE_CENTS;
pub use new_order::order_number;

use crate::config::SERVICE;
use crate::db;
use crate::db::orders::OrderRow;
use crate::state::AppState;
use chrono::Utc;
use compliance::LimitedLine;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::{AddressId, Code, Instructions, OrderId, PaymentMethodId, Problem, UserId};
use events::audit;
use platform::client::Actor;
use serde_json::json;
use sha2::{Digest, Sha256};

/// What the customer asked for at checkout (the guide's orderSchema, plus points).
#[derive(Debug, Clone)]
pub struct Checkout {
    /// One of the customer's saved delivery addresses.
    pub delivery_address: AddressId,
    /// One of the customer's saved payment methods; `None` only when points pay it all.
    pub payment_method: Option<PaymentMethodId>,
    pub special_instructions: Option<Instructions>,
    /// FS Coin points to redeem (100 points = $1.00).
    pub points_to_redeem: u32,
}

impl Checkout {
    /// A fingerprint of the request for `Idempotency-Key` (stored with the key: its canonical
    /// form must not change).
    pub fn fingerprint(&self) -> String {
        let canonical = json!({
            "deliveryAddressId": self.delivery_address,
            "paymentMethodId": self.payment_method,
            "specialInstructions": self.special_instructions.as_ref().map(Instructions::as_str),
            "pointsToRedeem": self.points_to_redeem,
        });
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// The order checkout answers.
#[derive(Debug)]
pub enum Placed {
    /// Placed by this request.
    New(OrderRow),
    /// Placed earlier by a request with the same `Idempotency-Key` and body.
    Replayed(OrderRow),
}

/// A refusal a regulator could ask about is also written to the audit log.
const AUDITED_REFUSALS: &[Code] = &[
    Code::IdVerificationRequired,
    Code::AccountSuspended,
    Code::OutsideDeliveryArea,
    Code::OutsideDeliveryHours,
    Code::PurchaseLimitExceeded,
];

/// Places `actor`'s order from their cart, or answers the order an earlier request with the
/// same `idempotency_key` placed.
pub async fn place(
    state: &AppState,
    actor: &Actor,
    input: Checkout,
    idempotency_key: Option<&str>,
) -> Result<Placed, Problem> {
    let customer = actor.user_id();
    let fingerprint = input.fingerprint();
    if let Some(key) = idempotency_key
        && let Some(order) = replay(state, customer, key, &fingerprint).await?
    {
        return Ok(Placed::Replayed(order));
    }
    let cart = state
        .carts
        .get(customer)
        .await
        .map_err(|e| Problem::unavailable(&e))?;
    let now = Utc::now();
    let rules = state.rules.clone();
    let mut conn = state.db().await?;
    let outcome = conn
        .transaction(async |conn| {
            let user = db::users::lock(conn, customer).await?;
            if let Some(key) = idempotency_key
                && let Some((hash, order_id)) = db::orders::find_idempotency(conn, customer, key).await?
            {
                let order = replayed_order(conn, &hash, &fingerprint, order_id).await?;
                return Ok(Placed::Replayed(order));
            }
            let user = user.ok_or_else(|| {
                Problem::new(Code::IdVerificationRequired)
                    .with_detail("Verify your ID before placing an order.")
            })?;
            if !user.is_active() {
                return Err(Problem::new(Code::AccountSuspended)
                    .with_detail("This account is suspended and cannot place orders."));
            }
            if !user.id_verified() {
                return Err(Problem::new(Code::IdVerificationRequired)
                    .with_detail("Verify your ID before placing an order.")
                    .with_extension("idVerificationStatus", user.id_verification.as_str()));
            }
            if cart.is_empty() {
                return Err(Problem::new(Code::CartEmpty)
                    .with_detail("Add products to your cart before checking out."));
            }
            let address = db::addresses::find_owned(conn, customer, input.delivery_address)
                .await?
                .ok_or_else(|| crate::addresses::not_found(input.delivery_address))?;
            let located = checks::locate(&rules, &address)?;
            let jurisdiction = located.jurisdiction;
            jurisdiction
                .check_delivery_hours(now)
                .map_err(crate::compliance_problems::outside_hours)?;
            let lines = checks::lines(conn, &cart).await?;
            let day = jurisdiction.local_date(now);
            let already: Vec<LimitedLine> = db::orders::items_on_day(conn, customer, day)
                .await?
                .iter()
                .map(checks::limited_item)
                .collect();
            let adding: Vec<LimitedLine> = lines.iter().map(crate::pricing::Line::limited).collect();
            jurisdiction
                .check_purchase_limits(&already, &adding)
                .map_err(crate::compliance_problems::over_limit)?;
            let subtotal = crate::pricing::subtotal_cents(&lines);
            jurisdiction
                .check_minimum_order(subtotal)
                .map_err(crate::compliance_problems::under_minimum)?;
            let quote = crate::pricing::quote(jurisdiction, &lines, &address.city, located.distance_miles, day)
                .ok_or_else(|| crate::compliance_problems::beyond_fee_bands(&located))?;
            let points = checks::points(&input, &quote)?;
            let order = new_order::insert(conn, &new_order::NewOrder {
                customer,
                input: &input,
                address: &address,
                located: &located,
                lines: &lines,
                quote: &quote,
                points,
                now,
            })
            .await?;
            if let Some(key) = idempotency_key {
                db::orders::insert_idempotency(conn, customer, key, &fingerprint, order.id).await?;
            }
            let usage: Vec<_> = jurisdiction
                .usage(&already, &adding)
                .into_iter()
                .map(|u| json!({ "limit": u.limit_id, "maxMg": u.max_mg, "alreadyMg": u.already_mg, "addingMg": u.adding_mg }))
                .collect();
            audit::record(conn, SERVICE, actor, "order.submitted", ("order", order.id.into_inner()), &json!({
                "orderNumber": order.order_number,
                "totalCents": order.total_cents,
                "jurisdiction": order.jurisdiction,
                "serviceArea": order.service_area,
                "idVerified": true,
                "purchaseLimits": usage,
            }))
            .await?;
            Ok::<_, Problem>(Placed::New(order))
        })
        .await;
    match outcome {
        Ok(placed) => {
            if matches!(placed, Placed::New(_)) {
                metrics::counter!("orders_checkouts_total").increment(1);
                if let Err(err) = state.carts.clear(customer).await {
                    tracing::warn!(error = %err, "order placed but its cart could not be cleared");
                }
            }
            Ok(placed)
        }
        Err(problem) => {
            metrics::counter!("orders_checkout_refusals_total", "code" => problem.code().as_str())
                .increment(1);
            if AUDITED_REFUSALS.contains(&problem.code()) {
                audit_refusal(state, actor, &problem).await;
            }
            Err(problem)
        }
    }
}

/// The order an earlier request with this key created, if the body is the same.
async fn replay(
    state: &AppState,
    customer: UserId,
    key: &str,
    fingerprint: &str,
) -> Result<Option<OrderRow>, Problem> {
    let mut conn = state.db().await?;
    match db::orders::find_idempotency(&mut conn, customer, key).await? {
        Some((hash, order)) => Ok(Some(
            replayed_order(&mut conn, &hash, fingerprint, order).await?,
        )),
        None => Ok(None),
    }
}

async fn replayed_order(
    conn: &mut AsyncPgConnection,
    hash: &str,
    fingerprint: &str,
    order: OrderId,
) -> Result<OrderRow, Problem> {
    if hash != fingerprint {
        return Err(Problem::new(Code::IdempotencyKeyReused).with_detail(
            "This Idempotency-Key was used with a different request; use a new key for a new order.",
        ));
    }
    db::orders::find(conn, order)
        .await?
        .ok_or_else(|| Problem::internal(&"an idempotency key points at no order"))
}

async fn audit_refusal(state: &AppState, actor: &Actor, problem: &Problem) {
    let details = json!({
        "code": problem.code().as_str(),
        "detail": problem.detail(),
        "facts": problem.extensions(),
    });
    let result = async {
        let mut conn = state.db().await.map_err(|p| p.to_string())?;
        conn.transaction(async |conn| {
            audit::record(
                conn,
                SERVICE,
                actor,
                "order.refused",
                ("user", actor.id),
                &details,
            )
            .await
        })
        .await
        .map_err(|e| e.to_string())
    }
    .await;
    if let Err(err) = result {
        tracing::warn!(error = %err, "could not audit a refused checkout");
    }
}
