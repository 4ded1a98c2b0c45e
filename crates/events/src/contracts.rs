//! The generated event messages and the one table tying each to its routing key.

/// Messages generated from `proto/faded_skies/events/v1`.
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/faded_skies.events.v1.rs"));
}

/// An event message: its routing key (the event name) and its full protobuf type name.
pub trait Event: prost::Message + Default + Send + Sync + 'static {
    /// Routing key and event name, e.g. `order.submitted`.
    const NAME: &'static str;
    /// Full protobuf name, sent as the AMQP `type`, e.g. `faded_skies.events.v1.OrderSubmitted`.
    const TYPE: &'static str;
}

macro_rules! events {
    ($($message:ident => $name:literal,)*) => {
        $(
            impl Event for v1::$message {
                const NAME: &'static str = $name;
                const TYPE: &'static str = concat!("faded_skies.events.v1.", stringify!($message));
            }
        )*

        /// Every event name, in catalog order.
        pub const ALL: &[&str] = &[$($name),*];

        /// The protobuf type name of the event called `name`.
        pub fn type_of(name: &str) -> Option<&'static str> {
            match name {
                $($name => Some(<v1::$message as Event>::TYPE),)*
                _ => None,
            }
        }
    };
}

events! {
    AuditRecorded => "audit.recorded",
    UserRegistered => "user.registered",
    UserPasswordResetRequested => "user.password_reset_requested",
    UserIdVerificationSubmitted => "user.id_verification_submitted",
    UserIdVerificationDecided => "user.id_verification_decided",
    UserProfileUpdated => "user.profile_updated",
    UserRoleChanged => "user.role_changed",
    UserStatusChanged => "user.status_changed",
    ProductUpserted => "product.upserted",
    ProductDeleted => "product.deleted",
    OrderSubmitted => "order.submitted",
    StockReserved => "stock.reserved",
    StockRejected => "stock.rejected",
    OrderPaymentRequested => "order.payment_requested",
    PaymentSucceeded => "payment.succeeded",
    PaymentFailed => "payment.failed",
    PaymentActionRequired => "payment.action_required",
    PaymentRefunded => "payment.refunded",
    OrderStatusChanged => "order.status_changed",
    OrderCancelled => "order.cancelled",
    OrderDelivered => "order.delivered",
    OrderDriverAssigned => "order.driver_assigned",
    RewardsChanged => "rewards.changed",
    DeliveryEtaUpdated => "delivery.eta_updated",
    DeliveryArriving => "delivery.arriving",
    SupportTicketCreated => "support.ticket_created",
    SupportMessageCreated => "support.message_created",
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The naming rule of `proto/README.md`: the message is the routing key in PascalCase.
    fn pascal(name: &str) -> String {
        name.split(['.', '_'])
            .map(|part| {
                let mut chars = part.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn every_name_maps_to_its_pascal_case_message() {
        for name in ALL {
            let ty = type_of(name).unwrap();
            assert_eq!(ty, format!("faded_skies.events.v1.{}", pascal(name)));
        }
    }

    #[test]
    fn names_are_unique_and_unknown_names_have_no_type() {
        let mut names = ALL.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert_eq!(type_of("order.exploded"), None);
    }
}
