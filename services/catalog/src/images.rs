//! Product images: recognised by their content (never the declared type or file name), at
//! most 5 MB (DESIGN §6), stored through object_store and served by catalog at a stable URL
//! that changes only when the image does; and the changes admins make to a product's images
//! (add, make primary, remove), each announced (the primary image is in `product.upserted`)
//! and audited.

use crate::cache;
use crate::db;
use crate::db::images::{ImageRow, NewImage};
use crate::events::{self, Subject};
use crate::products::{find_listed, product_missing};
use crate::state::AppState;
use ::events::audit::Actor;
use diesel_async::AsyncConnection;
use domain::ids::ImageId;
use domain::{Problem, ProductId};
use serde_json::json;

/// Largest accepted image.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// The formats a product image may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Webp,
}

impl ImageFormat {
    /// The format from the file's first bytes; `None` for anything else.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        match infer::get(bytes)?.mime_type() {
            "image/jpeg" => Some(Self::Jpeg),
            "image/png" => Some(Self::Png),
            "image/webp" => Some(Self::Webp),
            _ => None,
        }
    }

    pub const fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    pub const fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
        }
    }
}

/// The object key of an image; nothing a client sent is part of it.
pub fn object_key(product_id: ProductId, image_id: ImageId, format: ImageFormat) -> String {
    format!(
        "product-images/{product_id}/{image_id}.{}",
        format.extension()
    )
}

/// The public URL of an image: immutable content under an id that is never reused, so
/// clients and CDNs may cache it for good.
pub fn public_url(base: &str, product_id: ProductId, image_id: ImageId) -> String {
    format!(
        "{}/api/products/{product_id}/images/{image_id}",
        base.trim_end_matches('/')
    )
}

fn image_missing() -> Problem {
    Problem::not_found("No such image.")
}

/// Stores an image (already recognised and size-checked) and links it to the product; the
/// first image becomes the primary one.
pub async fn add(
    state: &AppState,
    actor: &Actor,
    product_id: ProductId,
    format: ImageFormat,
    bytes: Vec<u8>,
    alt_text: Option<&str>,
) -> Result<ImageRow, Problem> {
    let mut conn = state.db().await?;
    db::products::find(&mut conn, product_id)
        .await?
        .ok_or_else(product_missing)?;
    let image_id = ImageId::new();
    let key = object_key(product_id, image_id, format);
    let size = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
    // Stored first: a row never points at a missing object; an object without a row (the
    // transaction failed) is only wasted space.
    state
        .images
        .put(&key, bytes)
        .await
        .map_err(|err| Problem::unavailable(&err))?;
    let (row, touched) = conn
        .transaction(async |conn| {
            db::products::lock(conn, product_id)
                .await?
                .ok_or_else(product_missing)?;
            let existing = db::images::count(conn, product_id).await?;
            let first = existing == 0;
            let row = db::images::insert(
                conn,
                NewImage {
                    id: image_id,
                    product_id,
                    object_key: &key,
                    content_type: format.mime(),
                    byte_size: size,
                    alt_text,
                    sort_order: i32::try_from(existing).unwrap_or(i32::MAX),
                    is_primary: first,
                },
            )
            .await?;
            if first {
                let product = db::products::touch(conn, product_id).await?;
                events::product_upserted(conn, &product, state.public_url()).await?;
            }
            events::audit(
                conn,
                actor,
                "product.image_added",
                Subject::Product(product_id),
                json!({ "imageId": image_id }),
            )
            .await?;
            let touched = db::categories::of_products(conn, &[product_id]).await?;
            Ok::<_, Problem>((row, touched))
        })
        .await?;
    state.cache.invalidate(&cache::scopes_for(&touched)).await;
    Ok(row)
}

/// What an admin does to one of a product's images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageChange {
    /// Make it the primary image (the one in lists and `product.upserted`).
    MakePrimary,
    /// Remove it (the next one becomes primary) and its stored object.
    Remove,
}

/// Changes one of a product's images (404 for an image of another product).
pub async fn change(
    state: &AppState,
    actor: &Actor,
    product_id: ProductId,
    image_id: ImageId,
    change: ImageChange,
) -> Result<(), Problem> {
    let mut conn = state.db().await?;
    let (removed_key, touched) = conn
        .transaction(async |conn| {
            db::products::lock(conn, product_id)
                .await?
                .ok_or_else(product_missing)?;
            let image = db::images::find(conn, product_id, image_id)
                .await?
                .ok_or_else(image_missing)?;
            let removed_key = match change {
                ImageChange::Remove => {
                    db::images::delete(conn, image_id).await?;
                    if image.is_primary
                        && let Some(next) = db::images::for_product(conn, product_id).await?.first()
                    {
                        db::images::make_primary(conn, product_id, next.id).await?;
                    }
                    Some(image.object_key)
                }
                ImageChange::MakePrimary => {
                    db::images::make_primary(conn, product_id, image_id).await?;
                    None
                }
            };
            let product = db::products::touch(conn, product_id).await?;
            events::product_upserted(conn, &product, state.public_url()).await?;
            let action = match change {
                ImageChange::Remove => "product.image_removed",
                ImageChange::MakePrimary => "product.image_made_primary",
            };
            events::audit(
                conn,
                actor,
                action,
                Subject::Product(product_id),
                json!({ "imageId": image_id }),
            )
            .await?;
            let touched = db::categories::of_products(conn, &[product_id]).await?;
            Ok::<_, Problem>((removed_key, touched))
        })
        .await?;
    if let Some(key) = removed_key
        && let Err(err) = state.images.delete(&key).await
    {
        tracing::warn!(error = %err, key, "removed image left in the object store");
    }
    state.cache.invalidate(&cache::scopes_for(&touched)).await;
    Ok(())
}

/// Who asks for an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// A client (signed in or not): only images of listed products.
    Anyone,
    /// An admin, who also sees the images of hidden products in the console.
    Admin,
}

/// An image's bytes, and whether anyone may see them (so they may be cached publicly).
#[derive(Debug, Clone)]
pub struct ImageFile {
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub public: bool,
}

/// An image of a product the viewer may see (404 otherwise, as for a missing one).
pub async fn open(
    state: &AppState,
    product_id: ProductId,
    image_id: ImageId,
    viewer: Viewer,
) -> Result<ImageFile, Problem> {
    let mut conn = state.db().await?;
    let public = find_listed(&mut conn, product_id).await?.is_some();
    if !public && viewer != Viewer::Admin {
        return Err(image_missing());
    }
    let image = db::images::find(&mut conn, product_id, image_id)
        .await?
        .ok_or_else(image_missing)?;
    drop(conn);
    let bytes = state.images.get(&image.object_key).await.map_err(|err| {
        if err.is_not_found() {
            Problem::not_found("The image is no longer stored.")
        } else {
            Problem::unavailable(&err)
        }
    })?;
    Ok(ImageFile {
        content_type: image.content_type,
        bytes,
        public,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised_by_content() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(ImageFormat::sniff(png), Some(ImageFormat::Png));
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];
        assert_eq!(ImageFormat::sniff(&jpeg), Some(ImageFormat::Jpeg));
        let webp = b"RIFF\x24\0\0\0WEBPVP8 ";
        assert_eq!(ImageFormat::sniff(webp), Some(ImageFormat::Webp));
        assert_eq!(ImageFormat::sniff(b"%PDF-1.7 not an image"), None);
        assert_eq!(
            ImageFormat::sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
            None
        );
    }

    #[test]
    fn urls_are_stable() {
        let (p, i) = (
            ProductId::from(uuid::Uuid::nil()),
            ImageId::from(uuid::Uuid::max()),
        );
        assert_eq!(
            public_url("http://gw:8080/", p, i),
            format!("http://gw:8080/api/products/{p}/images/{i}")
        );
        assert!(object_key(p, i, ImageFormat::Webp).ends_with(".webp"));
    }
}
