//! The generated event messages and the one table tying each to its routing key and to the
//! services the event catalog (`proto/README.md`) names as its producers.

/// Messages generated from `proto/faded_skies/events/v1`.
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/faded_skies.events.v1.rs"));
}

/// An event message: its routing key (the event name), its full protobuf type name and who
/// may publish it.
pub trait Event: prost::Message + Default + Send + Sync + 'static {
    /// Routing key and event name, e.g. `order.submitted`.
    const NAME: &'static str;
    /// Full protobuf name, sent as the AMQP `type`, e.g. `faded_skies.events.v1.OrderSubmitted`.
    const TYPE: &'static str;
    /// The services that publish it, as in the catalog's producer column. A consumer refuses
    /// the event from anyone else (see [`crate::consumer`]), and the broker's definitions
    /// (`deploy/rabbitmq/definitions.json`) let only these services' users publish it.
    const PRODUCERS: &'static [&'static str];
}

macro_rules! events {
    ($($message:ident => $name:literal by [$($producer:literal),+],)*) => {
        $(
            impl Event for v1::$message {
                const NAME: &'static str = $name;
                const TYPE: &'static str = concat!("faded_skies.events.v1.", stringify!($message));
                const PRODUCERS: &'static [&'static str] = &[$($producer),+];
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

        /// The services allowed to publish the event called `name`; `None` for a name the
        /// catalog does not know.
        pub fn producers_of(name: &str) -> Option<&'static [&'static str]> {
            match name {
                $($name => Some(<v1::$message as Event>::PRODUCERS),)*
                _ => None,
            }
        }
    };
}

events! {
    AuditRecorded => "audit.recorded" by ["catalog", "orders", "payments", "tracking", "chat", "notification"],
    UserRegistered => "user.registered" by ["auth"],
    UserPasswordResetRequested => "user.password_reset_requested" by ["auth"],
    UserIdVerificationSubmitted => "user.id_verification_submitted" by ["auth"],
    UserIdVerificationDecided => "user.id_verification_decided" by ["auth"],
    UserProfileUpdated => "user.profile_updated" by ["auth"],
    UserRoleChanged => "user.role_changed" by ["auth"],
    UserStatusChanged => "user.status_changed" by ["auth"],
    UserEmailChanged => "user.email_changed" by ["auth"],
    ProductUpserted => "product.upserted" by ["catalog"],
    ProductDeleted => "product.deleted" by ["catalog"],
    OrderSubmitted => "order.submitted" by ["orders"],
    StockReserved => "stock.reserved" by ["catalog"],
    StockRejected => "stock.rejected" by ["catalog"],
    OrderPaymentRequested => "order.payment_requested" by ["orders"],
    PaymentSucceeded => "payment.succeeded" by ["payments"],
    PaymentFailed => "payment.failed" by ["payments"],
    PaymentActionRequired => "payment.action_required" by ["payments"],
    PaymentRefunded => "payment.refunded" by ["payments"],
    OrderStatusChanged => "order.status_changed" by ["orders"],
    OrderCancelled => "order.cancelled" by ["orders"],
    OrderDelivered => "order.delivered" by ["orders"],
    OrderDriverAssigned => "order.driver_assigned" by ["orders"],
    RewardsChanged => "rewards.changed" by ["payments"],
    DeliveryEtaUpdated => "delivery.eta_updated" by ["tracking"],
    DeliveryArriving => "delivery.arriving" by ["tracking"],
    SupportTicketCreated => "support.ticket_created" by ["chat"],
    SupportMessageCreated => "support.message_created" by ["chat"],
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
        assert_eq!(producers_of("order.exploded"), None);
    }

    /// The producer column of the catalog table in `proto/README.md`, by event name.
    fn catalog_producers() -> std::collections::BTreeMap<String, Vec<String>> {
        let readme = include_str!("../../../proto/README.md");
        let table = readme
            .split("## Event catalog")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap();
        table
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
                let producers = cells
                    .get(3)?
                    .split(',')
                    .map(|producer| producer.trim().to_owned())
                    .collect();
                Some((name.to_owned(), producers))
            })
            .collect()
    }

    /// The code and the catalog name the same producers, so the catalog a reader trusts is the
    /// one consumers enforce.
    #[test]
    fn producers_are_the_catalogs() {
        let catalog = catalog_producers();
        let names: Vec<&str> = catalog.keys().map(String::as_str).collect();
        let mut all = ALL.to_vec();
        all.sort_unstable();
        assert_eq!(names, all, "the catalog and the code list the same events");
        for (name, producers) in &catalog {
            assert_eq!(
                producers_of(name).unwrap(),
                producers.as_slice(),
                "producers of {name}"
            );
        }
    }
}
