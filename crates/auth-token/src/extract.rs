//! actix extractors: a handler says who may call it in its signature, e.g.
//! `async fn list_users(user: Authenticated<Admin>, ..)`. The [`Verifier`] comes from the
//! app's `web::Data<Verifier>`.

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
}
impl Policy for Admin {
    fn allows(role: Role) -> bool {
        role == Role::Admin
    }
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
/// one. Both extractors start here.
fn caller(req: &HttpRequest) -> LocalBoxFuture<'static, Result<Option<Claims>, Problem>> {
    let token = bearer(req);
    let verifier = verifier(req);
    Box::pin(async move {
        match token? {
            None => Ok(None),
            Some(token) => Ok(Some(verifier?.verify(&token).await?)),
        }
    })
}

impl<P: Policy + 'static> FromRequest for Authenticated<P> {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = caller(req);
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
        let caller = caller(req);
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
