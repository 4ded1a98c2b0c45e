//! `/api/admin/products/{id}/images*`: upload a product image (multipart, recognised by its
//! content), make one primary, remove one.

use crate::images::{self, ImageChange, ImageFormat, MAX_IMAGE_BYTES};
use crate::routes::products::ImageView;
use crate::state::AppState;
use actix_multipart::Multipart;
use actix_web::web;
use auth_token::Admin;
use domain::ids::ImageId;
use domain::input::FieldError;
use domain::{Code, Problem, ProductId};
use futures_util::TryStreamExt;
use platform::api::{Created, NoContent};
use platform::client::Acting;
use utoipa::ToSchema;

/// The multipart form the upload endpoint takes (for the API description).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[expect(
    dead_code,
    reason = "describes the multipart body in the OpenAPI document"
)]
pub struct ImageForm {
    /// JPEG, PNG or WebP, at most 5 MB; recognised by content.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
    /// At most 255 characters.
    alt_text: Option<String>,
}

fn image_too_large() -> Problem {
    Problem::new(Code::PayloadTooLarge).with_detail("A product image may be at most 5 MB.")
}

fn unreadable(err: impl std::fmt::Display) -> Problem {
    Problem::bad_request(err.to_string())
}

async fn read_text(field: &mut actix_multipart::Field, name: &str) -> Result<String, Problem> {
    let mut value = Vec::new();
    while let Some(chunk) = field.try_next().await.map_err(unreadable)? {
        if value.len() + chunk.len() > 1000 {
            return Err(Problem::validation(vec![FieldError::new(
                name,
                "is too long",
            )]));
        }
        value.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&value).trim().to_owned())
}

/// The image bytes and alt text of an upload form.
async fn read_image_form(mut form: Multipart) -> Result<(Vec<u8>, Option<String>), Problem> {
    let mut image: Option<Vec<u8>> = None;
    let mut alt_text = None;
    while let Some(mut field) = form.try_next().await.map_err(unreadable)? {
        match field.name() {
            Some("image") => {
                let mut bytes = Vec::new();
                while let Some(chunk) = field.try_next().await.map_err(unreadable)? {
                    if bytes.len() + chunk.len() > MAX_IMAGE_BYTES {
                        return Err(image_too_large());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                image = Some(bytes);
            }
            Some("altText") => alt_text = Some(read_text(&mut field, "altText").await?),
            _ => while field.try_next().await.map_err(unreadable)?.is_some() {},
        }
    }
    match image {
        Some(bytes) if !bytes.is_empty() => Ok((bytes, alt_text.filter(|a| !a.is_empty()))),
        Some(_) => Err(Problem::validation(vec![FieldError::new(
            "image", "is empty",
        )])),
        None => Err(Problem::validation(vec![FieldError::new(
            "image",
            "is required",
        )])),
    }
}

/// Upload a product image (multipart field `image`, optional `altText`). The first image
/// becomes the primary one.
#[utoipa::path(post, path = "/api/admin/products/{id}/images", tag = "admin",
    request_body(content = ImageForm, content_type = "multipart/form-data"),
    params(("id" = ProductId, Path, description = "The product")),
    responses((status = 201, description = "Stored", body = ImageView,
            headers(("Location" = String, description = "The image's public path"))),
        (status = 404, description = "`NOT_FOUND`: no such product"),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`: the image is over 5 MB"),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`: not a JPEG, PNG or WebP image (by its content), or not a multipart form")),
    security(("bearer" = [])))]
pub async fn upload_image(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    id: web::Path<ProductId>,
    form: Multipart,
) -> Result<Created<ImageView>, Problem> {
    let (bytes, alt_text) = read_image_form(form).await?;
    if let Some(alt) = &alt_text
        && alt.chars().count() > 255
    {
        return Err(Problem::validation(vec![FieldError::new(
            "altText",
            "must be at most 255 characters",
        )]));
    }
    let format = ImageFormat::sniff(&bytes).ok_or_else(|| {
        Problem::new(Code::UnsupportedMediaType)
            .with_detail("The file is not a JPEG, PNG or WebP image (checked by its content).")
    })?;
    let row = images::add(&state, &admin, *id, format, bytes, alt_text.as_deref()).await?;
    Ok(Created::at(
        format!("/api/products/{}/images/{}", row.product_id, row.id),
        ImageView::new(&row, state.public_url()),
    ))
}

/// Remove an image (the next one becomes primary).
#[utoipa::path(delete, path = "/api/admin/products/{id}/images/{image_id}", tag = "admin",
    params(("id" = ProductId, Path, description = "The product"),
        ("image_id" = ImageId, Path, description = "One of its images")),
    responses((status = 204, description = "Removed"),
        (status = 404, description = "`NOT_FOUND`: no such product, or no such image of it")),
    security(("bearer" = [])))]
pub async fn delete_image(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    path: web::Path<(ProductId, ImageId)>,
) -> Result<NoContent, Problem> {
    let (product_id, image_id) = path.into_inner();
    images::change(&state, &admin, product_id, image_id, ImageChange::Remove).await?;
    Ok(NoContent)
}

/// Make an image the primary one.
#[utoipa::path(put, path = "/api/admin/products/{id}/images/{image_id}/primary", tag = "admin",
    params(("id" = ProductId, Path, description = "The product"),
        ("image_id" = ImageId, Path, description = "One of its images")),
    responses((status = 204, description = "It is the primary image now"),
        (status = 404, description = "`NOT_FOUND`: no such product, or no such image of it")),
    security(("bearer" = [])))]
pub async fn make_image_primary(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    path: web::Path<(ProductId, ImageId)>,
) -> Result<NoContent, Problem> {
    let (product_id, image_id) = path.into_inner();
    images::change(
        &state,
        &admin,
        product_id,
        image_id,
        ImageChange::MakePrimary,
    )
    .await?;
    Ok(NoContent)
}
