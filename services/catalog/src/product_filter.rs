//! The product list's query parameters (`GET /api/products`), parsed into a [`ListFilter`]
//! before any query runs: every bad parameter, `limit` and `offset` included, is named in one
//! 400 answer. Also which cache, if any, may answer the request.

use crate::product_rules::{ProductType, StrainType};
use bigdecimal::{BigDecimal, ToPrimitive};
use domain::input::Validation;
use domain::{CategoryId, Money, Pagination, PaginationQuery, Problem};
use serde::Deserialize;
use std::str::FromStr;
use utoipa::IntoParams;
use uuid::Uuid;

/// `GET /api/products`' filters as the client sent them (all text, so that a bad value is a
/// clear 400 rather than a deserializer's message); `limit` and `offset` are
/// [`PaginationQuery`]'s.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Category slug (e.g. `flower`) or id.
    #[param(example = "flower")]
    pub category: Option<String>,
    /// Words to find in name, description, effects and category; misspellings are tolerated
    /// (at most 100 characters).
    #[param(max_length = 100)]
    pub search: Option<String>,
    /// `true` for featured products only (`false`: only the others).
    #[param(value_type = Option<bool>)]
    pub featured: Option<String>,
    /// `sativa`, `indica` or `hybrid`.
    #[param(value_type = Option<StrainType>, inline)]
    pub strain_type: Option<String>,
    /// `flower`, `pre_roll`, `vape`, `concentrate`, `edible`, `tincture`, `topical` or `accessory`.
    #[param(value_type = Option<ProductType>, inline)]
    pub product_type: Option<String>,
    /// Lowest price, e.g. `20.00`.
    pub min_price: Option<String>,
    /// Highest price, e.g. `60.00`.
    pub max_price: Option<String>,
    /// Lowest THC in percent (products whose THC is given in percent), e.g. `20`.
    #[param(value_type = Option<f64>, minimum = 0, maximum = 100)]
    pub min_thc: Option<String>,
    /// `true`: only products that can be ordered now; `false`: only sold-out ones.
    #[param(value_type = Option<bool>)]
    pub in_stock: Option<String>,
    /// `relevance` (default with `search`), `newest` (default otherwise), `price_asc`,
    /// `price_desc`, `rating` or `thc_desc`.
    #[param(value_type = Option<Sort>, inline)]
    pub sort: Option<String>,
}

/// A category named by the client.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CategoryRef {
    Id(CategoryId),
    Slug(String),
}

domain::string_enum! {
    /// The order of the list.
    pub enum Sort (field = "sort") {
        /// Best match first (searches only).
        Relevance => "relevance",
        Newest => "newest",
        PriceAsc => "price_asc",
        PriceDesc => "price_desc",
        /// Best rated first (unrated last).
        Rating => "rating",
        ThcDesc => "thc_desc",
    }
}

/// Longest search text accepted.
pub const MAX_SEARCH_CHARS: usize = 100;

/// A parsed, valid product list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListFilter {
    pub category: Option<CategoryRef>,
    pub search: Option<String>,
    pub featured: Option<bool>,
    pub strain_type: Option<StrainType>,
    pub product_type: Option<ProductType>,
    pub min_price: Option<Money>,
    pub max_price: Option<Money>,
    pub min_thc: Option<BigDecimal>,
    pub in_stock: Option<bool>,
    pub sort: Sort,
    pub page: Pagination,
}

/// An empty parameter counts as absent (forms send `?search=` for an untouched field).
fn given(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn boolean(v: &mut Validation, field: &str, value: Option<&String>) -> Option<bool> {
    match given(value)? {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => {
            v.add(field, "must be true or false");
            None
        }
    }
}

impl ListFilter {
    /// Parses the filters and the page together, so one 400 names every bad parameter.
    pub fn parse(query: &ListQuery, page: PaginationQuery) -> Result<Self, Problem> {
        let page = Pagination::from_query(page);
        let mut v = Validation::new();
        if let Err(problem) = &page {
            for error in problem.errors() {
                v.add(error.field.clone(), error.message.clone());
            }
        }
        let category = given(query.category.as_ref()).map(|value| {
            Uuid::parse_str(value).map_or_else(
                |_| CategoryRef::Slug(value.to_lowercase()),
                |id| CategoryRef::Id(CategoryId::from(id)),
            )
        });
        let search = given(query.search.as_ref())
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "));
        if search
            .as_ref()
            .is_some_and(|s| s.chars().count() > MAX_SEARCH_CHARS)
        {
            v.add(
                "search",
                format!("must be at most {MAX_SEARCH_CHARS} characters"),
            );
        }
        let featured = boolean(&mut v, "featured", query.featured.as_ref());
        let in_stock = boolean(&mut v, "inStock", query.in_stock.as_ref());
        let strain_type = given(query.strain_type.as_ref())
            .and_then(|s| v.check("strainType", StrainType::from_input(s)));
        let product_type = given(query.product_type.as_ref())
            .and_then(|s| v.check("productType", ProductType::from_input(s)));
        let min_price =
            given(query.min_price.as_ref()).and_then(|s| v.check("minPrice", Money::parse(s)));
        let max_price =
            given(query.max_price.as_ref()).and_then(|s| v.check("maxPrice", Money::parse(s)));
        if let (Some(min), Some(max)) = (min_price, max_price)
            && min > max
        {
            v.add("maxPrice", "must not be below minPrice");
        }
        let min_thc = given(query.min_thc.as_ref()).and_then(|s| match BigDecimal::from_str(s) {
            Ok(value) if value.to_f64().is_some_and(|v| (0.0..=100.0).contains(&v)) => Some(value),
            _ => {
                v.add("minThc", "must be a percentage between 0 and 100");
                None
            }
        });
        let sort = match given(query.sort.as_ref()) {
            None if search.is_some() => Some(Sort::Relevance),
            None => Some(Sort::Newest),
            Some(value) => match value.parse::<Sort>() {
                Ok(Sort::Relevance) if search.is_none() => Some(Sort::Newest),
                Ok(sort) => Some(sort),
                Err(_) => {
                    v.add(
                        "sort",
                        "must be relevance, newest, price_asc, price_desc, rating or thc_desc",
                    );
                    None
                }
            },
        };
        v.finish(|| {
            Some(Self {
                category,
                search,
                featured,
                strain_type,
                product_type,
                min_price,
                max_price,
                min_thc,
                in_stock,
                sort: sort?,
                page: page.ok()?,
            })
        })
    }

    /// Which cache, if any, may answer this request: category pages and the featured list
    /// (the guide's `products:category:{id}` and `products:featured`). Searches and other
    /// filter mixes go to the database.
    pub fn cache_scope(&self) -> Option<CacheScope> {
        if self.search.is_some() {
            return None;
        }
        match (&self.category, self.featured) {
            (Some(category), _) => Some(CacheScope::Category(category.clone())),
            (None, Some(true)) => Some(CacheScope::Featured),
            _ => None,
        }
    }

    /// Every parameter in a fixed order: the cache field for this request.
    pub fn canonical(&self) -> String {
        let opt = |value: Option<String>| value.unwrap_or_default();
        format!(
            "f={}&st={}&pt={}&min={}&max={}&thc={}&in={}&sort={}&l={}&o={}",
            opt(self.featured.map(|b| b.to_string())),
            opt(self.strain_type.map(|s| s.as_str().to_owned())),
            opt(self.product_type.map(|p| p.as_str().to_owned())),
            opt(self.min_price.map(|m| m.to_cents().to_string())),
            opt(self.max_price.map(|m| m.to_cents().to_string())),
            opt(self.min_thc.as_ref().map(|t| t.normalized().to_string())),
            opt(self.in_stock.map(|b| b.to_string())),
            self.sort.as_str(),
            self.page.limit(),
            self.page.offset(),
        )
    }
}

/// A cached family of product lists, invalidated together.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CacheScope {
    Featured,
    Category(CategoryRef),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<ListFilter, Problem> {
        let (query, page) = query(pairs);
        ListFilter::parse(&query, page)
    }

    // The test builds the structs by hand to avoid another dependency for form decoding.
    fn query(pairs: &[(&str, &str)]) -> (ListQuery, PaginationQuery) {
        let mut q = ListQuery::default();
        let mut page = PaginationQuery::default();
        for (key, value) in pairs {
            let value = Some((*value).to_owned());
            match *key {
                "category" => q.category = value,
                "search" => q.search = value,
                "featured" => q.featured = value,
                "strainType" => q.strain_type = value,
                "productType" => q.product_type = value,
                "minPrice" => q.min_price = value,
                "maxPrice" => q.max_price = value,
                "minThc" => q.min_thc = value,
                "inStock" => q.in_stock = value,
                "sort" => q.sort = value,
                "limit" => page.limit = value,
                "offset" => page.offset = value,
                other => panic!("unknown key {other}"),
            }
        }
        (q, page)
    }

    fn fields(problem: &Problem) -> Vec<String> {
        problem.errors().iter().map(|e| e.field.clone()).collect()
    }

    #[test]
    fn defaults() {
        let filter = parse(&[]).unwrap();
        assert_eq!(filter.sort, Sort::Newest);
        assert_eq!(filter.page.limit(), 20);
        let filter = parse(&[("search", "  blue   dream ")]).unwrap();
        assert_eq!(filter.search.as_deref(), Some("blue dream"));
        assert_eq!(filter.sort, Sort::Relevance);
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let problem = parse(&[
            ("limit", "-1"),
            ("offset", "abc"),
            ("sort", "cheapest"),
            ("featured", "yes"),
            ("strainType", "ruderalis"),
            ("productType", "seeds"),
            ("minPrice", "ten"),
            ("minThc", "150"),
            ("inStock", "maybe"),
        ])
        .unwrap_err();
        assert_eq!(problem.status(), 400);
        let mut got = fields(&problem);
        got.sort();
        assert_eq!(
            got,
            [
                "featured",
                "inStock",
                "limit",
                "minPrice",
                "minThc",
                "offset",
                "productType",
                "sort",
                "strainType"
            ]
        );
        assert!(parse(&[("limit", "100000")]).is_err());
        let inverted = parse(&[("minPrice", "50.00"), ("maxPrice", "10.00")]);
        assert_eq!(fields(&inverted.unwrap_err()), ["maxPrice"]);
    }

    #[test]
    fn categories_by_slug_or_id() {
        let filter = parse(&[("category", "Flower")]).unwrap();
        assert_eq!(filter.category, Some(CategoryRef::Slug("flower".into())));
        let id = CategoryId::new();
        let filter = parse(&[("category", &id.to_string())]).unwrap();
        assert_eq!(filter.category, Some(CategoryRef::Id(id)));
    }

    #[test]
    fn only_category_and_featured_pages_are_cached() {
        let scope = |pairs: &[(&str, &str)]| parse(pairs).unwrap().cache_scope();
        assert_eq!(
            scope(&[("category", "flower")]),
            Some(CacheScope::Category(CategoryRef::Slug("flower".into())))
        );
        assert_eq!(scope(&[("featured", "true")]), Some(CacheScope::Featured));
        assert_eq!(scope(&[("category", "flower"), ("search", "kush")]), None);
        assert_eq!(scope(&[("minPrice", "10.00")]), None);
    }

    #[test]
    fn the_canonical_form_tells_pages_apart() {
        let a = parse(&[("category", "flower"), ("offset", "20")]).unwrap();
        let b = parse(&[("category", "flower")]).unwrap();
        assert_ne!(a.canonical(), b.canonical());
        let c = parse(&[("category", "flower"), ("offset", "0")]).unwrap();
        assert_eq!(b.canonical(), c.canonical());
    }
}
