//! `delivery_addresses`: a customer's saved addresses, at most one primary.

use crate::schema::delivery_addresses as addresses;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{AddressId, UserId};

domain::string_enum! {
    /// The guide's address types.
    pub enum AddressType (field = "addressType") {
        Home => "home",
        Work => "work",
        Other => "other",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = addresses, treat_none_as_null = true)]
pub struct AddressRow {
    pub id: AddressId,
    pub user_id: UserId,
    pub name: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    pub state: String,
    pub zip_code: String,
    pub address_type: AddressType,
    pub delivery_instructions: Option<String>,
    pub is_primary: bool,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub geocode_precision: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl AddressRow {
    pub fn point(&self) -> Option<geo::Point> {
        geo::Point::new(self.latitude?, self.longitude?).ok()
    }
}

pub async fn list(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<Vec<AddressRow>> {
    addresses::table
        .filter(addresses::user_id.eq(user))
        .order((addresses::is_primary.desc(), addresses::created_at.asc()))
        .select(AddressRow::as_select())
        .load(conn)
        .await
}

pub async fn count(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<i64> {
    addresses::table
        .filter(addresses::user_id.eq(user))
        .count()
        .get_result(conn)
        .await
}

/// The address if it is `user`'s.
pub async fn find_owned(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: AddressId,
) -> QueryResult<Option<AddressRow>> {
    addresses::table
        .filter(addresses::id.eq(id))
        .filter(addresses::user_id.eq(user))
        .select(AddressRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn primary(
    conn: &mut AsyncPgConnection,
    user: UserId,
) -> QueryResult<Option<AddressRow>> {
    addresses::table
        .filter(addresses::user_id.eq(user))
        .filter(addresses::is_primary.eq(true))
        .select(AddressRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Takes the primary flag from every other address of `user` (before one becomes primary).
pub async fn clear_primary(
    conn: &mut AsyncPgConnection,
    user: UserId,
    except: AddressId,
) -> QueryResult<()> {
    diesel::update(addresses::table)
        .filter(addresses::user_id.eq(user))
        .filter(addresses::id.ne(except))
        .filter(addresses::is_primary.eq(true))
        .set(addresses::is_primary.eq(false))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn insert(conn: &mut AsyncPgConnection, row: &AddressRow) -> QueryResult<AddressRow> {
    diesel::insert_into(addresses::table)
        .values(row)
        .returning(AddressRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn update(conn: &mut AsyncPgConnection, row: &AddressRow) -> QueryResult<AddressRow> {
    diesel::update(addresses::table.find(row.id))
        .set(row)
        .returning(AddressRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: AddressId,
) -> QueryResult<bool> {
    let deleted = diesel::delete(
        addresses::table
            .filter(addresses::id.eq(id))
            .filter(addresses::user_id.eq(user)),
    )
    .execute(conn)
    .await?;
    Ok(deleted > 0)
}

/// Makes the oldest remaining address primary when the primary one was deleted.
pub async fn promote_oldest(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<()> {
    let oldest: Option<AddressId> = addresses::table
        .filter(addresses::user_id.eq(user))
        .order(addresses::created_at.asc())
        .select(addresses::id)
        .first(conn)
        .await
        .optional()?;
    if let Some(id) = oldest {
        diesel::update(addresses::table.find(id))
            .set(addresses::is_primary.eq(true))
            .execute(conn)
            .await?;
    }
    Ok(())
}
