//! Delivery addresses (the guide's addressSchema): geocoded when saved, at most
//! [`MAX_ADDRESSES`] per customer, exactly one primary while there are any.

use crate::db;
use crate::db::addresses::{AddressRow, AddressType};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use domain::{
    AddressId, AddressLine, City, FreeText, Instructions, Label, Problem, UsState, UsZip, UserId,
};
use geo::{AddressQuery, Geocoded};

/// Most addresses one customer may keep.
pub const MAX_ADDRESSES: i64 = 20;

/// Whether a saved address becomes the primary one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primacy {
    /// It becomes primary; the one that was loses it.
    Primary,
    /// It stays as it is (a first address is primary all the same).
    AsItIs,
}

/// An address as the customer gave it, parsed.
#[derive(Debug, Clone)]
pub struct Address {
    pub name: Label,
    pub line1: AddressLine,
    pub line2: Option<FreeText<255>>,
    pub city: City,
    pub state: UsState,
    pub zip: UsZip,
    pub kind: AddressType,
    pub instructions: Option<Instructions>,
    pub primacy: Primacy,
}

fn non_empty<const N: usize>(text: Option<FreeText<N>>) -> Option<String> {
    text.filter(|t| !t.is_empty()).map(FreeText::into_inner)
}

/// Where the geocoder put the address, if it could.
async fn geocode(state: &AppState, address: &Address) -> Option<Geocoded> {
    let query = AddressQuery {
        line1: address.line1.as_str(),
        line2: address.line2.as_ref().map(FreeText::as_str),
        city: address.city.as_str(),
        state: address.state.as_str(),
        zip: address.zip.as_str(),
    };
    match state.geocoder.geocode(&query).await {
        Ok(found) => found,
        Err(geo::GeocodeError::Unavailable(err)) => {
            // Saving must not depend on the provider being up: the address is stored without
            // coordinates and checkout refuses it until it is saved again.
            tracing::warn!(error = %err, "geocoder unavailable; address saved without coordinates");
            metrics::counter!("orders_geocoding_failures_total").increment(1);
            None
        }
        Err(geo::GeocodeError::Rejected(err)) => {
            tracing::error!(error = %err, "geocoder refused the request");
            metrics::counter!("orders_geocoding_failures_total").increment(1);
            None
        }
    }
}

fn row_from(
    address: Address,
    id: AddressId,
    user: UserId,
    found: Option<&Geocoded>,
    created_at: DateTime<Utc>,
) -> AddressRow {
    AddressRow {
        id,
        user_id: user,
        name: address.name.into_inner(),
        address_line1: address.line1.into_inner(),
        address_line2: non_empty(address.line2),
        city: address.city.into_inner(),
        state: address.state.as_str().to_owned(),
        zip_code: address.zip.as_str().to_owned(),
        address_type: address.kind,
        delivery_instructions: non_empty(address.instructions),
        is_primary: address.primacy == Primacy::Primary,
        latitude: found.map(|f| f.point.latitude()),
        longitude: found.map(|f| f.point.longitude()),
        geocode_precision: found.map(|f| f.precision.as_str().to_owned()),
        created_at,
        updated_at: Utc::now(),
    }
}

/// The customer's addresses, primary first.
pub async fn list(state: &AppState, user: UserId) -> Result<Vec<AddressRow>, Problem> {
    let mut conn = state.db().await?;
    Ok(db::addresses::list(&mut conn, user).await?)
}

/// Saves a new address; the first one is primary whatever the request says.
pub async fn create(
    state: &AppState,
    user: UserId,
    address: Address,
) -> Result<AddressRow, Problem> {
    let found = geocode(state, &address).await;
    let mut conn = state.db().await?;
    let row = conn
        .transaction(async move |conn| {
            let count = db::addresses::count(conn, user).await?;
            if count >= MAX_ADDRESSES {
                return Err(
                    Problem::new(domain::Code::BusinessRule).with_detail(format!(
                        "An account keeps at most {MAX_ADDRESSES} addresses; delete one first."
                    )),
                );
            }
            let mut row = row_from(address, AddressId::new(), user, found.as_ref(), Utc::now());
            row.is_primary = row.is_primary || count == 0;
            if row.is_primary {
                db::addresses::clear_primary(conn, user, row.id).await?;
            }
            Ok::<_, Problem>(db::addresses::insert(conn, &row).await?)
        })
        .await?;
    Ok(row)
}

/// Replaces an address of `user` (404 if it is not theirs). The primary address stays
/// primary: another one becomes primary by being saved with `isPrimary: true`.
pub async fn replace(
    state: &AppState,
    user: UserId,
    id: AddressId,
    address: Address,
) -> Result<AddressRow, Problem> {
    let found = geocode(state, &address).await;
    let mut conn = state.db().await?;
    conn.transaction(async move |conn| {
        let existing = db::addresses::find_owned(conn, user, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let mut row = row_from(address, id, user, found.as_ref(), existing.created_at);
        row.is_primary = row.is_primary || existing.is_primary;
        if row.is_primary {
            db::addresses::clear_primary(conn, user, id).await?;
        }
        Ok::<_, Problem>(db::addresses::update(conn, &row).await?)
    })
    .await
}

/// Deletes an address of `user`; when it was primary, the oldest other one takes over.
/// Orders keep their own copy of the destination, so history is unaffected.
pub async fn delete(state: &AppState, user: UserId, id: AddressId) -> Result<(), Problem> {
    let mut conn = state.db().await?;
    conn.transaction(async move |conn| {
        let existing = db::addresses::find_owned(conn, user, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        db::addresses::delete(conn, user, id).await?;
        if existing.is_primary {
            db::addresses::promote_oldest(conn, user).await?;
        }
        Ok::<_, Problem>(())
    })
    .await
}

/// 404 for an address that is not the customer's, or does not exist.
pub fn not_found(id: AddressId) -> Problem {
    Problem::not_found(format!("No delivery address {id} on this account."))
}
