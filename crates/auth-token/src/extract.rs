//! actix extractors: a handler says who may call it in its signature, e.g.
//! `async fn list_users(user: Authenticated<Admin>, ..)`. The [`Verifier`] comes from the
//! app's `web::Data<Verifier>`.
//!
//! After the signature, a token is checked against auth's revocations when the verifier has a
//! [`crate::RevocationCheck`]. If Redis cannot say, the request's weight decides: staff routes,
//! staff tokens and every request that changes something (any method but GET, HEAD, OPTIONS:
//! payments, account changes, orders) are refused with 503, since a revoked token there is a
//! stolen session acting; plain reads pass, counted in
//! `token_revocation_checks_total{outcome="unchecked"}` (alert `TokenRevocationUnchecked`).

use crate::{Claims, TokenError, Verifier};
use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use domain::{Code, Problem, Role};
use futures_util::future::LocalBoxFuture;
use std::marker::PhantomData;

/// Which roles may pass.
pub trait Policy {
    fn allows(role: Role) -> bool;

    /// Whether the routes guarded by this policy are staff-only: their requests are refused
    /// when revocations cannot be read, whatever the method.
    const PRIVILEGED: bool = false;
}

/// Any signed-in user.
pub struct AnyRole;
/// Customers only.
pub struct Customer;
/// Drivers only.
pub struct Driver;
/// Support agents and admins.
pub struct Staff;
/// Admins only.
pub struct Admin;

impl Policy for AnyRole {
    fn allows(_: Role) -> bool {
        true
    }
}
impl Policy for Customer {
    fn allows(role: Role) -> bool {
        role == Role::Customer
    }
}
impl Policy for Driver {
    fn allows(role: Role) -> bool {
        role == Role::Driver
    }
}
impl Policy for Staff {
    fn allows(role: Role) -> bool {
        matches!(role, Role::Agent | Role::Admin)
    }
    const PRIVILEGED: bool = true;
}
impl Policy for Admin {
    fn allows(role: Role) -> bool {
        role == Role::Admin
    }
    const PRIVILEGED: bool = true;
}

/// A caller with a valid token whose role `P` allows; 401 without a valid token, 403 for
/// another role.
pub struct Authenticated<P: Policy = AnyRole> {
    pub claims: Claims,
    policy: PhantomData<P>,
}

/// Any signed-in user.
pub type AuthUser = Authenticated<AnyRole>;

impl<P: Policy> Authenticated<P> {
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    pub fn user_id(&self) -> domain::UserId {
        self.claims.user_id()
    }

    pub fn role(&self) -> Role {
        self.claims.role
    }
}

impl<P: Policy> std::ops::Deref for Authenticated<P> {
    type Target = Claims;

    fn deref(&self) -> &Claims {
        &self.claims
    }
}

/// The bearer token of a request, if it sent one. A malformed `Authorization` header counts
/// as a bad token, not as none.
fn bearer(req: &HttpRequest) -> Result<Option<String>, TokenError> {
    let Some(value) = req.headers().get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| TokenError::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(TokenError::Malformed);
    }
    Ok(Some(token.trim().to_owned()))
}

fn verifier(req: &HttpRequest) -> Result<web::Data<Verifier>, Problem> {
    req.app_data::<web::Data<Verifier>>()
        .cloned()
        .ok_or_else(|| Problem::internal(&"no token verifier configured"))
}

/// The verified claims of the request's bearer token: `None` without one, an error for a bad
/// or revoked one. Both extractors start here; `privileged` marks staff-only routes.
fn caller(
    req: &HttpRequest,
    privileged: bool,
) -> LocalBoxFuture<'static, Result<Option<Claims>, Problem>> {
    let token = bearer(req);
    let verifier = verifier(req);
    let weighty = privileged || !req.method().is_safe() || req.path().starts_with("/api/admin");
    Box::pin(async move {
        let Some(token) = token? else {
            return Ok(None);
        };
        let verifier = verifier?;
        let claims = verifier.verify(&token).await?;
        if let Some(check) = verifier.revocations() {
            let weighty = weighty || matches!(claims.role, Role::Admin | Role::Agent);
            revocation_verdict(check.is_revoked(&claims).await, weighty)?;
        }
        Ok(Some(claims))
    })
}

/// What the revocation check's answer means for the request: a revoked token is refused, and
/// so is a `weighty` request when revocations could not be read.
fn revocation_verdict(
    answer: Result<bool, crate::Unreadable>,
    weighty: bool,
) -> Result<(), Problem> {
    let outcome = match answer {
        Ok(false) => "stands",
        Ok(true) => {
            metrics::counter!("token_revocation_checks_total", "outcome" => "revoked").increment(1);
            return Err(Problem::new(Code::InvalidToken).with_detail("The token has been revoked."));
        }
        Err(error) if weighty => {
            tracing::warn!(%error, "refusing a request whose token could not be checked");
            metrics::counter!("token_revocation_checks_total", "outcome" => "refused").increment(1);
            return Err(Problem::new(Code::ServiceUnavailable)
                .with_detail("Your session cannot be checked right now; try again shortly.")
                .with_retry_after(5));
        }
        Err(error) => {
            tracing::warn!(%error, "a read passes with its token unchecked for revocation");
            "unchecked"
        }
    };
    metrics::counter!("token_revocation_checks_total", "outcome" => outcome).increment(1);
    Ok(())
}

impl<P: Policy + 'static> FromRequest for Authenticated<P> {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = caller(req, P::PRIVILEGED);
        Box::pin(async move {
            let claims = caller.await?.ok_or(TokenError::Missing)?;
            if !P::allows(claims.role) {
                return Err(Problem::new(Code::Forbidden)
                    .with_detail("your role is not allowed to do this"));
            }
            Ok(Self {
                claims,
                policy: PhantomData,
            })
        })
    }
}

/// The caller if they sent a token: `None` without one, 401 for a bad one (a client that
/// thinks it is signed in must learn that it is not).
pub struct MaybeUser(pub Option<Claims>);

impl FromRequest for MaybeUser {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = caller(req, false);
        Box::pin(async move { Ok(Self(caller.await?)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_admit_the_right_roles() {
        use Role::*;
        for role in [Customer, Driver, Agent, Admin] {
            assert!(AnyRole::allows(role));
        }
        assert!(super::Customer::allows(Customer) && !super::Customer::allows(Admin));
        assert!(super::Driver::allows(Driver) && !super::Driver::allows(Customer));
        assert!(Staff::allows(Agent) && Staff::allows(Admin) && !Staff::allows(Driver));
        assert!(super::Admin::allows(Admin) && !super::Admin::allows(Agent));
    }

    #[test]
    fn revocation_verdicts() {
        let unreadable = || Err(crate::Unreadable("down".into()));
        assert!(revocation_verdict(Ok(false), true).is_ok());
        assert_eq!(
            revocation_verdict(Ok(true), false).map_err(|p| p.code()),
            Err(Code::InvalidToken)
        );
        assert!(revocation_verdict(unreadable(), false).is_ok());
        let refused = revocation_verdict(unreadable(), true).err();
        assert_eq!(
            refused.as_ref().map(Problem::code),
            Some(Code::ServiceUnavailable)
        );
        assert_eq!(refused.and_then(|p| p.retry_after()), Some(5));
    }

    #[test]
    fn bearer_parsing() {
        let req = actix_web::test::TestRequest::default().to_http_request();
        assert_eq!(bearer(&req), Ok(None));
        let req = actix_web::test::TestRequest::default()
            .insert_header((AUTHORIZATION, "Bearer abc.def.ghi"))
            .to_http_request();
        assert_eq!(bearer(&req), Ok(Some("abc.def.ghi".into())));
        for bad in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "abc"] {
            let req = actix_web::test::TestRequest::default()
                .insert_header((AUTHORIZATION, bad))
                .to_http_request();
            assert_eq!(bearer(&req), Err(TokenError::Malformed), "{bad}");
        }
    }
}
