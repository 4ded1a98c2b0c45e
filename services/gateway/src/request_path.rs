//! The request path as the services will read it, so that what the gateway matches a route
//! (and its rate limits) against is what the service routes on.
//!
//! The services are actix-web 4: actix-router percent-decodes every escape in the path before
//! it routes, except `%25` (`%`), `%2F` (`/`) and `%2B` (`+`), which stay encoded; it does not
//! remove dot segments or merge repeated slashes (that would take the `NormalizePath`
//! middleware, which the services do not use). Matched byte for byte, `/api/auth/%6cogin` missed
//! the login route and its limit at the gateway, yet logged in at auth.
//!
//! So the gateway decodes escapes as actix does, removes dot segments (RFC 3986 §5.2.4) and
//! merges repeated slashes, and forwards that path re-encoded only where a URI needs it: actix
//! decodes it back to exactly the path the gateway matched. What cannot be normalised safely is
//! refused: an encoded `/` (the service would keep it encoded, a proxy or decoder in between
//! might not), a `\` raw or encoded (some stacks read it as `/`), a control character (NUL
//! included), a malformed escape, bytes that are not UTF-8 once decoded, a dot segment that
//! climbs above the root, and anything that is not a path (`*`, an authority).

use http::Uri;

/// Why a request path cannot be normalised safely; the message is the 400's detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("The request target is not a path.")]
    NotAPath,
    #[error("The path contains an encoded slash (%2F).")]
    EncodedSlash,
    #[error("The path contains a backslash.")]
    Backslash,
    #[error("The path contains an encoded control character.")]
    ControlCharacter,
    #[error("The path contains a `%` that does not start an escape like %41.")]
    MalformedEscape,
    #[error("The path is not UTF-8 once decoded.")]
    InvalidUtf8,
    #[error("The path climbs above the root with `..`.")]
    AboveRoot,
}

/// A request's path after normalisation.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Normalised {
    /// The path routes are matched against, when it differs from the path of the URI sent on
    /// (which is then that path with the characters a URI cannot hold escaped).
    pub matched: Option<String>,
    /// The URI to send to the service (path and query only), when the client's path was not
    /// already in normal form.
    pub forwarded: Option<Uri>,
}

/// Normalises `uri`'s path. Nearly every request's path is already normal: that is checked in
/// one pass over its bytes, without allocating.
pub fn normalise(uri: &Uri) -> Result<Normalised, PathError> {
    let raw = uri.path();
    if is_normal(raw) {
        return Ok(Normalised::default());
    }
    let matched = canonical(raw)?;
    let wire = wire_form(&matched);
    let matched = (matched != wire).then_some(matched);
    if wire == raw && uri.scheme().is_none() {
        return Ok(Normalised {
            matched,
            forwarded: None,
        });
    }
    let target = match uri.query() {
        Some(query) => format!("{wire}?{query}"),
        None => wire,
    };
    // Only characters a path holds unescaped, and the client's own query: it parses.
    let forwarded = Uri::try_from(target).map_err(|_| PathError::NotAPath)?;
    Ok(Normalised {
        matched,
        forwarded: Some(forwarded),
    })
}

/// Bytes a path keeps unescaped on the way to a service (RFC 3986 `pchar` and `/`, without
/// `%`): anything else in the normal form is sent as an escape.
fn unescaped(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'/'
        )
}

/// Whether `path` is its own normal form and wire form: it starts with `/`, holds no escape and
/// no byte that needs one, no empty segment but a trailing one, and no `.` or `..` segment.
fn is_normal(path: &str) -> bool {
    let Some(rest) = path.as_bytes().strip_prefix(b"/") else {
        return false;
    };
    let mut segments = rest.split(|byte| *byte == b'/').peekable();
    while let Some(segment) = segments.next() {
        let normal = match segment {
            b"" => segments.peek().is_none(),
            b"." | b".." => false,
            _ => segment.iter().all(|byte| unescaped(*byte)),
        };
        if !normal {
            return false;
        }
    }
    true
}

/// The path actix routes on for `raw`, with dot segments removed and repeated slashes merged.
/// Escapes of `%` and `+` stay escaped (upper-case), as actix keeps them.
fn canonical(raw: &str) -> Result<String, PathError> {
    if !raw.starts_with('/') {
        return Err(PathError::NotAPath);
    }
    let decoded = String::from_utf8(decode(raw.as_bytes())?).map_err(|_| PathError::InvalidUtf8)?;
    let mut segments: Vec<&str> = Vec::new();
    let mut trailing_slash = false;
    let mut parts = decoded[1..].split('/').peekable();
    while let Some(segment) = parts.next() {
        let last = parts.peek().is_none();
        match segment {
            "" | "." => trailing_slash = last,
            ".." => {
                if segments.pop().is_none() {
                    return Err(PathError::AboveRoot);
                }
                trailing_slash = last;
            }
            _ => {
                segments.push(segment);
                trailing_slash = false;
            }
        }
    }
    let mut path = String::with_capacity(decoded.len());
    for segment in &segments {
        path.push('/');
        path.push_str(segment);
    }
    if segments.is_empty() || trailing_slash {
        path.push('/');
    }
    Ok(path)
}

/// Percent-decodes `raw` as actix does, refusing what is unsafe (see the module doc).
fn decode(raw: &[u8]) -> Result<Vec<u8>, PathError> {
    let mut decoded = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some((&byte, after)) = rest.split_first() {
        rest = after;
        match byte {
            b'\\' => return Err(PathError::Backslash),
            b'%' => {
                let value = match rest {
                    [high, low, ..] => hex(*high)
                        .zip(hex(*low))
                        .map(|(high, low)| (high << 4) | low)
                        .ok_or(PathError::MalformedEscape)?,
                    _ => return Err(PathError::MalformedEscape),
                };
                rest = &rest[2..];
                match value {
                    b'/' => return Err(PathError::EncodedSlash),
                    b'\\' => return Err(PathError::Backslash),
                    0..=0x1F | 0x7F => return Err(PathError::ControlCharacter),
                    // Left encoded by actix: kept as an escape, in one spelling.
                    b'%' | b'+' => decoded.extend_from_slice(&escape(value)),
                    _ => decoded.push(value),
                }
            }
            // `http` refuses raw control characters in a request target already.
            _ => decoded.push(byte),
        }
    }
    Ok(decoded)
}

/// `canonical` as it is written in the URI sent on: each byte that a path cannot hold raw is
/// escaped (actix decodes them all back). The kept `%25` and `%2B` stay as they are.
fn wire_form(canonical: &str) -> String {
    let mut wire = String::with_capacity(canonical.len());
    for &byte in canonical.as_bytes() {
        if unescaped(byte) || byte == b'%' {
            wire.push(char::from(byte));
        } else {
            for digit in escape(byte) {
                wire.push(char::from(digit));
            }
        }
    }
    wire
}

fn escape(byte: u8) -> [u8; 3] {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    [
        b'%',
        DIGITS[usize::from(byte >> 4)],
        DIGITS[usize::from(byte & 0xF)],
    ]
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal(path: &str) -> Result<String, PathError> {
        let uri: Uri = path.parse().unwrap();
        let normalised = normalise(&uri)?;
        Ok(match (normalised.matched, normalised.forwarded) {
            (Some(matched), _) => matched,
            (None, Some(forwarded)) => forwarded.path().to_owned(),
            (None, None) => path.to_owned(),
        })
    }

    #[test]
    fn other_spellings_of_a_path_are_that_path() {
        for spelling in [
            "/api/auth/login",
            "/api/auth/%6cogin",
            "/api/auth/%6Cogin",
            "/api/%61uth/%6C%6f%67%69%6E",
            "//api/auth/login",
            "/api//auth///login",
            "/api/auth/./login",
            "/api/auth/x/../login",
            "/api/auth/%2e/login",
            "/api/auth/%2E%2e/auth/login",
            "/api/x/y/../../auth/login",
            "/./api/auth/login",
        ] {
            assert_eq!(normal(spelling).unwrap(), "/api/auth/login", "{spelling}");
        }
    }

    #[test]
    fn trailing_slashes_are_kept_as_actix_tells_them_apart() {
        assert_eq!(normal("/api/orders/").unwrap(), "/api/orders/");
        assert_eq!(normal("/api/orders//").unwrap(), "/api/orders/");
        assert_eq!(normal("/api/orders/x/..").unwrap(), "/api/orders/");
        assert_eq!(normal("/api/orders/.").unwrap(), "/api/orders/");
        assert_eq!(normal("/").unwrap(), "/");
        assert_eq!(normal("//").unwrap(), "/");
        assert_eq!(normal("/x/..").unwrap(), "/");
    }

    #[test]
    fn what_cannot_be_normalised_safely_is_refused() {
        for (path, error) in [
            ("/api/auth%2Flogin", PathError::EncodedSlash),
            ("/api/auth%2flogin", PathError::EncodedSlash),
            ("/api/auth%5Clogin", PathError::Backslash),
            ("/api/auth\\login", PathError::Backslash),
            ("/api/auth/login%00", PathError::ControlCharacter),
            ("/api/auth/login%0a", PathError::ControlCharacter),
            ("/api/auth/login%7F", PathError::ControlCharacter),
            ("/api/auth/login%", PathError::MalformedEscape),
            ("/api/auth/login%4", PathError::MalformedEscape),
            ("/api/auth/login%zz", PathError::MalformedEscape),
            ("/api/auth/login%ff", PathError::InvalidUtf8),
            ("/api/auth/%C0%AFlogin", PathError::InvalidUtf8),
            ("/..", PathError::AboveRoot),
            ("/api/../../login", PathError::AboveRoot),
            ("/%2e%2e/x", PathError::AboveRoot),
            ("*", PathError::NotAPath),
        ] {
            assert_eq!(normal(path), Err(error), "{path}");
        }
    }

    #[test]
    fn escapes_actix_keeps_stay_escaped_in_one_spelling() {
        assert_eq!(normal("/tags/a%2bb").unwrap(), "/tags/a%2Bb");
        assert_eq!(normal("/tags/100%25").unwrap(), "/tags/100%25");
        assert_eq!(normal("/tags/a+b").unwrap(), "/tags/a+b");
    }

    #[test]
    fn characters_a_uri_cannot_hold_are_matched_decoded_and_sent_escaped() {
        let uri: Uri = "/api/products/caf%c3%a9%20au%20lait?x=%20".parse().unwrap();
        let normalised = normalise(&uri).unwrap();
        assert_eq!(
            normalised.matched.as_deref(),
            Some("/api/products/café au lait")
        );
        let forwarded = normalised.forwarded.unwrap();
        assert_eq!(forwarded.path(), "/api/products/caf%C3%A9%20au%20lait");
        assert_eq!(
            forwarded.query(),
            Some("x=%20"),
            "the query is the client's"
        );
        // Already written so: matched decoded, sent as it came.
        let uri: Uri = "/api/products/caf%C3%A9%20au%20lait".parse().unwrap();
        let normalised = normalise(&uri).unwrap();
        assert_eq!(
            normalised.matched.as_deref(),
            Some("/api/products/café au lait")
        );
        assert_eq!(normalised.forwarded, None);

        // Raw bytes `http` lets through are sent escaped too.
        let uri: Uri = "/api/products/{x}|\"y\"".parse().unwrap();
        let normalised = normalise(&uri).unwrap();
        assert_eq!(
            normalised.matched.as_deref(),
            Some("/api/products/{x}|\"y\"")
        );
        assert_eq!(
            normalised.forwarded.unwrap().path(),
            "/api/products/%7Bx%7D%7C%22y%22"
        );
    }

    #[test]
    fn normal_paths_are_left_alone() {
        for path in [
            "/api/orders",
            "/api/orders/",
            "/a/b.c/..d/...",
            "/x;y=1/@:!$&'()*+,=",
        ] {
            let uri: Uri = path.parse().unwrap();
            assert_eq!(normalise(&uri).unwrap(), Normalised::default(), "{path}");
        }
        // The client's query is untouched, escapes and all.
        let uri: Uri = "/api/orders?q=%2F..%2F".parse().unwrap();
        assert_eq!(normalise(&uri).unwrap(), Normalised::default());
    }

    #[test]
    fn a_changed_path_is_forwarded_in_origin_form_with_the_query() {
        let uri: Uri = "/api//orders/./1?page=2".parse().unwrap();
        let normalised = normalise(&uri).unwrap();
        assert_eq!(normalised.matched, None);
        assert_eq!(normalised.forwarded.unwrap(), "/api/orders/1?page=2");

        let uri: Uri = "http://gateway.example/api//orders".parse().unwrap();
        assert_eq!(normalise(&uri).unwrap().forwarded.unwrap(), "/api/orders");
    }
}
