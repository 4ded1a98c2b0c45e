//! `/api/users/addresses*`: a customer's delivery addresses, each answered with whether it is
//! inside a service area, which one, how far from its centre, and the delivery fee there.

use super::money;
use crate::addresses::{self, Address, Primacy};
use crate::db::addresses::{AddressRow, AddressType};
use crate::state::AppState;
use actix_web::web;
use auth_token::{Authenticated, Customer};
use chrono::{DateTime, Utc};
use domain::{
    AddressId, AddressLine, City, FreeText, Instructions, Label, Listed, Money, Page, Problem,
    UsState, UsZip,
};
use platform::api::{Created, NoContent};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Whether and where a point is served.
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
    /// The answer for `point` (not served when there is none).
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
    pub id: AddressId,
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
    /// How precisely the address was placed: rooftop, street, approximate or zip_centroid.
    pub geocode_precision: Option<String>,
    pub service_area: AreaView,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Listed for AddressView {
    const KEY: &'static str = "addresses";
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

/// `POST`/`PUT /api/users/addresses` (the guide's addressSchema).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddressInput {
    /// A name for the address, e.g. "Home" (1–100 characters).
    #[schema(example = "Home")]
    pub name: Label,
    #[schema(example = "1100 Congress Ave")]
    pub address_line1: AddressLine,
    /// Apartment, suite, unit (may be empty).
    #[serde(default)]
    #[schema(example = "Apt 4")]
    pub address_line2: Option<FreeText<255>>,
    #[schema(example = "Austin")]
    pub city: City,
    #[schema(example = "TX")]
    pub state: UsState,
    #[schema(example = "78701")]
    pub zip_code: UsZip,
    pub address_type: AddressType,
    /// For the driver: gate code, where to park (up to 500 characters).
    #[serde(default)]
    pub delivery_instructions: Option<Instructions>,
    /// Make it the primary address (the first one is primary anyway).
    #[serde(default)]
    pub is_primary: bool,
}

impl From<AddressInput> for Address {
    fn from(input: AddressInput) -> Self {
        Self {
            name: input.name,
            line1: input.address_line1,
            line2: input.address_line2,
            city: input.city,
            state: input.state,
            zip: input.zip_code,
            kind: input.address_type,
            instructions: input.delivery_instructions,
            primacy: if input.is_primary {
                Primacy::Primary
            } else {
                Primacy::AsItIs
            },
        }
    }
}

/// The customer's addresses, primary first, each with whether it is served.
#[utoipa::path(get, path = "/api/users/addresses", tag = "addresses", security(("bearer" = [])),
    responses((status = 200, description = "Every address of the customer's (at most 20, one page)", body = Page<AddressView>)))]
pub async fn list_addresses(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
) -> Result<web::Json<Page<AddressView>>, Problem> {
    let rows = addresses::list(&state, customer.user_id()).await?;
    Ok(web::Json(
        Page::all(rows).map(|row| AddressView::new(row, &state.rules)),
    ))
}

/// Saves an address (geocoded; the answer says whether it is inside a service area).
#[utoipa::path(post, path = "/api/users/addresses", tag = "addresses", security(("bearer" = [])), request_body = AddressInput,
    responses((status = 201, description = "The saved address", body = AddressView),
        (status = 422, description = "`BUSINESS_RULE`: the account keeps 20 addresses already")))]
pub async fn create_address(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
    body: web::Json<AddressInput>,
) -> Result<Created<AddressView>, Problem> {
    let row = addresses::create(&state, customer.user_id(), body.into_inner().into()).await?;
    Ok(Created::new(AddressView::new(row, &state.rules)))
}

/// Replaces one of the customer's addresses.
#[utoipa::path(put, path = "/api/users/addresses/{id}", tag = "addresses", security(("bearer" = [])), request_body = AddressInput,
    params(("id" = AddressId, Path, description = "The address")),
    responses((status = 200, description = "The address as saved now", body = AddressView),
        (status = 404, description = "`NOT_FOUND`: no such address of the customer's")))]
pub async fn update_address(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
    id: web::Path<AddressId>,
    body: web::Json<AddressInput>,
) -> Result<web::Json<AddressView>, Problem> {
    let row = addresses::replace(&state, customer.user_id(), *id, body.into_inner().into()).await?;
    Ok(web::Json(AddressView::new(row, &state.rules)))
}

/// Deletes one of the customer's addresses (placed orders keep their copy).
#[utoipa::path(delete, path = "/api/users/addresses/{id}", tag = "addresses", security(("bearer" = [])),
    params(("id" = AddressId, Path, description = "The address")),
    responses((status = 204, description = "Deleted; the oldest other address is primary if this one was"),
        (status = 404, description = "`NOT_FOUND`: no such address of the customer's")))]
pub async fn delete_address(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
    id: web::Path<AddressId>,
) -> Result<NoContent, Problem> {
    addresses::delete(&state, customer.user_id(), *id).await?;
    Ok(NoContent)
}
