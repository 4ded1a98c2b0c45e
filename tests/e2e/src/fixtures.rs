//! The steps of a scenario through the services' own APIs (and events, for auth), and reads
//! of each service's state to assert on: stock in catalog, payments and points in payments,
//! orders in orders.

use crate::{AUSTIN_ZIP, CUSTOMER_DOB, PRODUCT_NAME, System};
use chrono::Utc;
use domain::{Role, UserId};
use events::{timestamp, v1};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

/// How long a saga step may take before a test gives up (generous: the tests share two cores).
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A user orders' read model knows, with a token every service accepts.
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub token: String,
}

/// A verified customer with a saved card (payments) and a primary address in Austin (orders).
#[derive(Debug, Clone)]
pub struct Shopper {
    pub id: Uuid,
    pub token: String,
    pub address: Uuid,
    /// Payments' id of the saved card.
    pub card: Uuid,
}

/// A product's stock in catalog's own table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::QueryableByName)]
pub struct Stock {
    /// Packages on hand.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub stock_quantity: i32,
    /// Packages held by open reservations.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub reserved_quantity: i32,
}

impl Stock {
    pub const fn new(stock_quantity: i32, reserved_quantity: i32) -> Self {
        Self {
            stock_quantity,
            reserved_quantity,
        }
    }
}

/// `user.registered` as auth announces an approved, active user.
pub fn registered(id: Uuid, role: Role, date_of_birth: &str) -> v1::UserRegistered {
    v1::UserRegistered {
        user_id: id.to_string(),
        user: Some(v1::UserState {
            version: 1,
            email: format!("{}@example.com", id.simple()),
            full_name: "Jamie Rivera".into(),
            phone: String::new(),
            date_of_birth: date_of_birth.into(),
            role: events::audit::proto_role(role) as i32,
            id_verification_status: v1::IdVerificationStatus::Approved as i32,
            account_status: v1::AccountStatus::Active as i32,
        }),
        registered_at: Some(timestamp(Utc::now())),
    }
}

/// An order's id from an order in JSON.
pub fn id_of(order: &Value) -> String {
    order["id"].as_str().expect("an order id").to_owned()
}

/// Money in the API ("45.61") as cents.
pub fn cents(money: &Value) -> i64 {
    let text = money.as_str().expect("a decimal string");
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    whole.parse::<i64>().unwrap() * 100 + format!("{fraction:0<2}")[..2].parse::<i64>().unwrap()
}

impl System {
    /// A token for `id` with `role`, ID verified.
    pub fn token(&self, id: Uuid, role: Role) -> String {
        self.tokens
            .sign(&self.tokens.claims(UserId::from(id), role, true))
    }

    /// Announces a new user as auth would (does not wait for orders' read model).
    pub async fn announce_user(&self, role: Role, date_of_birth: &str) -> User {
        let id = Uuid::new_v4();
        self.publish(&registered(id, role, date_of_birth), None)
            .await;
        User {
            id,
            token: self.token(id, role),
        }
    }

    /// A new user orders' read model holds.
    pub async fn user(&self, role: Role, date_of_birth: &str) -> User {
        let user = self.announce_user(role, date_of_birth).await;
        let sql = format!("SELECT count(*) AS n FROM users WHERE id = '{}'", user.id);
        testkit::wait_for("the user in orders' read model", DEADLINE, || async {
            self.orders.count(&sql).await > 0
        })
        .await;
        user
    }

    /// A new category in catalog, through its admin API.
    pub async fn category(&self) -> Uuid {
        let slug = format!("flower-{}", &Uuid::new_v4().simple().to_string()[..8]);
        let body = json!({ "name": "Flower", "slug": slug });
        let created = self
            .call(
                &self.catalog,
                Method::POST,
                "/api/admin/categories",
                Some(&body),
                Some(&self.admin),
                201,
            )
            .await;
        created["id"].as_str().unwrap().parse().unwrap()
    }

    /// A $40.00 flower product with `stock` on hand, created in catalog; returns once orders'
    /// read model (fed by catalog's `product.upserted`) offers it.
    pub async fn product(&self, stock: i64) -> Uuid {
        let category = self.category().await;
        let body = json!({
            "categoryId": category,
            "name": PRODUCT_NAME,
            "description": "Sweet berry hybrid.",
            "price": "40.00",
            "productType": "flower",
            "netWeightGrams": 3.5,
            "thc": "20%",
            "strainType": "hybrid",
            "effects": ["relaxed"],
            "labTested": true,
            "packageLabel": "1A4000000000000000001234",
            "stockQuantity": stock,
        });
        let created = self
            .call(
                &self.catalog,
                Method::POST,
                "/api/admin/products",
                Some(&body),
                Some(&self.admin),
                201,
            )
            .await;
        let id: Uuid = created["product"]["id"].as_str().unwrap().parse().unwrap();
        self.wait_for_listing(id, stock).await;
        id
    }

    /// Waits until orders' read model offers `available` packages of `product`.
    pub async fn wait_for_listing(&self, product: Uuid, available: i64) {
        let sql = format!(
            "SELECT count(*) AS n FROM products WHERE id = '{product}' AND active AND available_quantity = {available}"
        );
        testkit::wait_for(
            &format!("orders' read model to offer {available} of {product}"),
            DEADLINE,
            || async { self.orders.count(&sql).await > 0 },
        )
        .await;
    }

    /// Saves a Stripe test payment method (`pm_card_visa`, ...) at payments; returns its id.
    pub async fn save_card(&self, token: &str, payment_method: &str) -> Uuid {
        let body = json!({ "type": "card", "stripePaymentMethodId": payment_method });
        let saved = self
            .call(
                &self.payments,
                Method::POST,
                "/api/payments/methods",
                Some(&body),
                Some(token),
                201,
            )
            .await;
        saved["id"].as_str().unwrap().parse().unwrap()
    }

    /// Saves a delivery address in downtown Austin at orders; returns its id.
    pub async fn save_address(&self, token: &str) -> Uuid {
        let body = json!({
            "name": "Home", "addressLine1": "1100 Congress Ave", "city": "Austin", "state": "TX",
            "zipCode": AUSTIN_ZIP, "addressType": "home", "deliveryInstructions": "Ring twice",
        });
        let saved = self
            .call(
                &self.orders,
                Method::POST,
                "/api/users/addresses",
                Some(&body),
                Some(token),
                201,
            )
            .await;
        assert_eq!(saved["serviceArea"]["inServiceArea"], true, "{saved}");
        saved["id"].as_str().unwrap().parse().unwrap()
    }

    /// Card and address for a customer orders already knows.
    pub async fn equip(&self, user: User, payment_method: &str) -> Shopper {
        let card = self.save_card(&user.token, payment_method).await;
        let address = self.save_address(&user.token).await;
        Shopper {
            id: user.id,
            token: user.token,
            address,
            card,
        }
    }

    /// A verified customer (born [`CUSTOMER_DOB`]) paying with `payment_method`.
    pub async fn shopper(&self, payment_method: &str) -> Shopper {
        let user = self.user(Role::Customer, CUSTOMER_DOB).await;
        self.equip(user, payment_method).await
    }

    pub async fn add_to_cart(&self, token: &str, product: Uuid, quantity: u32) -> Value {
        let body = json!({ "productId": product, "quantity": quantity });
        self.call(
            &self.orders,
            Method::POST,
            "/api/cart/add",
            Some(&body),
            Some(token),
            200,
        )
        .await
    }

    /// The checkout request for `shopper`'s address and card.
    pub fn checkout_body(shopper: &Shopper, points: u32) -> Value {
        json!({
            "deliveryAddressId": shopper.address,
            "paymentMethodId": shopper.card,
            "pointsToRedeem": points,
        })
    }

    /// `POST /api/orders` with the cart; returns the order (pending).
    pub async fn checkout(&self, shopper: &Shopper, points: u32) -> Value {
        let body = Self::checkout_body(shopper, points);
        let order = self
            .call(
                &self.orders,
                Method::POST,
                "/api/orders",
                Some(&body),
                Some(&shopper.token),
                201,
            )
            .await;
        assert_eq!(order["status"], "pending", "{order}");
        order
    }

    /// The customer's view of an order.
    pub async fn order(&self, token: &str, order: &str) -> Value {
        let path = format!("/api/orders/{order}");
        self.call(&self.orders, Method::GET, &path, None, Some(token), 200)
            .await
    }

    /// The order once `done` holds for it (the saga runs asynchronously).
    pub async fn wait_for_order(
        &self,
        token: &str,
        order: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let path = format!("/api/orders/{order}");
        testkit::wait_for_value(&format!("order {order}: {what}"), DEADLINE, || async {
            let (_, body) = self
                .send(&self.orders, Method::GET, &path, None, Some(token))
                .await;
            done(&body).then_some(body)
        })
        .await
    }

    pub async fn wait_for_status(&self, token: &str, order: &str, status: &str) -> Value {
        self.wait_for_order(token, order, &format!("status {status}"), |o| {
            o["status"] == status
        })
        .await
    }

    /// Each history entry, oldest first, as `status/stockStatus/paymentStatus` with the
    /// reason in brackets when there is one: `cancelled/reserved/failed (payment_failed)`.
    pub fn history(order: &Value) -> Vec<String> {
        order["statusHistory"]
            .as_array()
            .expect("a status history")
            .iter()
            .map(|h| {
                let entry = format!(
                    "{}/{}/{}",
                    h["status"].as_str().unwrap_or_default(),
                    h["stockStatus"].as_str().unwrap_or_default(),
                    h["paymentStatus"].as_str().unwrap_or_default(),
                );
                match h["reason"].as_str() {
                    Some(reason) => format!("{entry} ({reason})"),
                    None => entry,
                }
            })
            .collect()
    }

    /// Stock on hand and reserved in catalog's table.
    pub async fn stock(&self, product: Uuid) -> Stock {
        use diesel_async::RunQueryDsl;
        let mut conn = self.catalog.conn().await;
        diesel::sql_query("SELECT stock_quantity, reserved_quantity FROM products WHERE id = $1")
            .bind::<diesel::sql_types::Uuid, _>(product)
            .get_result(&mut conn)
            .await
            .unwrap()
    }

    /// Waits until catalog's stock of `product` is `expected`.
    pub async fn wait_for_stock(&self, product: Uuid, expected: Stock) {
        testkit::wait_for(
            &format!("catalog's stock of {product} to be {expected:?}"),
            DEADLINE,
            || async { self.stock(product).await == expected },
        )
        .await;
    }

    /// Packages catalog's admin API says can be ordered.
    pub async fn available(&self, product: Uuid) -> i64 {
        let path = format!("/api/admin/products/{product}");
        let page = self
            .call(
                &self.catalog,
                Method::GET,
                &path,
                None,
                Some(&self.admin),
                200,
            )
            .await;
        page["product"]["availableQuantity"].as_i64().unwrap()
    }

    /// Payments' records of an order's payments (admin API), newest first.
    pub async fn payments_of(&self, order: &str) -> Vec<Value> {
        let path = format!("/api/admin/payments?orderId={order}");
        let list = self
            .call(
                &self.payments,
                Method::GET,
                &path,
                None,
                Some(&self.admin),
                200,
            )
            .await;
        list["payments"].as_array().unwrap().clone()
    }

    /// Waits until payments holds exactly one payment for `order` whose status is `status`.
    pub async fn wait_for_payment(&self, order: &str, status: &str) -> Value {
        testkit::wait_for_value(
            &format!("payments to hold one {status} payment for order {order}"),
            DEADLINE,
            || async {
                let payments = self.payments_of(order).await;
                (payments.len() == 1 && payments[0]["status"] == status)
                    .then(|| payments[0].clone())
            },
        )
        .await
    }

    /// Gives `user` FS Coin points through payments' admin adjustment.
    pub async fn give_points(&self, user: Uuid, points: i64) {
        let body = json!({ "points": points, "reason": "Welcome bonus" });
        let path = format!("/api/admin/rewards/{user}/adjustments");
        self.call(
            &self.payments,
            Method::POST,
            &path,
            Some(&body),
            Some(&self.admin),
            201,
        )
        .await;
    }

    /// The customer's FS Coin balance at payments.
    pub async fn balance(&self, token: &str) -> i64 {
        let rewards = self
            .call(
                &self.payments,
                Method::GET,
                "/api/users/rewards",
                None,
                Some(token),
                200,
            )
            .await;
        rewards["balance"].as_i64().unwrap()
    }

    /// Waits until orders' saga has handled the event `id` (its inbox row committed).
    pub async fn wait_for_handled(&self, id: Uuid) {
        let sql = format!("SELECT count(*) AS n FROM processed_events WHERE event_id = '{id}'");
        testkit::wait_for(
            &format!("orders to handle event {id}"),
            DEADLINE,
            || async { self.orders.count(&sql).await > 0 },
        )
        .await;
    }
}
