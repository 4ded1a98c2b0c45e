//! The read models checkout relies on instead of calling other services: products from
//! catalog (`product.upserted`, `product.deleted`) and users from auth (every `user.*` event
//! carries the user's whole state). Each applies only a newer version than the one held, so
//! redelivered or reordered events never roll a row back.

use crate::db;
use crate::db::products::ProductRow;
use crate::db::users::UserRow;
use crate::products::type_name;
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use events::{Handler, HandlerError, IncomingEvent, from_timestamp, v1};
use futures_util::future::BoxFuture;
use uuid::Uuid;

pub const READ_MODELS_QUEUE: &str = "orders.read_models";
pub const READ_MODELS_BINDINGS: &[&str] = &[
    "product.upserted",
    "product.deleted",
    "user.registered",
    "user.profile_updated",
    "user.id_verification_submitted",
    "user.id_verification_decided",
    "user.role_changed",
    "user.status_changed",
];

fn uuid(field: &str, value: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(value).map_err(|_| HandlerError::Permanent(format!("{field} is not a UUID")))
}

fn at(value: Option<prost_types::Timestamp>) -> DateTime<Utc> {
    value.and_then(from_timestamp).unwrap_or_else(Utc::now)
}

fn role(value: i32) -> &'static str {
    match v1::Role::try_from(value) {
        Ok(v1::Role::Driver) => "driver",
        Ok(v1::Role::Agent) => "agent",
        Ok(v1::Role::Admin) => "admin",
        _ => "customer",
    }
}

fn id_verification(value: i32) -> &'static str {
    match v1::IdVerificationStatus::try_from(value) {
        Ok(v1::IdVerificationStatus::Pending) => "pending",
        Ok(v1::IdVerificationStatus::Approved) => "approved",
        Ok(v1::IdVerificationStatus::Rejected) => "rejected",
        _ => "not_submitted",
    }
}

fn account_status(value: i32) -> &'static str {
    match v1::AccountStatus::try_from(value) {
        Ok(v1::AccountStatus::Suspended) => "suspended",
        _ => "active",
    }
}

fn user_row(
    id: &str,
    state: Option<v1::UserState>,
    registered_at: Option<DateTime<Utc>>,
) -> Result<UserRow, HandlerError> {
    let state =
        state.ok_or_else(|| HandlerError::Permanent("the event has no user state".into()))?;
    Ok(UserRow {
        id: uuid("user_id", id)?,
        version: state.version,
        email: state.email,
        full_name: state.full_name,
        phone: state.phone,
        date_of_birth: NaiveDate::parse_from_str(&state.date_of_birth, "%Y-%m-%d").ok(),
        role: role(state.role).to_owned(),
        id_verification: id_verification(state.id_verification_status).to_owned(),
        account_status: account_status(state.account_status).to_owned(),
        registered_at,
        updated_at: Utc::now(),
    })
}

pub struct ReadModels;

impl ReadModels {
    async fn apply(
        conn: &mut AsyncPgConnection,
        event: &IncomingEvent,
    ) -> Result<(), HandlerError> {
        match event.name.as_str() {
            "product.upserted" => {
                let p: v1::ProductUpserted = event.decode()?;
                let row = ProductRow {
                    id: uuid("product_id", &p.product_id)?,
                    version: p.version,
                    name: p.name,
                    category_id: Uuid::parse_str(&p.category_id).ok(),
                    category_slug: p.category_slug,
                    category_name: p.category_name,
                    product_type: type_name(p.product_type).to_owned(),
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
                };
                db::products::upsert(conn, &row).await?;
            }
            "product.deleted" => {
                let p: v1::ProductDeleted = event.decode()?;
                let id = uuid("product_id", &p.product_id)?;
                db::products::delete(conn, id, p.version, at(p.deleted_at)).await?;
            }
            "user.registered" => {
                let e: v1::UserRegistered = event.decode()?;
                let registered = Some(at(e.registered_at));
                db::users::upsert(conn, &user_row(&e.user_id, e.user, registered)?).await?;
            }
            "user.profile_updated" => {
                let e: v1::UserProfileUpdated = event.decode()?;
                db::users::upsert(conn, &user_row(&e.user_id, e.user, None)?).await?;
            }
            "user.id_verification_submitted" => {
                let e: v1::UserIdVerificationSubmitted = event.decode()?;
                db::users::upsert(conn, &user_row(&e.user_id, e.user, None)?).await?;
            }
            "user.id_verification_decided" => {
                let e: v1::UserIdVerificationDecided = event.decode()?;
                db::users::upsert(conn, &user_row(&e.user_id, e.user, None)?).await?;
            }
            "user.role_changed" => {
                let e: v1::UserRoleChanged = event.decode()?;
                db::users::upsert(conn, &user_row(&e.user_id, e.user, None)?).await?;
            }
            "user.status_changed" => {
                let e: v1::UserStatusChanged = event.decode()?;
                db::users::upsert(conn, &user_row(&e.user_id, e.user, None)?).await?;
            }
            other => {
                return Err(HandlerError::Permanent(format!(
                    "orders' read models do not use {other}"
                )));
            }
        }
        Ok(())
    }
}

impl Handler for ReadModels {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        event: &'a IncomingEvent,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(Self::apply(conn, event))
    }
}
