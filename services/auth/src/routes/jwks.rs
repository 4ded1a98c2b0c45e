//! `GET /.well-known/jwks.json`: the public keys every service verifies tokens with.

use crate::state::AppState;
use actix_web::http::header;
use actix_web::{CustomizeResponder, Responder, web};
use auth_token::jwk::JwkSet;

/// The JSON Web Key Set of every key whose tokens may still be valid.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth",
    responses((status = 200, description = "JWKS (RFC 7517), cacheable for 5 minutes", content_type = "application/json")))]
pub async fn get_jwks(state: web::Data<AppState>) -> CustomizeResponder<web::Json<JwkSet>> {
    // Verifiers cache it; they refetch on an unknown `kid` anyway.
    web::Json(state.keys.jwks().clone())
        .customize()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
}
