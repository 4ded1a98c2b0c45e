//! `payment_methods`: a user's saved methods.

use crate::methods::MethodType;
use crate::schema::payment_methods;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{PaymentMethodId, UserId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = payment_methods)]
pub struct MethodRow {
    pub id: PaymentMethodId,
    pub user_id: UserId,
    pub method_type: MethodType,
    pub provider: String,
    pub provider_payment_method_id: String,
    pub card_brand: Option<String>,
    pub last_four: Option<String>,
    pub exp_month: Option<i16>,
    pub exp_year: Option<i16>,
    pub is_primary: bool,
    pub removed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = payment_methods)]
pub struct NewMethod<'a> {
    pub user_id: UserId,
    pub method_type: MethodType,
    pub provider: &'a str,
    pub provider_payment_method_id: &'a str,
    pub card_brand: Option<&'a str>,
    pub last_four: Option<&'a str>,
    pub exp_month: Option<i16>,
    pub exp_year: Option<i16>,
    pub is_primary: bool,
}

/// A user's methods in use, primary first, then newest.
pub async fn list(conn: &mut AsyncPgConnection, user_id: UserId) -> QueryResult<Vec<MethodRow>> {
    payment_methods::table
        .filter(payment_methods::user_id.eq(user_id))
        .filter(payment_methods::removed_at.is_null())
        .order((
            payment_methods::is_primary.desc(),
            payment_methods::created_at.desc(),
        ))
        .select(MethodRow::as_select())
        .load(conn)
        .await
}

/// How many methods the user keeps.
pub async fn count(conn: &mut AsyncPgConnection, user_id: UserId) -> QueryResult<i64> {
    payment_methods::table
        .filter(payment_methods::user_id.eq(user_id))
        .filter(payment_methods::removed_at.is_null())
        .count()
        .get_result(conn)
        .await
}

/// One of the user's methods in use, locked.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    id: PaymentMethodId,
) -> QueryResult<Option<MethodRow>> {
    payment_methods::table
        .find(id)
        .filter(payment_methods::user_id.eq(user_id))
        .filter(payment_methods::removed_at.is_null())
        .for_update()
        .select(MethodRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn insert(conn: &mut AsyncPgConnection, method: NewMethod<'_>) -> QueryResult<MethodRow> {
    diesel::insert_into(payment_methods::table)
        .values(method)
        .returning(MethodRow::as_returning())
        .get_result(conn)
        .await
}

/// Makes `id` the user's only primary method.
pub async fn make_primary(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    id: PaymentMethodId,
) -> QueryResult<()> {
    diesel::update(
        payment_methods::table
            .filter(payment_methods::user_id.eq(user_id))
            .filter(payment_methods::is_primary),
    )
    .set(payment_methods::is_primary.eq(false))
    .execute(conn)
    .await?;
    diesel::update(payment_methods::table.find(id))
        .set(payment_methods::is_primary.eq(true))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn mark_removed(conn: &mut AsyncPgConnection, id: PaymentMethodId) -> QueryResult<()> {
    diesel::update(payment_methods::table.find(id))
        .set((
            payment_methods::removed_at.eq(diesel::dsl::now),
            payment_methods::is_primary.eq(false),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
