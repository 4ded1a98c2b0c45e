//! `payment_customers`: the provider's customer of each user.

use crate::schema::payment_customers;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::UserId;

/// The provider customer id of `user_id`, if one was created.
pub async fn find(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    provider: &str,
) -> QueryResult<Option<String>> {
    payment_customers::table
        .find(user_id)
        .filter(payment_customers::provider.eq(provider))
        .select(payment_customers::provider_customer_id)
        .first(conn)
        .await
        .optional()
}

/// Records the customer; when two requests created one at once, the first stored wins and
/// is returned.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    provider: &str,
    customer_id: &str,
) -> QueryResult<String> {
    diesel::insert_into(payment_customers::table)
        .values((
            payment_customers::user_id.eq(user_id),
            payment_customers::provider.eq(provider),
            payment_customers::provider_customer_id.eq(customer_id),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    payment_customers::table
        .find(user_id)
        .select(payment_customers::provider_customer_id)
        .first(conn)
        .await
}

/// Locks the user's customer row until the transaction ends (it exists once a method is
/// attached), so that changes to one customer's methods take turns.
pub async fn lock(conn: &mut AsyncPgConnection, user_id: UserId) -> QueryResult<()> {
    payment_customers::table
        .find(user_id)
        .for_update()
        .select(payment_customers::user_id)
        .first::<UserId>(conn)
        .await
        .optional()?;
    Ok(())
}
