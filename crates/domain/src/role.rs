//! [`Role`]: what a user may do, carried in access tokens and stored on the user.

string_enum! {
    /// A user's role. One per user; admins grant roles (see DESIGN §2).
    pub enum Role (field = "role") {
        /// Browses, orders, pays and chats with support.
        Customer => "customer",
        /// Picks up and delivers assigned orders, checks ID at the door.
        Driver => "driver",
        /// Support agent: answers tickets and moves orders through preparation.
        Agent => "agent",
        /// Manages catalog, users, roles, verifications and reports.
        Admin => "admin",
    }
}

impl Role {
    /// Whether the role works for the business from a console (agent or admin): staff see
    /// every customer's orders and tickets. Drivers are not staff; they see only orders
    /// assigned to them.
    #[must_use]
    pub const fn is_staff(self) -> bool {
        matches!(self, Self::Agent | Self::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_forms_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), *role);
            assert_eq!(role.to_string(), role.as_str());
            let json = serde_json::to_value(role).unwrap();
            assert_eq!(json, serde_json::json!(role.as_str()));
            assert_eq!(serde_json::from_value::<Role>(json).unwrap(), *role);
        }
        assert_eq!(Role::ALL.len(), 4);
    }

    #[test]
    fn parsing_is_exact_and_names_the_choices() {
        let error = "Admin".parse::<Role>().unwrap_err();
        assert_eq!(error.field(), Some("role"));
        assert_eq!(
            error.messages(),
            ["`Admin` is not one of `customer`, `driver`, `agent`, `admin`"]
        );
        assert!("".parse::<Role>().is_err());
        assert!(serde_json::from_str::<Role>("\"superuser\"").is_err());
    }

    #[test]
    fn only_agents_and_admins_are_staff() {
        assert!(!Role::Customer.is_staff());
        assert!(!Role::Driver.is_staff());
        assert!(Role::Agent.is_staff());
        assert!(Role::Admin.is_staff());
    }

    #[test]
    fn schema_lists_the_wire_names() {
        let schema = serde_json::to_value(<Role as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(
            schema["enum"],
            serde_json::json!(["customer", "driver", "agent", "admin"])
        );
    }
}
