//! Carts, kept in Redis (the guide's `cart:{userId}`): a hash of product id → quantity and when
//! it was added. Every change re-arms the key's expiry, so a cart left untouched for the
//! configured time (7 days) disappears on its own. Changes run as Lua scripts so two taps on
//! "add" at once can never pass the quantity cap together.

use chrono::{DateTime, TimeZone, Utc};
use deadpool_redis::redis;
use domain::{ProductId, UserId};
use platform::redis::RedisPool;
use std::time::Duration;

/// Adds ARGV[2] packages of product ARGV[1] unless the line would exceed ARGV[3]; ARGV[4] is
/// now in milliseconds, ARGV[5] the expiry in milliseconds, ARGV[6] the most lines allowed.
/// Returns the new quantity, -1 over the cap (with the current quantity second) or -2 when
/// the cart is full.
const ADD: &str = r"
local current = redis.call('HGET', KEYS[1], ARGV[1])
local quantity, added = 0, ARGV[4]
if current then
  local sep = string.find(current, '|')
  quantity = tonumber(string.sub(current, 1, sep - 1))
  added = string.sub(current, sep + 1)
elseif redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[6]) then
  return {-2, 0}
end
local wanted = quantity + tonumber(ARGV[2])
if wanted > tonumber(ARGV[3]) then return {-1, quantity} end
redis.call('HSET', KEYS[1], ARGV[1], wanted .. '|' .. added)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {wanted, quantity}
";

/// Sets product ARGV[1]'s quantity to ARGV[2] if the line exists. Returns 1, or 0 if absent.
const SET: &str = r"
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 0 end
local sep = string.find(current, '|')
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. string.sub(current, sep + 1))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
";

/// One line of a cart as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartEntry {
    pub product_id: ProductId,
    pub quantity: u32,
    pub added_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum CartError {
    #[error("the line would hold more than {cap} packages (it holds {current})")]
    OverCap { cap: u32, current: u32 },
    #[error("the cart already holds {0} different products")]
    Full(u32),
    #[error("the product is not in the cart")]
    NotInCart,
    #[error("cart storage unavailable: {0}")]
    Unavailable(#[from] redis::RedisError),
    #[error("cart storage unavailable: {0}")]
    Pool(#[from] deadpool_redis::PoolError),
}

#[derive(Clone)]
pub struct Carts {
    redis: RedisPool,
    prefix: String,
    ttl: Duration,
    max_lines: u32,
    add: redis::Script,
    set: redis::Script,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn parse_entry(field: &str, value: &str) -> Option<CartEntry> {
    let (quantity, added) = value.split_once('|')?;
    Some(CartEntry {
        product_id: field.parse().ok()?,
        quantity: quantity.parse().ok()?,
        added_at: Utc.timestamp_millis_opt(added.parse().ok()?).single()?,
    })
}

impl Carts {
    pub fn new(redis: RedisPool, prefix: &str, ttl: Duration, max_lines: u32) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            ttl,
            max_lines,
            add: redis::Script::new(ADD),
            set: redis::Script::new(SET),
        }
    }

    /// How long an untouched cart lives.
    pub const fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn key(&self, user: UserId) -> String {
        format!("{}cart:{user}", self.prefix)
    }

    /// The cart's lines, oldest first. Reading counts as touching it.
    pub async fn get(&self, user: UserId) -> Result<Vec<CartEntry>, CartError> {
        let mut conn = self.redis.get().await?;
        let key = self.key(user);
        let (raw, _): (Vec<(String, String)>, i64) = redis::pipe()
            .hgetall(&key)
            .pexpire(&key, i64::try_from(millis(self.ttl)).unwrap_or(i64::MAX))
            .query_async(&mut conn)
            .await?;
        let mut entries: Vec<CartEntry> = raw
            .iter()
            .filter_map(|(field, value)| parse_entry(field, value))
            .collect();
        entries.sort_by(|a, b| {
            a.added_at
                .cmp(&b.added_at)
                .then(a.product_id.cmp(&b.product_id))
        });
        Ok(entries)
    }

    /// Adds `quantity` packages, never letting the line exceed `cap`. Returns the line's new
    /// quantity.
    pub async fn add(
        &self,
        user: UserId,
        product: ProductId,
        quantity: u32,
        cap: u32,
    ) -> Result<u32, CartError> {
        let mut conn = self.redis.get().await?;
        let (result, current): (i64, i64) = self
            .add
            .key(self.key(user))
            .arg(product.to_string())
            .arg(quantity)
            .arg(cap)
            .arg(Utc::now().timestamp_millis())
            .arg(millis(self.ttl))
            .arg(self.max_lines)
            .invoke_async(&mut conn)
            .await?;
        match result {
            -2 => Err(CartError::Full(self.max_lines)),
            -1 => Err(CartError::OverCap {
                cap,
                current: u32::try_from(current).unwrap_or(0),
            }),
            n => Ok(u32::try_from(n).unwrap_or(0)),
        }
    }

    /// Sets the quantity of a line already in the cart.
    pub async fn set(
        &self,
        user: UserId,
        product: ProductId,
        quantity: u32,
    ) -> Result<(), CartError> {
        let mut conn = self.redis.get().await?;
        let updated: i64 = self
            .set
            .key(self.key(user))
            .arg(product.to_string())
            .arg(quantity)
            .arg(millis(self.ttl))
            .invoke_async(&mut conn)
            .await?;
        if updated == 1 {
            Ok(())
        } else {
            Err(CartError::NotInCart)
        }
    }

    pub async fn remove(&self, user: UserId, product: ProductId) -> Result<(), CartError> {
        let mut conn = self.redis.get().await?;
        let removed: i64 = redis::cmd("HDEL")
            .arg(self.key(user))
            .arg(product.to_string())
            .query_async(&mut conn)
            .await?;
        if removed == 1 {
            Ok(())
        } else {
            Err(CartError::NotInCart)
        }
    }

    pub async fn clear(&self, user: UserId) -> Result<(), CartError> {
        let mut conn = self.redis.get().await?;
        let _: i64 = redis::cmd("DEL")
            .arg(self.key(user))
            .query_async(&mut conn)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_lines_parse_and_bad_ones_are_skipped() {
        let id = ProductId::new();
        let entry = parse_entry(&id.to_string(), "3|1764000000000").unwrap();
        assert_eq!(entry.quantity, 3);
        assert_eq!(entry.product_id, id);
        assert!(parse_entry("not-a-uuid", "3|1").is_none());
        assert!(parse_entry(&id.to_string(), "three|1").is_none());
        assert!(parse_entry(&id.to_string(), "3").is_none());
    }
}
