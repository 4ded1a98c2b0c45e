//! Product images: recognised by their content (never the declared type or file name), at
//! most 5 MB (DESIGN §6), stored through object_store and served by catalog at a stable URL
//! that changes only when the image does.

use uuid::Uuid;

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
pub fn object_key(product_id: Uuid, image_id: Uuid, format: ImageFormat) -> String {
    format!(
        "product-images/{product_id}/{image_id}.{}",
        format.extension()
    )
}

/// The public URL of an image: immutable content under an id that is never reused, so
/// clients and CDNs may cache it for good.
pub fn public_url(base: &str, product_id: Uuid, image_id: Uuid) -> String {
    format!(
        "{}/api/products/{product_id}/images/{image_id}",
        base.trim_end_matches('/')
    )
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
        let (p, i) = (Uuid::nil(), Uuid::max());
        assert_eq!(
            public_url("http://gw:8080/", p, i),
            format!("http://gw:8080/api/products/{p}/images/{i}")
        );
        assert!(object_key(p, i, ImageFormat::Webp).ends_with(".webp"));
    }
}
