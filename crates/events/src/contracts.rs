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

/// A queue a service consumes: `<service>.<purpose>` and the events bound to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queue {
    pub name: &'static str,
    pub bindings: &'static [&'static str],
}

impl Queue {
    /// The consuming service: the name's first part.
    pub fn service(&self) -> &'static str {
        self.name.split('.').next().unwrap_or(self.name)
    }
}

/// Every queue the services consume, with its bindings: the deployment's topology. The broker
/// definitions (`deploy/rabbitmq/definitions.json`) declare each of them, with its retry and
/// dead-letter queues and its bindings, before any service starts, so an event published
/// before its consumer first ran waits in its queue. `deploy/rabbitmq/check-definitions.py`
/// checks the definitions, and each service's consumer constants, against this list.
pub const QUEUES: &[Queue] = &[
    Queue {
        name: "auth.audit",
        bindings: &["audit.recorded"],
    },
    // The FS Coin balance auth shows on the user (the highest ledger sequence wins).
    Queue {
        name: "auth.rewards",
        bindings: &["rewards.changed"],
    },
    Queue {
        name: "catalog.orders",
        bindings: &["order.submitted", "order.cancelled", "order.delivered"],
    },
    Queue {
        name: "orders.read_models",
        bindings: &[
            "delivery.eta_updated",
            "product.upserted",
            "product.deleted",
            "user.registered",
            "user.profile_updated",
            "user.id_verification_submitted",
            "user.id_verification_decided",
            "user.role_changed",
            "user.status_changed",
        ],
    },
    Queue {
        name: "orders.saga",
        bindings: &[
            "stock.reserved",
            "stock.rejected",
            "payment.succeeded",
            "payment.failed",
            "payment.action_required",
            "payment.refunded",
        ],
    },
    Queue {
        name: "payments.orders",
        bindings: &[
            "order.submitted",
            "order.payment_requested",
            "order.cancelled",
            "order.delivered",
        ],
    }, // What realtime pushes to clients' sockets; it has no database, so no inbox
    // (`events::LiveConsumer`).
    Queue {
        name: "realtime.events",
        bindings: &["order.status_changed"],
    },
];

/// The queue called `name` in [`QUEUES`].
pub fn queue(name: &str) -> Option<&'static Queue> {
    QUEUES.iter().find(|queue| queue.name == name)
}

/// Whether some queue of [`QUEUES`] is bound to the event called `name`. An event none is
/// bound to has no consumer in this deployment yet (the catalog names services still to be
/// built), so the broker returning it as unroutable loses nothing.
pub fn consumed(name: &str) -> bool {
    QUEUES.iter().any(|queue| queue.bindings.contains(&name))
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

    /// Every queue binds events of the catalog that name its service a consumer, and each
    /// queue is named once.
    #[test]
    fn every_queue_binds_events_its_service_consumes() {
        let readme = include_str!("../../../proto/README.md");
        let table = readme
            .split("## Event catalog")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap();
        let consumers: std::collections::BTreeMap<&str, Vec<&str>> = table
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
                let consumers = cells
                    .get(4)?
                    .split(',')
                    .map(|consumer| consumer.split(" (").next().unwrap_or_default().trim())
                    .collect();
                Some((name, consumers))
            })
            .collect();
        let mut names: Vec<&str> = QUEUES.iter().map(|queue| queue.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), QUEUES.len(), "queue names are unique");
        for queue in QUEUES {
            assert!(!queue.bindings.is_empty(), "{} binds something", queue.name);
            for event in queue.bindings {
                assert!(
                    consumers[event].contains(&queue.service()),
                    "the catalog names {} a consumer of {event} ({})",
                    queue.service(),
                    queue.name
                );
            }
        }
        assert!(consumed("order.submitted"));
        assert!(consumed("order.status_changed"), "realtime pushes it");
        assert!(
            !consumed("delivery.arriving"),
            "no service of ours consumes it yet"
        );
        assert_eq!(queue("orders.saga").map(Queue::service), Some("orders"));
    }
}
