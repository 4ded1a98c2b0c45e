//! `/api/compliance/*`, the guide's compliance endpoints: the licence, the tax calculator and
//! the delivery-area check. Public: a storefront shows them before sign-in.

use super::addresses::AreaView;
use super::money;
use crate::pricing::{self, TaxGroups};
use crate::state::AppState;
use actix_web::web;
use chrono::Utc;
use compliance::{Jurisdiction, LicenseStatus};
use domain::{Code, FieldError, Money, Problem, UsState, UsZip};
use geo::{Point, ZipCentroids};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BusinessLicense {
    pub name: String,
    pub license_number: String,
    pub license_type: String,
    pub issuer: String,
    pub issued_date: chrono::NaiveDate,
    pub expiration_date: chrono::NaiveDate,
    /// Computed from the dates.
    pub status: LicenseState,
}

domain::string_enum! {
    /// Whether the licence is in force today (in the jurisdiction's time zone).
    pub enum LicenseState (field = "status") {
        Active => "active",
        Expired => "expired",
        NotYetValid => "not_yet_valid",
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceFacts {
    pub track_and_trace: String,
    pub tax_reporting: String,
    pub age_verification: String,
    pub minimum_age: u32,
    pub delivery_areas: Vec<String>,
    pub approved_municipalities: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseView {
    pub jurisdiction: String,
    pub business: BusinessLicense,
    pub compliance: ComplianceFacts,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Licenses {
    /// The first jurisdiction's licence (the guide's shape).
    #[serde(flatten)]
    pub primary: LicenseView,
    /// Every jurisdiction this deployment delivers in.
    pub licenses: Vec<LicenseView>,
}

fn license_view(j: &Jurisdiction) -> LicenseView {
    let status = match j.license.status(j.local_date(Utc::now())) {
        LicenseStatus::Active => LicenseState::Active,
        LicenseStatus::Expired => LicenseState::Expired,
        LicenseStatus::NotYetValid => LicenseState::NotYetValid,
    };
    LicenseView {
        jurisdiction: j.code.clone(),
        business: BusinessLicense {
            name: j.license.business_name.clone(),
            license_number: j.license.license_number.clone(),
            license_type: j.license.license_type.clone(),
            issuer: j.license.issuer.clone(),
            issued_date: j.license.issued_on,
            expiration_date: j.license.expires_on,
            status,
        },
        compliance: ComplianceFacts {
            track_and_trace: j.license.track_and_trace.clone(),
            tax_reporting: "Automated".into(),
            age_verification: if j.license.age_verification_required {
                "Required"
            } else {
                "Not required"
            }
            .into(),
            minimum_age: j.minimum_age,
            delivery_areas: j.service_areas.iter().map(|a| a.name.clone()).collect(),
            approved_municipalities: j.approved_municipalities.clone(),
        },
    }
}

/// The business licence (status computed from its dates) and compliance facts.
#[utoipa::path(get, path = "/api/compliance/license", tag = "compliance",
    responses((status = 200, description = "The licence of every jurisdiction served", body = Licenses)))]
pub async fn get_license(state: web::Data<AppState>) -> Result<web::Json<Licenses>, Problem> {
    let jurisdictions = state.rules.jurisdictions();
    let first = jurisdictions
        .first()
        .ok_or_else(|| Problem::unavailable(&"no jurisdiction is configured"))?;
    Ok(web::Json(Licenses {
        primary: license_view(first),
        licenses: jurisdictions.iter().map(license_view).collect(),
    }))
}

/// Where the goods go: `city`, `state` and `zipCode` decide. The guide's clients send the
/// whole address object (as `GET /api/users/addresses` answers it), so its other members are
/// accepted: coordinates are used where they help, the rest is ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlaceInput {
    #[schema(example = "Austin")]
    pub city: Option<String>,
    #[schema(example = "TX")]
    pub state: Option<UsState>,
    #[schema(example = "78701")]
    pub zip_code: Option<UsZip>,
    #[schema(example = "1100 Congress Ave")]
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaxInput {
    /// Goods before tax (treated as cannabis goods): `"100.00"`, or the guide's number `100`.
    #[serde(deserialize_with = "domain::money::number_or_string")]
    #[schema(schema_with = domain::money::number_or_string_schema)]
    pub subtotal: Money,
    pub delivery_address: PlaceInput,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaxComponentView {
    pub id: String,
    pub name: String,
    pub percent: String,
    #[schema(value_type = String)]
    pub amount: Money,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Taxes {
    #[schema(value_type = String)]
    pub state: Money,
    #[schema(value_type = String)]
    pub cannabis: Money,
    #[schema(value_type = String)]
    pub local: Money,
    #[schema(value_type = String)]
    pub total: Money,
    pub components: Vec<TaxComponentView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaxAnswer {
    pub jurisdiction: String,
    #[schema(value_type = String)]
    pub subtotal: Money,
    pub taxes: Taxes,
    #[schema(value_type = String)]
    pub total: Money,
}

/// Taxes on a subtotal for a delivery address (state sales, cannabis excise, local).
#[utoipa::path(post, path = "/api/compliance/calculate-tax", tag = "compliance", request_body = TaxInput,
    responses((status = 200, description = "The taxes, grouped and by component", body = TaxAnswer),
        (status = 422, description = "`OUTSIDE_DELIVERY_AREA`: no jurisdiction served holds the place")))]
pub async fn calculate_tax(
    state: web::Data<AppState>,
    body: web::Json<TaxInput>,
) -> Result<web::Json<TaxAnswer>, Problem> {
    let input = body.into_inner();
    let place = &input.delivery_address;
    let j = pricing::jurisdiction_for(
        &state.rules,
        place.zip_code.as_ref().map(UsZip::as_str),
        place.state.as_ref().map(UsState::as_str),
    )
    .ok_or_else(|| {
        Problem::new(Code::OutsideDeliveryArea).with_detail("We do not deliver to this address.")
    })?;
    let city = place.city.clone().unwrap_or_default();
    let TaxGroups {
        state_cents,
        cannabis_cents,
        local_cents,
        breakdown,
    } = pricing::tax_groups(
        j,
        input.subtotal.to_cents(),
        &city,
        j.local_date(Utc::now()),
    );
    Ok(web::Json(TaxAnswer {
        jurisdiction: j.code.clone(),
        subtotal: input.subtotal,
        total: money(input.subtotal.to_cents() + breakdown.total_cents),
        taxes: Taxes {
            state: money(state_cents),
            cannabis: money(cannabis_cents),
            local: money(local_cents),
            total: money(breakdown.total_cents),
            components: breakdown
                .components
                .into_iter()
                .map(|c| TaxComponentView {
                    id: c.id,
                    name: c.name,
                    percent: c.percent,
                    amount: money(c.amount_cents),
                })
                .collect(),
        },
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AreaInput {
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// Used when no coordinates are sent (the ZIP's centre).
    #[schema(example = "78701")]
    pub zip_code: Option<UsZip>,
    /// The guide's request: an address object, read for its coordinates, else its ZIP.
    pub address: Option<PlaceInput>,
}

/// Today's answer and the guide's members beside it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AreaAnswer {
    #[serde(flatten)]
    pub area: AreaView,
    /// The guide's name for `inServiceArea`.
    pub approved: bool,
    /// Why not, when not approved (the guide's text).
    pub reason: Option<String>,
    /// The municipalities served, in every jurisdiction (informative: the service areas decide).
    pub available_areas: Vec<String>,
}

/// Whether a point (or a ZIP's centre, or the guide's `address`) is inside a service area, and
/// the delivery fee there.
#[utoipa::path(post, path = "/api/compliance/validate-delivery-area", tag = "compliance", request_body = AreaInput,
    responses((status = 200, description = "Whether the place is served, where and for what fee", body = AreaAnswer)))]
pub async fn validate_delivery_area(
    state: web::Data<AppState>,
    body: web::Json<AreaInput>,
) -> Result<web::Json<AreaAnswer>, Problem> {
    let input = body.into_inner();
    let address = input.address.as_ref();
    let coordinates = match (input.latitude, input.longitude) {
        (Some(lat), Some(lon)) => Some((lat, lon, "latitude")),
        (None, None) => match address.map(|a| (a.latitude, a.longitude)) {
            Some((Some(lat), Some(lon))) => Some((lat, lon, "address.latitude")),
            _ => None,
        },
        _ => {
            return Err(Problem::validation(vec![FieldError::new(
                "latitude",
                "send both latitude and longitude, or neither",
            )]));
        }
    };
    let zip = input
        .zip_code
        .as_ref()
        .or_else(|| address.and_then(|a| a.zip_code.as_ref()));
    let point = match (coordinates, zip) {
        (Some((lat, lon, field)), _) => Some(
            Point::new(lat, lon)
                .map_err(|e| Problem::validation(vec![FieldError::new(field, e.to_string())]))?,
        ),
        (None, Some(zip)) => ZipCentroids::get().lookup(zip.as_str()),
        (None, None) => {
            return Err(Problem::validation(vec![FieldError::new(
                "latitude",
                "send latitude and longitude, a zipCode, or an address with either",
            )]));
        }
    };
    let area = AreaView::for_point(&state.rules, point);
    let mut available_areas: Vec<String> = state
        .rules
        .jurisdictions()
        .iter()
        .flat_map(|j| j.approved_municipalities.iter().cloned())
        .collect();
    available_areas.dedup();
    Ok(web::Json(AreaAnswer {
        approved: area.in_service_area,
        reason: (!area.in_service_area).then(|| "Delivery not available in this area".to_owned()),
        available_areas,
        area,
    }))
}
