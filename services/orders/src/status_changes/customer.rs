//! The customer cancels an order before it is out for delivery (stock is released and the
//! payment refunded through `order.cancelled`).

use super::{Access, CancelReason, cancel, with_order};
use crate::db::orders::OrderRow;
use crate::state::AppState;
use domain::{Code, OrderId, Problem};
use platform::client::Actor;

/// The customer `actor` cancels their order `id`, with an optional note.
pub async fn cancel_order(
    state: &AppState,
    actor: &Actor,
    id: OrderId,
    note: Option<&str>,
) -> Result<OrderRow, Problem> {
    with_order!(
        state,
        id,
        Access::Customer(actor.user_id()),
        |conn, order| {
            let status = order.status;
            if !status.customer_may_cancel() {
                return Err(
                    Problem::new(Code::InvalidStateTransition).with_detail(format!(
                        "An order that is {status} can no longer be cancelled."
                    )),
                );
            }
            cancel(conn, order, actor, CancelReason::CustomerRequested, note).await
        }
    )
}
