//! `POST /api/orders` (DESIGN §3 step 1): every compliance rule is checked against the read
//! models, the order is stored `pending` with its item snapshots and `order.submitted` in one
//! transaction, and the cart is cleared. The customer's read-model row is locked for the
//! transaction, so two checkouts of one customer run one after the other and cannot both
//! pass the daily limits; an `Idempotency-Key` repeat answers the order it created.

use crate::cart::CartEntry;
use crate::config::SERVICE;
use crate::db;
use crate::db::addresses::AddressRow;
use crate::db::orders::{DestinationRow, ItemRow, NewHistory, OrderRow};
use crate::pricing::{self, Line, Quote};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use compliance::{Jurisdiction, LimitedLine, Located};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::{Code, FieldError, Instructions, Money, Problem};
use events::audit::{self, Actor};
use events::outbox::publish;
use events::{timestamp, v1};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

/// The provider's smallest card charge: the rest after points is 0 or at least this.
pub const MINIMUM_CHARGE_CENTS: i64 = 50;

/// `POST /api/orders` (the guide's orderSchema, plus `pointsToRedeem`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckoutInput {
    /// One of the customer's saved delivery addresses.
    pub delivery_address_id: Uuid,
    /// One of the customer's saved payment methods (payments' id); may be left out only when
    /// reward points pay the whole total.
    #[serde(default)]
    pub payment_method_id: Option<Uuid>,
    /// Notes for the order (up to 500 characters).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub special_instructions: Option<Instructions>,
    /// FS Coin points to redeem (100 points = $1.00).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10000000)]
    pub points_to_redeem: u32,
}

impl CheckoutInput {
    /// A fingerprint of the request for `Idempotency-Key`.
    pub fn fingerprint(&self) -> String {
        let canonical = json!({
            "deliveryAddressId": self.delivery_address_id,
            "paymentMethodId": self.payment_method_id,
            "specialInstructions": self.special_instructions.as_ref().map(Instructions::as_str),
            "pointsToRedeem": self.points_to_redeem,
        });
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// The placed order, and whether it was placed by an earlier request with the same key.
pub struct Placed {
    pub order: OrderRow,
    pub replayed: bool,
}

/// A refusal a regulator could ask about is also written to the audit log.
const AUDITED_REFUSALS: &[Code] = &[
    Code::IdVerificationRequired,
    Code::AccountSuspended,
    Code::OutsideDeliveryArea,
    Code::OutsideDeliveryHours,
    Code::PurchaseLimitExceeded,
];

pub async fn place(
    state: &AppState,
    actor: &Actor,
    input: CheckoutInput,
    idempotency_key: Option<&str>,
) -> Result<Placed, Problem> {
    let customer = actor.id;
    let fingerprint = input.fingerprint();
    if let Some(key) = idempotency_key
        && let Some(order) = replay(state, customer, key, &fingerprint).await?
    {
        return Ok(Placed {
            order,
            replayed: true,
        });
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
                return replayed_order(conn, &hash, &fingerprint, order_id).await.map(|o| (o, true));
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
                    .with_extension("idVerificationStatus", user.id_verification.clone()));
            }
            if cart.is_empty() {
                return Err(Problem::new(Code::CartEmpty)
                    .with_detail("Add products to your cart before checking out."));
            }
            let address = db::addresses::find_owned(conn, customer, input.delivery_address_id)
                .await?
                .ok_or_else(|| crate::addresses::not_found(input.delivery_address_id))?;
            let located = locate(&rules, &address)?;
            let jurisdiction = located.jurisdiction;
            jurisdiction
                .check_delivery_hours(now)
                .map_err(crate::compliance_problems::outside_hours)?;
            let lines = lines(conn, &cart).await?;
            let day = jurisdiction.local_date(now);
            let already: Vec<LimitedLine> = db::orders::items_on_day(conn, customer, day)
                .await?
                .iter()
                .map(limited_item)
                .collect();
            let adding: Vec<LimitedLine> = lines.iter().map(Line::limited).collect();
            jurisdiction
                .check_purchase_limits(&already, &adding)
                .map_err(crate::compliance_problems::over_limit)?;
            let subtotal = pricing::subtotal_cents(&lines);
            jurisdiction
                .check_minimum_order(subtotal)
                .map_err(crate::compliance_problems::under_minimum)?;
            let quote = pricing::quote(jurisdiction, &lines, &address.city, located.distance_miles, day)
                .ok_or_else(|| crate::compliance_problems::beyond_fee_bands(&located))?;
            let points = check_points(&input, &quote)?;
            let order = insert_order(conn, &NewOrder {
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
            audit::record(conn, SERVICE, actor, "order.submitted", ("order", order.id), &json!({
                "orderNumber": order.order_number,
                "totalCents": order.total_cents,
                "jurisdiction": order.jurisdiction,
                "serviceArea": order.service_area,
                "idVerified": true,
                "purchaseLimits": usage,
            }))
            .await?;
            Ok::<_, Problem>((order, false))
        })
        .await;
    match outcome {
        Ok((order, replayed)) => {
            if !replayed {
                metrics::counter!("orders_checkouts_total").increment(1);
                if let Err(err) = state.carts.clear(customer).await {
                    tracing::warn!(error = %err, "order placed but its cart could not be cleared");
                }
            }
            Ok(Placed { order, replayed })
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
    customer: Uuid,
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
    order: Uuid,
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

fn locate<'a>(rules: &'a compliance::Rules, address: &AddressRow) -> Result<Located<'a>, Problem> {
    let point = address.point().ok_or_else(|| {
        Problem::new(Code::AddressNotGeocoded)
            .with_detail("We could not place this address on the map; check it and save it again.")
    })?;
    rules
        .locate(point)
        .ok_or_else(|| crate::compliance_problems::outside_area(rules, point))
}

/// The cart's lines from the product read model: every product must be for sale and
/// available in the quantity asked for.
async fn lines(conn: &mut AsyncPgConnection, cart: &[CartEntry]) -> Result<Vec<Line>, Problem> {
    let ids: Vec<Uuid> = cart.iter().map(|e| e.product_id).collect();
    let products = db::products::find_many(conn, &ids).await?;
    let mut lines = Vec::with_capacity(cart.len());
    let mut unavailable = Vec::new();
    let mut short = Vec::new();
    for entry in cart {
        match products.iter().find(|p| p.id == entry.product_id) {
            Some(p)
                if p.orderable() && crate::products::compliance_type(&p.product_type).is_some() =>
            {
                if p.available_quantity < i64::from(entry.quantity) {
                    short.push(json!({
                        "productId": p.id, "name": p.name,
                        "requested": entry.quantity, "available": p.available_quantity,
                    }));
                }
                lines.push(Line {
                    product: p.clone(),
                    quantity: entry.quantity,
                });
            }
            other => unavailable.push(json!({
                "productId": entry.product_id,
                "name": other.map(|p| p.name.clone()),
            })),
        }
    }
    if !unavailable.is_empty() {
        return Err(Problem::new(Code::ProductUnavailable)
            .with_detail(
                "Some products in your cart are no longer for sale; remove them to check out.",
            )
            .with_extension("products", unavailable));
    }
    if !short.is_empty() {
        return Err(Problem::new(Code::InsufficientStock)
            .with_detail("Some products in your cart are not available in the quantity asked for.")
            .with_extension("products", short));
    }
    Ok(lines)
}

fn limited_item(item: &ItemRow) -> LimitedLine {
    pricing::limited_line(
        &item.product_type,
        i64::from(item.quantity),
        item.net_weight_mg,
        item.thc_mg,
    )
}

/// Points may pay all of the order or leave at least the provider's minimum charge.
fn check_points(input: &CheckoutInput, quote: &Quote) -> Result<i64, Problem> {
    let points = i64::from(input.points_to_redeem);
    let rest = quote.total_cents - points;
    let money = |cents: i64| Money::from_cents(cents).unwrap_or(Money::ZERO).to_string();
    if rest < 0 {
        return Err(Problem::validation(vec![FieldError::new(
            "pointsToRedeem",
            format!(
                "At most {} points can be redeemed on this order (its total).",
                quote.total_cents
            ),
        )]));
    }
    if rest > 0 && rest < MINIMUM_CHARGE_CENTS {
        return Err(Problem::new(Code::BusinessRule).with_detail(format!(
            "Redeem all {} points or leave at least ${} to charge to the card.",
            quote.total_cents,
            money(MINIMUM_CHARGE_CENTS)
        )));
    }
    if rest > 0 && input.payment_method_id.is_none() {
        return Err(Problem::validation(vec![FieldError::new(
            "paymentMethodId",
            "A payment method is required unless points pay the whole order.",
        )]));
    }
    Ok(points)
}

struct NewOrder<'a> {
    customer: Uuid,
    input: &'a CheckoutInput,
    address: &'a AddressRow,
    located: &'a Located<'a>,
    lines: &'a [Line],
    quote: &'a Quote,
    points: i64,
    now: DateTime<Utc>,
}

/// "FS-20261124-0042": the local date of the order and a sequence number.
pub fn order_number(jurisdiction: &Jurisdiction, now: DateTime<Utc>, sequence: i64) -> String {
    format!(
        "FS-{}-{sequence:04}",
        jurisdiction.local_date(now).format("%Y%m%d")
    )
}

async fn insert_order(
    conn: &mut AsyncPgConnection,
    new: &NewOrder<'_>,
) -> Result<OrderRow, Problem> {
    let jurisdiction = new.located.jurisdiction;
    let id = Uuid::now_v7();
    let sequence = db::orders::next_number(conn).await?;
    let instructions = new
        .input
        .special_instructions
        .as_ref()
        .filter(|t| !t.is_empty())
        .map(|t| t.as_str().to_owned());
    let order = OrderRow {
        id,
        order_number: order_number(jurisdiction, new.now, sequence),
        customer_id: new.customer,
        status: "pending".into(),
        stock_status: "pending".into(),
        payment_status: "pending".into(),
        status_reason: None,
        status_detail: None,
        payment_method_id: new.input.payment_method_id,
        points_to_redeem: new.points,
        payment_attempt: 0,
        subtotal_cents: new.quote.subtotal_cents,
        tax_cents: new.quote.taxes.total_cents,
        delivery_fee_cents: new.quote.delivery_fee_cents,
        total_cents: new.quote.total_cents,
        taxes: serde_json::to_value(&new.quote.taxes.components).unwrap_or_default(),
        jurisdiction: jurisdiction.code.clone(),
        service_area: new.located.area.id.clone(),
        distance_miles: new.located.distance_miles,
        local_date: jurisdiction.local_date(new.now),
        special_instructions: instructions,
        driver_id: None,
        id_check: None,
        created_at: new.now,
        updated_at: new.now,
        confirmed_at: None,
        delivered_at: None,
        cancelled_at: None,
    };
    let a = new.address;
    let destination = DestinationRow {
        order_id: id,
        address_id: a.id,
        address_name: a.name.clone(),
        address_line1: a.address_line1.clone(),
        address_line2: a.address_line2.clone(),
        city: a.city.clone(),
        state: a.state.clone(),
        zip_code: a.zip_code.clone(),
        latitude: a.latitude.unwrap_or_default(),
        longitude: a.longitude.unwrap_or_default(),
        delivery_instructions: a.delivery_instructions.clone(),
    };
    let items: Vec<ItemRow> = new
        .lines
        .iter()
        .map(|line| ItemRow {
            id: Uuid::now_v7(),
            order_id: id,
            product_id: line.product.id,
            product_name: line.product.name.clone(),
            product_type: line.product.product_type.clone(),
            quantity: i32::try_from(line.quantity).unwrap_or(i32::MAX),
            unit_price_cents: line.product.price_cents,
            line_total_cents: line.total_cents(),
            net_weight_mg: line.product.net_weight_mg,
            thc_mg: line.product.thc_mg,
            package_label: line.product.package_label.clone(),
        })
        .collect();
    db::orders::insert(conn, &order, &destination, &items).await?;
    db::orders::add_history(
        conn,
        NewHistory {
            order_id: id,
            status: "pending",
            stock_status: "pending",
            payment_status: "pending",
            reason: None,
            note: None,
            actor_id: Some(new.customer),
            actor_role: Some("customer"),
        },
    )
    .await?;
    let correlation = id.to_string();
    publish(
        conn,
        &v1::OrderSubmitted {
            order_id: correlation.clone(),
            order_number: order.order_number.clone(),
            customer_id: new.customer.to_string(),
            lines: items.iter().map(crate::lifecycle::line).collect(),
            destination: Some(destination_event(&destination)),
            subtotal_cents: order.subtotal_cents,
            tax_cents: order.tax_cents,
            delivery_fee_cents: order.delivery_fee_cents,
            total_cents: order.total_cents,
            payment_method_id: order
                .payment_method_id
                .map(|m| m.to_string())
                .unwrap_or_default(),
            points_to_redeem: order.points_to_redeem,
            special_instructions: order.special_instructions.clone().unwrap_or_default(),
            submitted_at: Some(timestamp(new.now)),
        },
        Some(&correlation),
    )
    .await?;
    Ok(order)
}

pub fn destination_event(d: &DestinationRow) -> v1::Destination {
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
