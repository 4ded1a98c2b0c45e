//! The JSON shapes of orders' answers (camelCase, money as decimal strings, DESIGN §5).

use crate::db::addresses::AddressRow;
use crate::db::orders::{DestinationRow, HistoryRow, ItemRow, OrderRow};
use chrono::{DateTime, Utc};
use domain::Money;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub fn money(cents: i64) -> Money {
    Money::from_cents(cents).unwrap_or(Money::ZERO)
}

/// Whether and where an address is served.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AreaView {
    pub in_service_area: bool,
    /// The service area's id and name, when inside one.
    pub area_id: Option<String>,
    pub area_name: Option<String>,
    pub jurisdiction: Option<String>,
    /// Miles from the area's centre (one decimal).
    pub distance_miles: Option<f64>,
    /// The delivery fee for a small order at this distance (free above the threshold).
    #[schema(value_type = Option<String>, example = "5.00")]
    pub delivery_fee: Option<Money>,
}

impl AreaView {
    pub fn for_point(rules: &compliance::Rules, point: Option<geo::Point>) -> Self {
        let located = point.and_then(|p| rules.locate(p));
        Self {
            in_service_area: located.is_some(),
            area_id: located.as_ref().map(|l| l.area.id.clone()),
            area_name: located.as_ref().map(|l| l.area.name.clone()),
            jurisdiction: located.as_ref().map(|l| l.jurisdiction.code.clone()),
            distance_miles: located
                .as_ref()
                .map(|l| (l.distance_miles * 10.0).round() / 10.0),
            delivery_fee: located
                .as_ref()
                .and_then(|l| l.jurisdiction.delivery_fee_cents(l.distance_miles, 0))
                .map(money),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressView {
    pub id: Uuid,
    pub name: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    pub state: String,
    pub zip_code: String,
    pub address_type: String,
    pub delivery_instructions: Option<String>,
    pub is_primary: bool,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// How precisely the address was placed: rooftop, street, approximate or zip_centroid.
    pub geocode_precision: Option<String>,
    pub service_area: AreaView,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl AddressView {
    pub fn new(row: AddressRow, rules: &compliance::Rules) -> Self {
        let service_area = AreaView::for_point(rules, row.point());
        Self {
            id: row.id,
            name: row.name,
            address_line1: row.address_line1,
            address_line2: row.address_line2,
            city: row.city,
            state: row.state,
            zip_code: row.zip_code,
            address_type: row.address_type,
            delivery_instructions: row.delivery_instructions,
            is_primary: row.is_primary,
            latitude: row.latitude,
            longitude: row.longitude,
            geocode_precision: row.geocode_precision,
            service_area,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderItemView {
    pub product_id: Uuid,
    pub product_name: String,
    pub product_type: String,
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
    pub id: Uuid,
    pub order_number: String,
    pub customer_id: Uuid,
    /// pending, confirmed, preparing, out_for_delivery, delivered, cancelled, payment_failed.
    pub status: String,
    /// Inside `pending`: pending, reserved or rejected.
    pub stock_status: String,
    /// pending, succeeded, failed, refunded or action_required.
    pub payment_status: String,
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
    pub payment_method_id: Option<Uuid>,
    pub service_area: String,
    pub jurisdiction: String,
    pub driver_id: Option<Uuid>,
    pub special_instructions: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// The order's lines (the snapshot taken at checkout).
    pub items: Vec<OrderItemView>,
}

impl OrderView {
    pub fn new(order: OrderRow, items: Vec<ItemRow>) -> Self {
        Self {
            id: order.id,
            order_number: order.order_number,
            customer_id: order.customer_id,
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
            items: items.into_iter().map(OrderItemView::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DestinationView {
    pub address_id: Uuid,
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
    pub status: String,
    pub stock_status: String,
    pub payment_status: String,
    pub reason: Option<String>,
    pub note: Option<String>,
    pub actor_role: Option<String>,
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

impl OrderDetail {
    pub fn new(
        order: OrderRow,
        items: Vec<ItemRow>,
        destination: Option<DestinationRow>,
        history: Vec<HistoryRow>,
    ) -> Self {
        let taxes: Vec<compliance::TaxComponent> =
            serde_json::from_value(order.taxes.clone()).unwrap_or_default();
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
            order: OrderView::new(order, items),
            delivery_address: destination.map(DestinationView::from),
            status_history: history.into_iter().map(HistoryView::from).collect(),
        }
    }
}
