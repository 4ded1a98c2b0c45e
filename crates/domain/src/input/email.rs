//! [`Email`]: a normalised email address, checked by a hand parser rather than a full
//! RFC 5322 grammar, because the only proof an address works is the mail we send to it.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};

use super::ParseError;

const FIELD: &str = "email";
/// RFC 5321's limit on a forward path, the practical maximum of an address.
const MAX_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;
const MAX_LABEL_LEN: usize = 63;
/// Printable characters RFC 5322 allows unquoted in a local part, besides letters and digits.
const LOCAL_SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~.";

/// An email address, trimmed and lowercased so that `Ada@Example.COM` and `ada@example.com`
/// are the same account.
///
/// Rules: at most 254 characters, no whitespace, exactly one `@`; a local part of 1 to 64
/// ASCII characters (letters, digits, ``!#$%&'*+-/=?^_`{|}~`` and dots, no leading, trailing
/// or doubled dot); a domain of at least two dot-separated labels of letters, digits and
/// hyphens (1 to 63 each, no leading or trailing hyphen) whose last label is not all digits.
/// Quoted local parts, IP-literal domains and non-ASCII addresses are refused: no customer
/// needs them and they are a common source of parser confusion.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    /// Parses and normalises an address.
    ///
    /// # Errors
    /// The first rule the input breaks, under the field `email`.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let fail = |message: &str| Err(ParseError::new(FIELD, message));
        let address = input.trim().to_lowercase();
        if address.is_empty() {
            return fail("must not be empty");
        }
        if address.chars().count() > MAX_LEN {
            return fail("must be at most 254 characters");
        }
        if address.chars().any(char::is_whitespace) {
            return fail("must not contain spaces");
        }
        if !address.is_ascii() {
            return fail("must contain only ASCII characters");
        }
        let Some((local, domain)) = address.split_once('@') else {
            return fail("must contain exactly one `@`");
        };
        if domain.contains('@') {
            return fail("must contain exactly one `@`");
        }
        if let Err(message) = check_local(local) {
            return fail(message);
        }
        if let Err(message) = check_domain(domain) {
            return fail(message);
        }
        Ok(Self(address))
    }

    /// The normalised address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`.
    #[must_use]
    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map_or("", |(local, _)| local)
    }

    /// The part after the `@`.
    #[must_use]
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, domain)| domain)
    }

    /// Unwraps the normalised address.
    #[must_use]
    pub fn into_inner(self) -> String {
        self.0
    }
}

fn check_local(local: &str) -> Result<(), &'static str> {
    if local.is_empty() {
        return Err("must have a name before the `@`");
    }
    if local.len() > MAX_LOCAL_LEN {
        return Err("must have at most 64 characters before the `@`");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("must not start or end with a dot or contain two dots in a row before the `@`");
    }
    if !local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(c))
    {
        return Err("contains a character that is not allowed before the `@`");
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), &'static str> {
    if domain.is_empty() {
        return Err("must have a domain after the `@`");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err("must have a domain with a dot, such as `example.com`");
    }
    for label in &labels {
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return Err("must have a domain whose parts are 1 to 63 characters long");
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err("must have a domain of letters, digits, hyphens and dots");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("must have a domain whose parts do not start or end with a hyphen");
        }
    }
    // An all-digit top-level label means an IP address, which we do not deliver mail to.
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("must have a domain name, not an IP address");
    }
    Ok(())
}

super::string_input!(Email, serialize);

impl utoipa::PartialSchema for Email {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
            .max_length(Some(MAX_LEN))
            .description(Some("An email address; stored trimmed and lowercased."))
            .examples([serde_json::json!("ada@example.com")])
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(input: &str) -> String {
        let error = Email::parse(input).unwrap_err();
        assert_eq!(error.field(), Some("email"));
        error.messages().join("; ")
    }

    #[test]
    fn accepts_and_normalises_common_addresses() {
        let email = Email::parse("  Ada.Lovelace+orders@Example.CO.uk ").unwrap();
        assert_eq!(email.as_str(), "ada.lovelace+orders@example.co.uk");
        assert_eq!(email.local_part(), "ada.lovelace+orders");
        assert_eq!(email.domain(), "example.co.uk");
        for ok in [
            "a@b.co",
            "o'brien@example.com",
            "x_y-z@sub-domain.example.io",
            "u@xn--p1ai.xn--p1ai",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_empty_and_blank() {
        assert_eq!(message(""), "must not be empty");
        assert_eq!(message("   "), "must not be empty");
    }

    #[test]
    fn rejects_missing_or_repeated_at() {
        assert_eq!(message("ada.example.com"), "must contain exactly one `@`");
        assert_eq!(message("ada@@example.com"), "must contain exactly one `@`");
        assert_eq!(message("a@b@example.com"), "must contain exactly one `@`");
    }

    #[test]
    fn rejects_inner_whitespace() {
        assert_eq!(
            message("ada lovelace@example.com"),
            "must not contain spaces"
        );
        assert_eq!(message("ada@exa\tmple.com"), "must not contain spaces");
    }

    #[test]
    fn enforces_total_and_local_lengths() {
        let local = "a".repeat(64);
        assert!(Email::parse(&format!("{local}@example.com")).is_ok());
        assert_eq!(
            message(&format!("{}@example.com", "a".repeat(65))),
            "must have at most 64 characters before the `@`"
        );
        // 64 + 1 + 189 = 254 characters is allowed, one more is not.
        let domain = |last: usize| {
            format!(
                "{}.{}.{}.com",
                "a".repeat(63),
                "b".repeat(63),
                "c".repeat(last)
            )
        };
        let at_limit = format!("{local}@{}", domain(57));
        assert_eq!(at_limit.len(), 254);
        assert!(Email::parse(&at_limit).is_ok());
        let over = format!("{local}@{}", domain(58));
        assert_eq!(message(&over), "must be at most 254 characters");
    }

    #[test]
    fn rejects_bad_local_parts() {
        assert_eq!(message("@example.com"), "must have a name before the `@`");
        for bad in [".ada@example.com", "ada.@example.com", "a..da@example.com"] {
            assert!(message(bad).contains("dot"), "{bad}");
        }
        assert_eq!(
            message("\"ada\"@example.com"),
            "contains a character that is not allowed before the `@`"
        );
        assert_eq!(
            message("adá@example.com"),
            "must contain only ASCII characters"
        );
    }

    #[test]
    fn rejects_bad_domains() {
        assert_eq!(message("ada@"), "must have a domain after the `@`");
        assert_eq!(
            message("ada@localhost"),
            "must have a domain with a dot, such as `example.com`"
        );
        assert_eq!(
            message("ada@example..com"),
            "must have a domain whose parts are 1 to 63 characters long"
        );
        assert_eq!(
            message("ada@.example.com"),
            "must have a domain whose parts are 1 to 63 characters long"
        );
        assert_eq!(
            message("ada@example.com."),
            "must have a domain whose parts are 1 to 63 characters long"
        );
        assert_eq!(
            message("ada@exam_ple.com"),
            "must have a domain of letters, digits, hyphens and dots"
        );
        assert_eq!(
            message("ada@-example.com"),
            "must have a domain whose parts do not start or end with a hyphen"
        );
        assert_eq!(
            message("ada@example-.com"),
            "must have a domain whose parts do not start or end with a hyphen"
        );
        assert_eq!(
            message("ada@[127.0.0.1]"),
            "must have a domain of letters, digits, hyphens and dots"
        );
        assert_eq!(
            message("ada@127.0.0.1"),
            "must have a domain name, not an IP address"
        );
        let long_label = format!("ada@{}.com", "x".repeat(64));
        assert_eq!(
            message(&long_label),
            "must have a domain whose parts are 1 to 63 characters long"
        );
    }

    #[test]
    fn serde_round_trips_normalised_and_refuses_invalid() {
        let email: Email = serde_json::from_str("\"ADA@example.com\"").unwrap();
        assert_eq!(
            serde_json::to_string(&email).unwrap(),
            "\"ada@example.com\""
        );
        let err = serde_json::from_str::<Email>("\"nope\"").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("email: must contain exactly one `@`"),
            "{err}"
        );
    }

    #[test]
    fn equal_after_normalisation() {
        assert_eq!(
            Email::parse("A@B.CO").unwrap(),
            Email::parse("a@b.co").unwrap()
        );
        assert_eq!(Email::parse("a@b.co").unwrap().to_string(), "a@b.co");
    }
}
