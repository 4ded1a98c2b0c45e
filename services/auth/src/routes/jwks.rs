//! `GET /.well-known/jwks.json`: the public keys every service verifies tokens with.

use crate::state::AppState;
use actix_web::http::header;
use actix_web::{HttpResponse, web};

/// The JSON Web Key Set of every key whose tokens may still be valid.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth",
    responses((status = 200, description = "JWKS (RFC 7517)", content_type = "application/json")))]
pub async fn get_jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        // Verifiers cache it; they refetch on an unknown `kid` anyway.
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(state.keys.jwks())
}
