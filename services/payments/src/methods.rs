//! Saved payment methods: the provider customer is created on first use, the method attached
//! at the provider, and only what the provider reports kept (brand, last four, expiry).

use crate::db;
use crate::db::methods::{MethodRow, NewMethod};
use crate::provider::{MethodSource, ProviderError};
use crate::state::AppState;
use diesel_async::AsyncConnection;
use domain::{Code, Problem};
use uuid::Uuid;

/// The kinds of method a customer saves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodType {
    Card,
    ApplePay,
    GooglePay,
}

impl MethodType {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "card" => Some(Self::Card),
            "apple_pay" => Some(Self::ApplePay),
            "google_pay" => Some(Self::GooglePay),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::ApplePay => "apple_pay",
            Self::GooglePay => "google_pay",
        }
    }
}

impl From<ProviderError> for Problem {
    fn from(error: ProviderError) -> Self {
        match error {
            ProviderError::InvalidRequest(message) => {
                Problem::new(Code::BusinessRule).with_detail(message)
            }
            ProviderError::Unavailable(_) => Problem::unavailable(&error),
        }
    }
}

/// The user's provider customer, created at the provider the first time.
async fn customer(state: &AppState, user_id: Uuid) -> Result<String, Problem> {
    let provider = state.provider.name();
    let mut conn = state.db().await?;
    if let Some(id) = db::customers::find(&mut conn, user_id, provider).await? {
        return Ok(id);
    }
    let created = state.provider.create_customer(user_id).await?;
    Ok(db::customers::insert(&mut conn, user_id, provider, &created).await?)
}

/// Attaches a method at the provider and saves it; the first one, or one asked to be,
/// becomes primary.
pub async fn add(
    state: &AppState,
    user_id: Uuid,
    method_type: MethodType,
    source: &MethodSource,
    make_primary: bool,
) -> Result<MethodRow, Problem> {
    let customer = customer(state, user_id).await?;
    let attached = state
        .provider
        .attach_payment_method(&customer, source)
        .await?;
    let provider = state.provider.name();
    let mut conn = state.db().await?;
    let row = conn
        .transaction(async |conn| {
            let first = db::methods::list(conn, user_id).await?.is_empty();
            let mut row = db::methods::insert(
                conn,
                NewMethod {
                    user_id,
                    method_type: method_type.as_str(),
                    provider,
                    provider_payment_method_id: &attached.id,
                    card_brand: Some(&attached.card.brand),
                    last_four: Some(&attached.card.last_four),
                    exp_month: Some(attached.card.exp_month),
                    exp_year: Some(attached.card.exp_year),
                    is_primary: false,
                },
            )
            .await?;
            if first || make_primary {
                db::methods::make_primary(conn, user_id, row.id).await?;
                row.is_primary = true;
            }
            Ok::<_, Problem>(row)
        })
        .await?;
    metrics::counter!("payments_methods_added_total", "type" => method_type.as_str()).increment(1);
    Ok(row)
}

/// Detaches a method at the provider and removes it; the newest remaining one becomes
/// primary if it was.
pub async fn remove(state: &AppState, user_id: Uuid, id: Uuid) -> Result<(), Problem> {
    let mut conn = state.db().await?;
    let method = conn
        .transaction(async |conn| {
            let method = db::methods::lock(conn, user_id, id)
                .await?
                .ok_or_else(|| Problem::not_found("No such payment method."))?;
            db::methods::mark_removed(conn, id).await?;
            if method.is_primary
                && let Some(next) = db::methods::list(conn, user_id).await?.first()
            {
                db::methods::make_primary(conn, user_id, next.id).await?;
            }
            Ok::<_, Problem>(method)
        })
        .await?;
    // After the commit: a failed detach leaves a method the user no longer sees attached at
    // the provider, which is harmless and logged.
    if let Err(err) = state
        .provider
        .detach_payment_method(&method.provider_payment_method_id)
        .await
    {
        tracing::warn!(error = %err, method = %id, "payment method not detached at the provider");
    }
    Ok(())
}
