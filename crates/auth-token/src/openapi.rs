//! The `bearer` security scheme every service's OpenAPI document declares, so the merged
//! document and Swagger UI know how to send a token.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

/// `#[openapi(modifiers(&auth_token::BearerAuth))]`: adds the `bearer` JWT scheme that
/// `security(("bearer" = []))` on each path refers to.
pub struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
