//! Macros for closed sets of string values (roles, statuses); `string_enum!` is exported
//! for the services' own row statuses.
//!
//! Such an enum must agree in four places: JSON, the database text column, `FromStr` and the
//! OpenAPI schema. Writing each name once, here, keeps them from drifting apart.

/// Declares a `Copy` enum whose variants map one-to-one to fixed lowercase strings.
///
/// Generates `ALL`, `as_str`, `Display`, `FromStr` (error: [`crate::input::ParseError`]
/// naming `$field`), serde, `utoipa::ToSchema` and a diesel `Text` mapping for PostgreSQL.
/// A crate using it depends on serde, utoipa and diesel (every service does).
///
/// ```ignore
/// domain::string_enum! {
///     /// Where a payment stands.
///     pub enum PaymentStatus (field = "status") {
///         Succeeded => "succeeded",
///         Failed => "failed",
///     }
/// }
/// ```
#[macro_export]
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident (field = $field:tt) {
            $( $(#[$vmeta:meta])* $variant:ident => $text:tt, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            serde::Serialize,
            serde::Deserialize,
            utoipa::ToSchema,
            diesel::expression::AsExpression,
            diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The wire and database spelling of this value.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::input::ParseError;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                match input {
                    $($text => Ok(Self::$variant),)+
                    _ => {
                        let expected: Vec<String> =
                            Self::ALL.iter().map(|value| format!("`{value}`")).collect();
                        Err($crate::input::ParseError::new(
                            $field,
                            format!(
                                "{} is not one of {}",
                                $crate::input::quoted(input),
                                expected.join(", ")
                            ),
                        ))
                    }
                }
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                std::io::Write::write_all(out, self.as_str().as_bytes())?;
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = std::str::from_utf8(value.as_bytes())?;
                Ok(text.parse()?)
            }
        }
    };
}
