//! Which verified tokens still stand, without asking Redis on every request.
//!
//! Auth records a revocation in Redis and announces it on a pub/sub channel in the same
//! transaction (`auth_token::revocation`). The gateway listens; each time its subscription is
//! (re)established a new *session* begins. A token is asked about in Redis once (with its
//! request's rate limits) and, if it stands, is marked as confirmed in the current session:
//! from then on, any revocation of it is announced after that read, while the gateway was
//! listening, so the notices received (kept here until the tokens they void expire) are enough
//! to tell. When the subscription drops, the session ends and every token is asked about in
//! Redis again until a new one begins: a notice missed while not listening cannot let a
//! revoked token through. As a last guard, a confirmation also lapses after a minute.

use async_trait::async_trait;
use auth_token::Claims;
use auth_token::revocation::{CHANNEL, Notice};
use foldhash::HashMap;
use futures_util::StreamExt;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long to wait before subscribing again after the subscription failed.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

/// How often the subscription's connection is checked, and how long Redis may take to answer.
const PING_EVERY: Duration = Duration::from_secs(5);
const ANSWER_WITHIN: Duration = Duration::from_secs(2);

/// Above this many notices, expired ones are swept out on the next notice.
const SWEEP_AT: usize = 10_000;

/// How long a confirmation holds within a session.
const CONFIRMATION_LASTS: Duration = Duration::from_secs(60);

/// A verified token, and when Redis last said it stands.
pub struct Verified {
    pub claims: Claims,
    /// The session of the last confirmation (0: never) ...
    confirmed_in: AtomicU64,
    /// ... and its time, in milliseconds since the process's epoch.
    confirmed_at: AtomicU64,
}

impl Verified {
    pub fn new(claims: Claims) -> Self {
        Self {
            claims,
            confirmed_in: AtomicU64::new(0),
            confirmed_at: AtomicU64::new(0),
        }
    }
}

pub struct Revocations {
    /// The current subscription's session; 0 while not subscribed.
    session: AtomicU64,
    sessions_begun: AtomicU64,
    notices: Mutex<Notices>,
    epoch: Instant,
}

impl Default for Revocations {
    fn default() -> Self {
        Self {
            session: AtomicU64::new(0),
            sessions_begun: AtomicU64::new(0),
            notices: Mutex::default(),
            epoch: Instant::now(),
        }
    }
}

/// The notices received, until the tokens they void have expired.
#[derive(Default)]
struct Notices {
    tokens: HashMap<Uuid, i64>,
    /// User → (tokens below this version are void, until when that matters).
    users: HashMap<Uuid, (u64, i64)>,
}

impl Revocations {
    /// The current session, if the gateway is listening.
    pub fn session(&self) -> Option<u64> {
        Some(self.session.load(Ordering::Acquire)).filter(|session| *session != 0)
    }

    /// Whether `token` stands, if that can be told without Redis: `None` when it has not been
    /// confirmed in the current session.
    pub fn stands(&self, token: &Verified) -> Option<bool> {
        let session = self.session()?;
        let confirmed_at = token.confirmed_at.load(Ordering::Acquire);
        let fresh = self.millis().saturating_sub(confirmed_at) < millis(CONFIRMATION_LASTS);
        (token.confirmed_in.load(Ordering::Acquire) == session && fresh)
            .then(|| !self.voided(&token.claims))
    }

    /// Records that Redis, asked during `session`, said `token` stands.
    pub fn confirm(&self, token: &Verified, session: u64) {
        token.confirmed_at.store(self.millis(), Ordering::Release);
        token.confirmed_in.store(session, Ordering::Release);
    }

    fn millis(&self) -> u64 {
        millis(self.epoch.elapsed())
    }

    /// Whether a notice received voids `claims`.
    pub fn voided(&self, claims: &Claims) -> bool {
        let notices = self.lock();
        notices.tokens.contains_key(&claims.jti)
            || notices
                .users
                .get(&claims.sub)
                .is_some_and(|(standing, _)| claims.ver < *standing)
    }

    fn note(&self, notice: Notice, now: i64) {
        let mut notices = self.lock();
        if notices.tokens.len() + notices.users.len() > SWEEP_AT {
            notices.tokens.retain(|_, until| *until > now);
            notices.users.retain(|_, (_, until)| *until > now);
        }
        match notice {
            Notice::Token { jti, until } => {
                notices.tokens.insert(jti, until);
            }
            Notice::User {
                user,
                version,
                until,
            } => {
                let entry = notices.users.entry(user).or_insert((version, until));
                *entry = (entry.0.max(version), entry.1.max(until));
            }
        }
    }

    fn begin_session(&self) -> u64 {
        let session = self.sessions_begun.fetch_add(1, Ordering::AcqRel) + 1;
        self.session.store(session, Ordering::Release);
        metrics::gauge!("gateway_revocations_subscribed").set(1.0);
        session
    }

    fn end_session(&self) {
        self.session.store(0, Ordering::Release);
        metrics::gauge!("gateway_revocations_subscribed").set(0.0);
    }

    fn lock(&self) -> MutexGuard<'_, Notices> {
        match self.notices.lock() {
            Ok(notices) => notices,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The subscription to auth's revocation notices, as a Pingora background service.
pub struct Listener {
    pub revocations: Arc<Revocations>,
    pub client: redis::Client,
}

/// Why the subscription ended.
#[derive(Debug, thiserror::Error)]
enum ListenError {
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
    #[error("Redis did not answer within {0:?}")]
    Unresponsive(Duration),
}

impl Listener {
    /// Subscribes and records notices until the subscription ends or the server shuts down.
    /// The connection is pinged now and then: a silent link (a partition, no reset) must end
    /// the session rather than let notices go missing while tokens are trusted.
    async fn listen(&self, shutdown: &mut ShutdownWatch) -> Result<(), ListenError> {
        let pubsub = tokio::time::timeout(ANSWER_WITHIN, self.client.get_async_pubsub())
            .await
            .map_err(|_| ListenError::Unresponsive(ANSWER_WITHIN))??;
        let (mut sink, mut messages) = pubsub.split();
        tokio::time::timeout(ANSWER_WITHIN, sink.subscribe(CHANNEL))
            .await
            .map_err(|_| ListenError::Unresponsive(ANSWER_WITHIN))??;
        let session = self.revocations.begin_session();
        tracing::info!(session, "listening for token revocations");
        let mut liveness = tokio::time::interval(PING_EVERY);
        liveness.tick().await;
        loop {
            tokio::select! {
                message = messages.next() => {
                    let Some(message) = message else {
                        return Ok(());
                    };
                    self.record(&message.get_payload::<String>()?);
                }
                _ = liveness.tick() => {
                    tokio::time::timeout(ANSWER_WITHIN, sink.ping::<redis::Value>())
                        .await
                        .map_err(|_| ListenError::Unresponsive(ANSWER_WITHIN))??;
                }
                _ = shutdown.changed() => return Ok(()),
            }
        }
    }

    fn record(&self, payload: &str) {
        match Notice::parse(payload) {
            Some(notice) => {
                self.revocations
                    .note(notice, chrono::Utc::now().timestamp());
                metrics::counter!("gateway_revocation_notices_total").increment(1);
            }
            None => tracing::warn!(%payload, "unreadable revocation notice"),
        }
    }
}

#[async_trait]
impl BackgroundService for Listener {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        self.revocations.end_session();
        loop {
            if let Err(error) = self.listen(&mut shutdown).await {
                tracing::warn!(%error, "revocation notices unavailable; tokens are checked in Redis on every request");
            }
            self.revocations.end_session();
            if *shutdown.borrow() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(RESUBSCRIBE_AFTER) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Role, UserId};

    fn token() -> Verified {
        Verified::new(Claims::new(
            UserId::new(),
            Role::Customer,
            false,
            Duration::from_secs(600),
            "i",
            "a",
        ))
    }

    #[test]
    fn nothing_is_known_without_a_subscription() {
        let revocations = Revocations::default();
        let token = token();
        revocations.confirm(&token, 1);
        assert_eq!(revocations.session(), None);
        assert_eq!(revocations.stands(&token), None);
    }

    #[test]
    fn a_confirmation_holds_for_its_session_only() {
        let revocations = Revocations::default();
        let token = token();
        let first = revocations.begin_session();
        assert_eq!(revocations.stands(&token), None, "never asked");
        revocations.confirm(&token, first);
        assert_eq!(revocations.stands(&token), Some(true));

        // The subscription drops and comes back: notices may have been missed meanwhile.
        revocations.end_session();
        assert_eq!(revocations.stands(&token), None);
        let second = revocations.begin_session();
        assert_ne!(first, second);
        assert_eq!(revocations.stands(&token), None);
    }

    #[test]
    fn notices_void_confirmed_tokens() {
        let revocations = Revocations::default();
        let (one, other) = (token(), token());
        let session = revocations.begin_session();
        revocations.confirm(&one, session);
        revocations.confirm(&other, session);
        let now = chrono::Utc::now().timestamp();
        revocations.note(
            Notice::Token {
                jti: one.claims.jti,
                until: one.claims.exp,
            },
            now,
        );
        assert_eq!(revocations.stands(&one), Some(false));
        assert_eq!(revocations.stands(&other), Some(true));

        // A user's tokens below the version are void; one at it stands.
        revocations.note(
            Notice::User {
                user: other.claims.sub,
                version: other.claims.ver,
                until: now + 600,
            },
            now,
        );
        assert_eq!(revocations.stands(&other), Some(true));
        revocations.note(
            Notice::User {
                user: other.claims.sub,
                version: other.claims.ver + 1,
                until: now + 600,
            },
            now,
        );
        assert_eq!(revocations.stands(&other), Some(false));
    }
}
