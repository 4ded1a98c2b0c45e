//! [`Pagination`] (`limit` and `offset` of list endpoints, also an extractor) and [`Page`]
//! (the list answer, under the key [`Listed`] names).
//!
//! The parameters arrive as strings and are parsed here rather than by serde, because serde's
//! query errors do not name the parameter ("invalid digit found in string"); here a client
//! reads "limit: could not parse `abc` as a positive integer".

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::{IntoParams, ToSchema};

use crate::input::{FieldError, quoted};
use crate::problem::Problem;

/// `limit` when none is given.
pub const DEFAULT_LIMIT: u32 = 20;
/// The largest `limit` accepted; larger is refused, not clamped, so a client never silently
/// gets fewer items than it believes it asked for.
pub const MAX_LIMIT: u32 = 100;
/// The largest `offset`. PostgreSQL reads and throws away every skipped row, so a deep
/// offset costs the database as much as fetching them all; a client that needs to go further
/// narrows its filters instead.
pub const MAX_OFFSET: u64 = 10_000;

/// The raw query parameters, as the client sent them. Turn them into a [`Pagination`] with
/// [`Pagination::from_query`], or take `Pagination` as an extractor directly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaginationQuery {
    /// How many items to return, 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<String>,
    /// How many items to skip, 0 to 10 000 (default 0).
    #[param(value_type = Option<u64>, minimum = 0, maximum = 10000, default = 0)]
    pub offset: Option<String>,
}

/// Validated `limit` (1 to 100) and `offset` (0 to 10 000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    limit: u32,
    offset: u64,
}

impl Default for Pagination {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

impl Pagination {
    /// Parses the raw parameters. An absent or empty parameter takes its default (browsers
    /// and form builders send `?limit=` for an untouched field).
    ///
    /// # Errors
    /// `400 VALIDATION_FAILED` naming every bad parameter.
    pub fn from_query(query: PaginationQuery) -> Result<Self, Problem> {
        let mut errors = Vec::new();
        let limit = match parse_number(query.limit.as_deref()) {
            Number::Absent => Some(u64::from(DEFAULT_LIMIT)),
            Number::Value(limit) if (1..=u64::from(MAX_LIMIT)).contains(&limit) => Some(limit),
            Number::Value(_) | Number::TooLarge => {
                errors.push(FieldError::new(
                    "limit",
                    format!("must be between 1 and {MAX_LIMIT}"),
                ));
                None
            }
            Number::Invalid(message) => {
                errors.push(FieldError::new("limit", message));
                None
            }
        };
        let offset = match parse_number(query.offset.as_deref()) {
            Number::Absent => Some(0),
            Number::Value(offset) if offset <= MAX_OFFSET => Some(offset),
            Number::Value(_) | Number::TooLarge => {
                errors.push(FieldError::new(
                    "offset",
                    format!("must be at most {MAX_OFFSET}"),
                ));
                None
            }
            Number::Invalid(message) => {
                errors.push(FieldError::new("offset", message));
                None
            }
        };
        match (limit.and_then(|l| u32::try_from(l).ok()), offset) {
            (Some(limit), Some(offset)) if errors.is_empty() => Ok(Self { limit, offset }),
            _ => Err(Problem::validation(errors)),
        }
    }

    /// How many items to return.
    #[must_use]
    pub const fn limit(&self) -> u32 {
        self.limit
    }

    /// How many items to skip.
    #[must_use]
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// `limit` for diesel's `.limit(i64)`.
    #[must_use]
    pub fn limit_i64(&self) -> i64 {
        i64::from(self.limit)
    }

    /// `offset` for diesel's `.offset(i64)`; in range by construction.
    #[must_use]
    pub fn offset_i64(&self) -> i64 {
        i64::try_from(self.offset).unwrap_or(i64::MAX)
    }

    /// Whether items remain after this page, given the total count.
    #[must_use]
    pub fn has_more(&self, total: u64) -> bool {
        self.offset.saturating_add(u64::from(self.limit)) < total
    }
}

impl TryFrom<PaginationQuery> for Pagination {
    type Error = Problem;

    fn try_from(query: PaginationQuery) -> Result<Self, Self::Error> {
        Self::from_query(query)
    }
}

/// Extracts `limit` and `offset` from the query string; other parameters are ignored, so a
/// handler can take `Pagination` next to its own `web::Query<Filters>`.
impl FromRequest for Pagination {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(
            web::Query::<PaginationQuery>::from_query(request.query_string())
                .map_err(Problem::from)
                .and_then(|query| Self::from_query(query.into_inner())),
        )
    }
}

enum Number {
    Absent,
    Value(u64),
    TooLarge,
    Invalid(String),
}

fn parse_number(raw: Option<&str>) -> Number {
    let Some(text) = raw.map(str::trim).filter(|text| !text.is_empty()) else {
        return Number::Absent;
    };
    // Digits only: `u64::from_str` would also take `+5`, which no client means to send.
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Number::Invalid(format!(
            "could not parse {} as a positive integer",
            quoted(text)
        ));
    }
    text.parse().map_or(Number::TooLarge, Number::Value)
}

/// An item type whose lists are answered under a key of its own, as the guide's answers are
/// (`{"products": [...]}`, `{"paymentMethods": [...]}`): the key of [`Page`]'s items.
pub trait Listed {
    /// The JSON key of the list, camelCase (`"paymentMethods"`).
    const KEY: &'static str;
}

/// One page of a list: the items, the total count across all pages and whether more follow.
///
/// Serialized as `{<T::KEY>: [...], "total": 123, "hasMore": true}` (see [`Listed`]); its
/// OpenAPI schema (`Page_<T>` in the document) says the same. A struct with more members beside the list
/// takes the page with `#[serde(flatten)]`.
///
/// ```
/// use domain::{Listed, Page, Pagination};
///
/// #[derive(serde::Serialize)]
/// struct Product { name: &'static str }
/// impl Listed for Product { const KEY: &'static str = "products"; }
///
/// let page = Page::new(vec![Product { name: "OG Kush" }], 21, Pagination::default());
/// assert_eq!(
///     serde_json::to_value(&page).unwrap(),
///     serde_json::json!({"products": [{"name": "OG Kush"}], "total": 21, "hasMore": true}),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// How many items match across all pages.
    pub total: u64,
    /// Whether a next page exists.
    pub has_more: bool,
}

impl<T> Page<T> {
    /// A page of `items` out of `total`, fetched with `pagination`.
    #[must_use]
    pub fn new(items: Vec<T>, total: u64, pagination: Pagination) -> Self {
        Self {
            items,
            total,
            has_more: pagination.has_more(total),
        }
    }

    /// A whole list in one page (lists that are bounded, not paginated).
    #[must_use]
    pub fn all(items: Vec<T>) -> Self {
        Self {
            total: u64::try_from(items.len()).unwrap_or(u64::MAX),
            items,
            has_more: false,
        }
    }

    /// The same page with each item converted (rows to views).
    #[must_use]
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            has_more: self.has_more,
        }
    }
}

impl<T: Listed + Serialize> Serialize for Page<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry(T::KEY, &self.items)?;
        map.serialize_entry("total", &self.total)?;
        map.serialize_entry("hasMore", &self.has_more)?;
        map.end()
    }
}

/// The schema (utoipa's `PartialSchema` comes with this; it is also what
/// `#[utoipa::path(.. body = Page<T>)]` and a `Page<T>` field ask a generic type for).
impl<T: Listed + ToSchema> utoipa::__dev::ComposeSchema for Page<T> {
    fn compose(_generics: Vec<RefOr<Schema>>) -> RefOr<Schema> {
        ObjectBuilder::new()
            .property(
                T::KEY,
                ArrayBuilder::new().items(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    T::name(),
                ))),
            )
            .property(
                "total",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(0))
                    .description(Some("How many items match across all pages.")),
            )
            .property(
                "hasMore",
                ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .description(Some("Whether a next page exists.")),
            )
            .required(T::KEY)
            .required("total")
            .required("hasMore")
            .into()
    }
}

impl<T: Listed + ToSchema> ToSchema for Page<T> {
    fn name() -> std::borrow::Cow<'static, str> {
        // utoipa names a generic's instances `Page_<T>` (`Page_MethodView`).
        std::borrow::Cow::Borrowed("Page")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;
    use crate::problem::Code;

    fn query(limit: Option<&str>, offset: Option<&str>) -> PaginationQuery {
        PaginationQuery {
            limit: limit.map(str::to_owned),
            offset: offset.map(str::to_owned),
        }
    }

    fn errors(limit: Option<&str>, offset: Option<&str>) -> Vec<FieldError> {
        let problem = Pagination::from_query(query(limit, offset)).unwrap_err();
        assert_eq!(problem.code(), Code::ValidationFailed);
        problem.errors().to_vec()
    }

    #[test]
    fn defaults_are_twenty_and_zero() {
        let page = Pagination::from_query(PaginationQuery::default()).unwrap();
        assert_eq!((page.limit(), page.offset()), (20, 0));
        assert_eq!(page, Pagination::default());
        let page = Pagination::from_query(query(Some(""), Some(" "))).unwrap();
        assert_eq!((page.limit(), page.offset()), (20, 0));
    }

    #[test]
    fn limit_bounds_are_inclusive() {
        assert_eq!(
            Pagination::from_query(query(Some("1"), None))
                .unwrap()
                .limit(),
            1
        );
        assert_eq!(
            Pagination::from_query(query(Some("100"), None))
                .unwrap()
                .limit(),
            100
        );
        for bad in ["0", "101", "100000", "99999999999999999999999"] {
            assert_eq!(
                errors(Some(bad), None),
                [FieldError::new("limit", "must be between 1 and 100")],
                "{bad}"
            );
        }
    }

    #[test]
    fn non_numbers_are_named_with_the_input() {
        assert_eq!(
            errors(Some("abc"), None),
            [FieldError::new(
                "limit",
                "could not parse `abc` as a positive integer"
            )]
        );
        assert_eq!(
            errors(Some("-1"), None),
            [FieldError::new(
                "limit",
                "could not parse `-1` as a positive integer"
            )]
        );
        assert_eq!(
            errors(None, Some("+5")),
            [FieldError::new(
                "offset",
                "could not parse `+5` as a positive integer"
            )]
        );
        assert_eq!(
            errors(None, Some("1.5")),
            [FieldError::new(
                "offset",
                "could not parse `1.5` as a positive integer"
            )]
        );
    }

    #[test]
    fn both_parameters_are_reported_together() {
        assert_eq!(
            errors(Some("abc"), Some("abc")),
            [
                FieldError::new("limit", "could not parse `abc` as a positive integer"),
                FieldError::new("offset", "could not parse `abc` as a positive integer"),
            ]
        );
    }

    #[test]
    fn offset_is_capped_at_ten_thousand() {
        let page = Pagination::from_query(query(None, Some("10000"))).unwrap();
        assert_eq!(page.offset_i64(), 10_000);
        for over in ["10001", "9223372036854775807", "99999999999999999999999"] {
            assert_eq!(
                errors(None, Some(over)),
                [FieldError::new("offset", "must be at most 10000")],
                "{over}"
            );
        }
        let request = TestRequest::get()
            .uri("/api/products?offset=9223372036854775807")
            .to_http_request();
        let problem = Pagination::extract(&request).into_inner().unwrap_err();
        assert_eq!(
            (problem.status(), problem.code()),
            (400, Code::ValidationFailed)
        );
    }

    #[test]
    fn has_more_compares_the_end_of_the_page_with_the_total() {
        let page = |limit: &str, offset: &str| {
            Pagination::from_query(query(Some(limit), Some(offset))).unwrap()
        };
        assert!(page("20", "0").has_more(21));
        assert!(!page("20", "0").has_more(20));
        assert!(!page("20", "40").has_more(45));
        assert!(!page("20", "0").has_more(0));
        assert!(!page("100", &MAX_OFFSET.to_string()).has_more(MAX_OFFSET));
        assert_eq!(
            (page("7", "3").limit_i64(), page("7", "3").offset_i64()),
            (7, 3)
        );
    }

    #[derive(Serialize, ToSchema)]
    struct Thing {
        name: &'static str,
    }

    impl Listed for Thing {
        const KEY: &'static str = "things";
    }

    #[test]
    fn page_serializes_under_the_items_own_key() {
        let pagination = Pagination::from_query(query(Some("2"), None)).unwrap();
        let page = Page::new(
            vec![Thing { name: "a" }, Thing { name: "b" }],
            3,
            pagination,
        );
        assert_eq!(
            serde_json::to_value(&page).unwrap(),
            serde_json::json!({"things": [{"name": "a"}, {"name": "b"}], "total": 3, "hasMore": true})
        );
        let all = Page::all(vec![Thing { name: "a" }]);
        assert_eq!(
            serde_json::to_value(&all).unwrap(),
            serde_json::json!({"things": [{"name": "a"}], "total": 1, "hasMore": false})
        );
    }

    #[test]
    fn page_schema_names_the_key_and_refers_to_the_item() {
        assert_eq!(<Page<Thing> as ToSchema>::name(), "Page");
        let schema =
            serde_json::to_value(<Page<Thing> as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(
            schema["properties"]["things"]["items"]["$ref"],
            "#/components/schemas/Thing"
        );
        assert_eq!(schema["properties"]["total"]["type"], "integer");
        assert_eq!(
            schema["required"],
            serde_json::json!(["things", "total", "hasMore"])
        );
        let mut schemas = Vec::new();
        <Page<Thing> as ToSchema>::schemas(&mut schemas);
        assert_eq!(schemas[0].0, "Thing");
    }

    #[test]
    fn extracts_from_the_request_query_string() {
        let request = TestRequest::get()
            .uri("/products?category=x&limit=5&offset=10")
            .to_http_request();
        let page = Pagination::extract(&request).into_inner().unwrap();
        assert_eq!((page.limit(), page.offset()), (5, 10));

        let request = TestRequest::get()
            .uri("/products?limit=abc&offset=-3")
            .to_http_request();
        let problem = Pagination::extract(&request).into_inner().unwrap_err();
        assert_eq!(problem.status(), 400);
        assert_eq!(problem.errors().len(), 2);

        let request = TestRequest::get()
            .uri("/products?limit=1&limit=2")
            .to_http_request();
        let problem = Pagination::extract(&request).into_inner().unwrap_err();
        assert_eq!(
            problem.errors(),
            [FieldError::new("limit", "is given more than once")]
        );
    }

    #[test]
    fn query_params_are_documented_as_numbers() {
        let params = PaginationQuery::into_params(|| None);
        let json = serde_json::to_value(&params).unwrap();
        assert_eq!(json[0]["name"], "limit");
        assert_eq!(json[0]["schema"]["maximum"], 100);
        assert_eq!(json[1]["name"], "offset");
    }
}
