//! Delivery addresses (the guide's addressSchema): parsed at the edge, geocoded when saved,
//! and answered with whether they are inside a service area.

use crate::db;
use crate::db::addresses::AddressRow;
use crate::state::AppState;
use chrono::Utc;
use diesel_async::AsyncConnection;
use domain::{AddressLine, City, FreeText, Instructions, Label, Problem, UsState, UsZip};
use geo::{AddressQuery, Geocoded};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Most addresses one customer may keep.
pub const MAX_ADDRESSES: i64 = 20;

/// The guide's address types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AddressType {
    Home,
    Work,
    Other,
}

impl AddressType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Home => "home",
            Self::Work => "work",
            Self::Other => "other",
        }
    }
}

/// `POST`/`PUT /api/users/addresses` (the guide's addressSchema).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddressInput {
    /// A name for the address, e.g. "Home" (1–100 characters).
    #[schema(value_type = String, example = "Home")]
    pub name: Label,
    #[schema(value_type = String, example = "1100 Congress Ave")]
    pub address_line1: AddressLine,
    /// Apartment, suite, unit (may be empty).
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "Apt 4")]
    pub address_line2: Option<FreeText<255>>,
    #[schema(value_type = String, example = "Austin")]
    pub city: City,
    #[schema(value_type = String, example = "TX")]
    pub state: UsState,
    #[schema(value_type = String, example = "78701")]
    pub zip_code: UsZip,
    pub address_type: AddressType,
    /// For the driver: gate code, where to park (up to 500 characters).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub delivery_instructions: Option<Instructions>,
    #[serde(default)]
    pub is_primary: bool,
}

fn non_empty<const N: usize>(text: Option<FreeText<N>>) -> Option<String> {
    text.filter(|t| !t.is_empty()).map(FreeText::into_inner)
}

/// Where the geocoder put the address, if it could.
async fn geocode(state: &AppState, input: &AddressInput) -> Option<Geocoded> {
    let line2 = input.address_line2.as_ref().map(FreeText::as_str);
    let query = AddressQuery {
        line1: input.address_line1.as_str(),
        line2,
        city: input.city.as_str(),
        state: input.state.as_str(),
        zip: input.zip_code.as_str(),
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
    input: AddressInput,
    id: Uuid,
    user: Uuid,
    found: Option<&Geocoded>,
    created_at: chrono::DateTime<Utc>,
) -> AddressRow {
    AddressRow {
        id,
        user_id: user,
        name: input.name.into_inner(),
        address_line1: input.address_line1.into_inner(),
        address_line2: non_empty(input.address_line2),
        city: input.city.into_inner(),
        state: input.state.as_str().to_owned(),
        zip_code: input.zip_code.as_str().to_owned(),
        address_type: input.address_type.as_str().to_owned(),
        delivery_instructions: non_empty(input.delivery_instructions),
        is_primary: input.is_primary,
        latitude: found.map(|f| f.point.latitude()),
        longitude: found.map(|f| f.point.longitude()),
        geocode_precision: found.map(|f| f.precision.as_str().to_owned()),
        created_at,
        updated_at: Utc::now(),
    }
}

/// Saves a new address; the first one is primary whatever the request says.
pub async fn create(
    state: &AppState,
    user: Uuid,
    input: AddressInput,
) -> Result<AddressRow, Problem> {
    let found = geocode(state, &input).await;
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
            let mut row = row_from(input, Uuid::now_v7(), user, found.as_ref(), Utc::now());
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
    user: Uuid,
    id: Uuid,
    input: AddressInput,
) -> Result<AddressRow, Problem> {
    let found = geocode(state, &input).await;
    let mut conn = state.db().await?;
    conn.transaction(async move |conn| {
        let existing = db::addresses::find_owned(conn, user, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let mut row = row_from(input, id, user, found.as_ref(), existing.created_at);
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
pub async fn delete(state: &AppState, user: Uuid, id: Uuid) -> Result<(), Problem> {
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

pub fn not_found(id: Uuid) -> Problem {
    Problem::not_found(format!("No delivery address {id} on this account."))
}
