//! Typed UUID ids, one newtype per entity, so an `OrderId` can never be passed where a
//! `UserId` is expected.
//!
//! New ids are UUIDv7: time-ordered, so primary-key indexes stay append-mostly and ids sort
//! roughly by creation time. On the wire an id is the lowercase hyphenated string, in the
//! database a PostgreSQL `uuid`. Drivers, agents and admins are users, so they use [`UserId`].

use std::fmt;
use std::str::FromStr;

use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use serde::de::{self, Visitor};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use uuid::Uuid;

use crate::input::{ParseError, quoted};

/// Shared parsing so every id type answers a malformed value with the same message.
fn parse_uuid(input: &str) -> Result<Uuid, ParseError> {
    // `Uuid::parse_str` also accepts braced, URN and simple (unhyphenated) forms; the API
    // documents only the hyphenated form, so accept exactly that and nothing a client might
    // come to rely on by accident.
    if input.len() != 36 {
        return Err(not_a_uuid(input));
    }
    Uuid::try_parse(input).map_err(|_| not_a_uuid(input))
}

// Unnamed: the same id type arrives as `id`, `orderId`, `deliveryAddressId`...; the caller
// knows which.
fn not_a_uuid(input: &str) -> ParseError {
    ParseError::unnamed(format!("could not parse {} as a UUID", quoted(input)))
}

fn uuid_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        .examples([serde_json::json!("01936b2e-8f4a-7c3d-9e5f-0a1b2c3d4e5f")])
        .into()
}

macro_rules! uuid_id {
    ($($(#[$meta:meta])* $name:ident;)+) => {$(
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            PartialOrd,
            Ord,
            Hash,
            serde::Serialize,
            diesel::expression::AsExpression,
            diesel::deserialize::FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered (v7) id.
            #[must_use]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID, e.g. one read from an event.
            #[must_use]
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            #[must_use]
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }

            /// Unwraps the UUID.
            #[must_use]
            pub const fn into_inner(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $name {
            type Err = ParseError;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                parse_uuid(input).map(Self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct IdVisitor;

                impl Visitor<'_> for IdVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a UUID string")
                    }

                    fn visit_str<E: de::Error>(self, value: &str) -> Result<$name, E> {
                        parse_uuid(value).map($name).map_err(E::custom)
                    }

                    // Non-human-readable serde formats carry `Uuid` as 16 raw bytes.
                    fn visit_bytes<E: de::Error>(self, value: &[u8]) -> Result<$name, E> {
                        Uuid::from_slice(value)
                            .map($name)
                            .map_err(|_| E::invalid_length(value.len(), &"16 bytes"))
                    }
                }

                if deserializer.is_human_readable() {
                    deserializer.deserialize_str(IdVisitor)
                } else {
                    deserializer.deserialize_bytes(IdVisitor)
                }
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                uuid_schema()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl ToSql<diesel::sql_types::Uuid, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <Uuid as ToSql<diesel::sql_types::Uuid, Pg>>::to_sql(&self.0, out)
            }
        }

        impl FromSql<diesel::sql_types::Uuid, Pg> for $name {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                <Uuid as FromSql<diesel::sql_types::Uuid, Pg>>::from_sql(value).map(Self)
            }
        }
    )+};
}

uuid_id! {
    /// A user of any role: customer, driver, support agent or admin.
    UserId;
    /// An order, from submission to delivery or cancellation.
    OrderId;
    /// A catalog product.
    ProductId;
    /// A catalog category.
    CategoryId;
    /// A product image (catalog's object store holds its bytes).
    ImageId;
    /// A customer's saved delivery address.
    AddressId;
    /// One payment attempt for an order.
    PaymentId;
    /// A saved payment method (card) of a customer.
    PaymentMethodId;
    /// A support ticket.
    TicketId;
    /// A message in a support ticket's chat.
    MessageId;
    /// A product review.
    ReviewId;
    /// One ID document a customer submitted for verification (auth's review queue).
    IdVerificationId;
    /// An event on the bus; also its AMQP `message_id` and the inbox de-duplication key.
    EventId;
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "01936b2e-8f4a-7c3d-9e5f-0a1b2c3d4e5f";

    #[test]
    fn new_ids_are_version_7_and_distinct() {
        let a = OrderId::new();
        let b = OrderId::new();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert_ne!(a, b);
    }

    #[test]
    fn ids_created_later_sort_after_earlier_ones() {
        let first = EventId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = EventId::new();
        assert!(first < second);
    }

    #[test]
    fn display_and_from_str_round_trip() {
        let id: UserId = TEXT.parse().unwrap();
        assert_eq!(id.to_string(), TEXT);
        assert_eq!(UserId::from_uuid(id.into_inner()), id);
    }

    #[test]
    fn uppercase_input_is_accepted_and_printed_lowercase() {
        let id: ProductId = TEXT.to_uppercase().parse().unwrap();
        assert_eq!(id.to_string(), TEXT);
    }

    #[test]
    fn from_str_rejects_non_hyphenated_and_garbage() {
        for bad in [
            "",
            "abc",
            &TEXT.replace('-', ""),
            &format!("{{{TEXT}}}"),
            "urn:uuid:x",
        ] {
            let err = bad.parse::<OrderId>().unwrap_err();
            assert_eq!(err.field(), None);
            assert!(err.to_string().contains("as a UUID"), "{err}");
        }
    }

    #[test]
    fn serializes_as_a_bare_string() {
        let id: TicketId = TEXT.parse().unwrap();
        assert_eq!(serde_json::to_value(id).unwrap(), serde_json::json!(TEXT));
    }

    #[test]
    fn deserializes_from_a_string_with_a_clear_error() {
        let id: CategoryId = serde_json::from_value(serde_json::json!(TEXT)).unwrap();
        assert_eq!(id.to_string(), TEXT);

        let err = serde_json::from_value::<CategoryId>(serde_json::json!("doggo")).unwrap_err();
        assert_eq!(err.to_string(), "could not parse `doggo` as a UUID");

        let err = serde_json::from_value::<CategoryId>(serde_json::json!(42)).unwrap_err();
        assert!(err.to_string().contains("a UUID string"), "{err}");
    }

    #[test]
    fn schema_is_a_uuid_string() {
        let schema = serde_json::to_value(<AddressId as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["type"], "string");
        assert_eq!(schema["format"], "uuid");
        assert_eq!(<AddressId as utoipa::ToSchema>::name(), "AddressId");
    }

    #[test]
    fn converts_to_and_from_uuid() {
        let uuid = Uuid::now_v7();
        let id = PaymentId::from(uuid);
        assert_eq!(Uuid::from(id), uuid);
        assert_eq!(*id.as_uuid(), uuid);
    }
}
