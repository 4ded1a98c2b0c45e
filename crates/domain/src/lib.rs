//! Shared domain vocabulary of Faded Skies: typed ids, [`Money`], roles, order statuses,
//! parsed input types and the one HTTP error type, [`Problem`].
//!
//! Every service depends on this crate, so it holds only what two or more services must agree
//! on. Input types follow "parse, don't validate": each is a newtype with a private field that
//! can only be built by its `parse` function, so a value of the type is proof that the rules
//! held. Errors that reach a client are always a [`Problem`] (RFC 9457
//! `application/problem+json`) with a stable [`Code`].

#[macro_use]
mod macros;

pub mod ids;
pub mod input;
pub mod money;
pub mod order_status;
pub mod pagination;
pub mod problem;
pub mod role;

pub use ids::{
    AddressId, CategoryId, EventId, IdVerificationId, MessageId, OrderId, PaymentId,
    PaymentMethodId, ProductId, ReviewId, TicketId, UserId,
};
pub use input::{
    AddressLine, BoundedText, City, DateOfBirth, Email, FieldError, FreeText, FullName,
    Instructions, Label, ParseError, Password, PhoneNumber, UsState, UsZip, Validation, age_on,
};
pub use money::Money;
pub use order_status::{InvalidTransition, OrderStatus, PaymentStatus, StockStatus};
pub use pagination::{Listed, Page, Pagination, PaginationQuery};
pub use problem::{Code, Problem, ProblemBody};
pub use role::Role;

#[cfg(test)]
mod sql_mapping_tests {
    //! The diesel mappings can only run against PostgreSQL (service tests do that); these
    //! tests make the compiler prove that each type binds and loads as its column type.

    use diesel::pg::Pg;
    use diesel::prelude::*;

    use super::*;

    diesel::table! {
        orders (id) {
            id -> Uuid,
            customer_id -> Uuid,
            total -> Numeric,
            status -> Text,
            payment_status -> Text,
            stock_status -> Text,
            placed_by -> Text,
        }
    }

    #[derive(Queryable, Selectable, Insertable)]
    #[diesel(table_name = orders, check_for_backend(Pg))]
    struct OrderRow {
        id: OrderId,
        customer_id: UserId,
        total: Money,
        status: OrderStatus,
        payment_status: PaymentStatus,
        stock_status: StockStatus,
        placed_by: Role,
    }

    #[test]
    fn typed_columns_build_queries() {
        let row = OrderRow {
            id: OrderId::new(),
            customer_id: UserId::new(),
            total: Money::from_cents(2499).unwrap(),
            status: OrderStatus::Pending,
            payment_status: PaymentStatus::Pending,
            stock_status: StockStatus::Pending,
            placed_by: Role::Customer,
        };
        let insert = diesel::insert_into(orders::table).values(&row);
        let sql = diesel::debug_query::<Pg, _>(&insert).to_string();
        assert!(sql.starts_with("INSERT INTO \"orders\""), "{sql}");
        assert!(sql.contains("cents: 2499"), "{sql}");

        let select = orders::table
            .filter(orders::status.eq(OrderStatus::OutForDelivery))
            .filter(orders::total.ge(Money::zero()))
            .select(OrderRow::as_select());
        let sql = diesel::debug_query::<Pg, _>(&select).to_string();
        assert!(sql.contains("OutForDelivery"), "{sql}");
    }
}
