//! Saved payment methods: the provider customer is created on first use, the method attached
//! at the provider, and only what the provider reports kept (brand, last four, expiry).
//!
//! Saving a card checks it at the provider, which makes the endpoint a way to test stolen
//! cards; so a customer keeps at most a few methods and may try only a few an hour
//! ([`MethodLimits`]).

use crate::db;
use crate::db::methods::{MethodRow, NewMethod};
use crate::provider::{MethodSource, ProviderError};
use crate::state::AppState;
use deadpool_redis::redis;
use diesel_async::AsyncConnection;
use domain::{Code, Problem};
use domain::{PaymentMethodId, UserId};
use platform::redis::RedisPool;

/// The window of [`MethodLimits::adds_per_hour`].
const WINDOW_SECS: u64 = 3600;

/// Counts one attempt in the customer's window, starting the window with the first; answers
/// the attempts so far and the seconds the window has left.
const COUNT_ATTEMPT: &str = r"
local attempts = redis.call('INCR', KEYS[1])
local left = redis.call('TTL', KEYS[1])
if left < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {attempts, left}
";

/// How many methods a customer may keep, and try to add per hour (counted in Redis, so
/// across replicas; attempts the provider refuses count too, as card testing is mostly
/// refusals).
#[derive(Clone)]
pub struct MethodLimits {
    redis: RedisPool,
    prefix: String,
    max_saved: u32,
    adds_per_hour: u32,
    count_attempt: redis::Script,
}

impl MethodLimits {
    /// `prefix` goes before every Redis key.
    pub fn new(redis: RedisPool, prefix: &str, max_saved: u32, adds_per_hour: u32) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            max_saved,
            adds_per_hour,
            count_attempt: redis::Script::new(COUNT_ATTEMPT),
        }
    }

    fn full(&self) -> Problem {
        metrics::counter!("payments_method_adds_refused_total", "reason" => "full").increment(1);
        Problem::new(Code::BusinessRule).with_detail(format!(
            "You can keep at most {} payment methods; remove one before adding another.",
            self.max_saved
        ))
    }

    /// 422 when the customer already keeps the most methods allowed.
    async fn check_room(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
        user_id: UserId,
    ) -> Result<(), Problem> {
        if db::methods::count(conn, user_id).await? >= i64::from(self.max_saved) {
            return Err(self.full());
        }
        Ok(())
    }

    /// Counts an attempt; 429 with `Retry-After` past the hourly limit, 503 without Redis
    /// (an unbounded endpoint is what the limit is for).
    async fn count_attempt(&self, user_id: UserId) -> Result<(), Problem> {
        let key = format!("{}payments:method-adds:{user_id}", self.prefix);
        let mut conn = self
            .redis
            .get()
            .await
            .map_err(|err| Problem::unavailable(&err))?;
        let (attempts, left): (u64, i64) = self
            .count_attempt
            .key(&key)
            .arg(WINDOW_SECS)
            .invoke_async(&mut conn)
            .await
            .map_err(|err| Problem::unavailable(&err))?;
        if attempts > u64::from(self.adds_per_hour) {
            metrics::counter!("payments_method_adds_refused_total", "reason" => "rate")
                .increment(1);
            let retry_after = u64::try_from(left).unwrap_or(WINDOW_SECS).max(1);
            return Err(Problem::rate_limited(retry_after).with_detail(format!(
                "At most {} payment methods may be added per hour; try again later.",
                self.adds_per_hour
            )));
        }
        Ok(())
    }
}

domain::string_enum! {
    /// The kinds of method a customer saves.
    pub enum MethodType (field = "type") {
        Card => "card",
        ApplePay => "apple_pay",
        GooglePay => "google_pay",
    }
}

/// Whether a new method becomes the primary one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primacy {
    /// Asked for (`isPrimary`): it replaces the primary one.
    Primary,
    /// Only if it is the customer's first.
    IfFirst,
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
async fn customer(state: &AppState, user_id: UserId) -> Result<String, Problem> {
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
    user_id: UserId,
    method_type: MethodType,
    source: &MethodSource,
    primacy: Primacy,
) -> Result<MethodRow, Problem> {
    let limits = &state.method_limits;
    // A full list is refused before it costs an attempt or a call to the provider.
    limits.check_room(&mut *state.db().await?, user_id).await?;
    limits.count_attempt(user_id).await?;
    let customer = customer(state, user_id).await?;
    let attached = state
        .provider
        .attach_payment_method(&customer, source)
        .await?;
    let provider = state.provider.name();
    let mut conn = state.db().await?;
    let saved = conn
        .transaction(async |conn| {
            // One add at a time per customer, so two at once cannot both take the last place.
            db::customers::lock(conn, user_id).await?;
            limits.check_room(conn, user_id).await?;
            let first = db::methods::list(conn, user_id).await?.is_empty();
            let mut row = db::methods::insert(
                conn,
                NewMethod {
                    user_id,
                    method_type,
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
            if first || primacy == Primacy::Primary {
                db::methods::make_primary(conn, user_id, row.id).await?;
                row.is_primary = true;
            }
            Ok::<_, Problem>(row)
        })
        .await;
    let row = match saved {
        Ok(row) => row,
        Err(problem) => {
            // Not saved: nor should it stay attached at the provider.
            if let Err(err) = state.provider.detach_payment_method(&attached.id).await {
                tracing::warn!(error = %err, "unsaved payment method not detached at the provider");
            }
            return Err(problem);
        }
    };
    metrics::counter!("payments_methods_added_total", "type" => method_type.as_str()).increment(1);
    Ok(row)
}

/// Detaches a method at the provider and removes it; the newest remaining one becomes
/// primary if it was.
pub async fn remove(state: &AppState, user_id: UserId, id: PaymentMethodId) -> Result<(), Problem> {
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
