//! The new order's rows (the order, its destination copied from the address, its item
//! snapshots, the first history entry) and `order.submitted`, in checkout's transaction.

use super::Checkout;
use crate::db;
use crate::db::addresses::AddressRow;
use crate::db::orders::{DestinationRow, ItemRow, NewHistory, OrderRow};
use crate::events;
use crate::pricing::{Line, Quote};
use chrono::{DateTime, Utc};
use compliance::{Jurisdiction, Located};
use diesel_async::AsyncPgConnection;
use domain::{OrderId, OrderStatus, PaymentStatus, Problem, Role, StockStatus, UserId};
use uuid::Uuid;

/// Everything checkout decided about the order.
pub struct NewOrder<'a> {
    pub customer: UserId,
    pub input: &'a Checkout,
    pub address: &'a AddressRow,
    pub located: &'a Located<'a>,
    pub lines: &'a [Line],
    pub quote: &'a Quote,
    pub points: i64,
    pub now: DateTime<Utc>,
}

/// "FS-20261124-0042": the local date of the order and a sequence number.
pub fn order_number(jurisdiction: &Jurisdiction, now: DateTime<Utc>, sequence: i64) -> String {
    format!(
        "FS-{}-{sequence:04}",
        jurisdiction.local_date(now).format("%Y%m%d")
    )
}

/// Stores the pending order and announces it.
pub async fn insert(conn: &mut AsyncPgConnection, new: &NewOrder<'_>) -> Result<OrderRow, Problem> {
    let jurisdiction = new.located.jurisdiction;
    let id = OrderId::new();
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
        status: OrderStatus::Pending,
        stock_status: StockStatus::Pending,
        payment_status: PaymentStatus::Pending,
        status_reason: None,
        status_detail: None,
        payment_method_id: new.input.payment_method,
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
        estimated_delivery_at: None,
        eta_computed_at: None,
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
            product_type: line.product.product_type,
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
            status: OrderStatus::Pending,
            stock_status: StockStatus::Pending,
            payment_status: PaymentStatus::Pending,
            reason: None,
            note: None,
            actor_id: Some(new.customer),
            actor_role: Some(Role::Customer),
        },
    )
    .await?;
    events::order_submitted(conn, &order, &destination, &items).await?;
    Ok(order)
}
