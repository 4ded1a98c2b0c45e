//! A customer's way through the services' own APIs: registering at auth, an ID an admin
//! approves, a saved card at payments, an address, a cart and a checkout at orders. A checkout
//! is retried with its `Idempotency-Key` while orders does not answer, as a client would.

use crate::services::Endpoint;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

/// How long one step may take (the machine is shared with the other tests).
pub const STEP: Duration = Duration::from_secs(60);

pub const PASSWORD: &str = "Fault-Test-1!";

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: Uuid,
    pub token: String,
    pub card: Uuid,
    pub address: Uuid,
}

/// A request that must answer `expected`; returns the JSON body.
pub async fn call(request: reqwest::RequestBuilder, expected: u16, what: &str) -> Value {
    let response = request
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{what}: {err}"));
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, expected, "{what}: {body}");
    body
}

/// Signs in at auth; returns the access token.
pub async fn login(
    client: &reqwest::Client,
    auth: &Endpoint,
    email: &str,
    password: &str,
) -> String {
    let body = json!({ "email": email, "password": password });
    let session = call(
        client.post(auth.url("/api/auth/login")).json(&body),
        200,
        "login",
    )
    .await;
    session["accessToken"].as_str().unwrap().to_owned()
}

/// A tiny but real PNG (auth recognises documents by their content).
fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    bytes.extend(std::iter::repeat_n(0u8, 1024));
    bytes
}

/// A customer registered at auth, their ID approved by `admin`, a card saved at payments and
/// an address in Austin saved at orders (which must know the customer's approval first).
#[allow(clippy::too_many_arguments)]
pub async fn customer(
    client: &reqwest::Client,
    auth: &Endpoint,
    orders: &Endpoint,
    payments: &Endpoint,
    admin: &str,
    run: &str,
    n: usize,
) -> Customer {
    let email = format!("shopper-{n}-{run}@example.com");
    let body = json!({
        "fullName": format!("Shopper {n}"),
        "email": email,
        "password": PASSWORD,
        "phone": "(512) 555-0134",
        "dateOfBirth": "1996-03-14",
    });
    let session = call(
        client.post(auth.url("/api/auth/register")).json(&body),
        201,
        "register",
    )
    .await;
    let id: Uuid = session["user"]["id"].as_str().unwrap().parse().unwrap();
    let token = session["accessToken"].as_str().unwrap().to_owned();

    let form = Form::new()
        .part(
            "idDocument",
            Part::bytes(png())
                .file_name("id.png")
                .mime_str("image/png")
                .unwrap(),
        )
        .text("documentType", "drivers_license");
    let submitted = call(
        client
            .post(auth.url("/api/users/id-verification"))
            .bearer_auth(&token)
            .multipart(form),
        201,
        "submit an ID",
    )
    .await;
    let verification = submitted["id"].as_str().unwrap();
    call(
        client
            .post(auth.url(&format!(
                "/api/admin/id-verifications/{verification}/approve"
            )))
            .bearer_auth(admin),
        200,
        "approve the ID",
    )
    .await;

    let card = json!({ "type": "card", "stripePaymentMethodId": "pm_card_visa" });
    let saved = call(
        client
            .post(payments.url("/api/payments/methods"))
            .bearer_auth(&token)
            .json(&card),
        201,
        "save a card",
    )
    .await;
    let card: Uuid = saved["id"].as_str().unwrap().parse().unwrap();

    let address = json!({
        "name": "Home", "addressLine1": "1100 Congress Ave", "city": "Austin", "state": "TX",
        "zipCode": "78701", "addressType": "home", "deliveryInstructions": "Ring twice",
    });
    let saved = call(
        client
            .post(orders.url("/api/users/addresses"))
            .bearer_auth(&token)
            .json(&address),
        201,
        "save an address",
    )
    .await;
    let address: Uuid = saved["id"].as_str().unwrap().parse().unwrap();
    Customer {
        id,
        token,
        card,
        address,
    }
}

/// Puts one package of `product` in the customer's cart.
pub async fn fill_cart(
    client: &reqwest::Client,
    orders: &Endpoint,
    customer: &Customer,
    product: Uuid,
) {
    let cart = json!({ "productId": product, "quantity": 1 });
    call(
        client
            .post(orders.url("/api/cart/add"))
            .bearer_auth(&customer.token)
            .json(&cart),
        200,
        "add to the cart",
    )
    .await;
}

/// Checks the cart out with the customer's card under `key`; while orders does not answer
/// (killed, restarting) or answers 5xx, tries again with the same key, as a client would: an
/// order that was placed before the answer was lost comes back instead of a second one.
/// Returns the order id.
pub async fn checkout(
    client: &reqwest::Client,
    orders: &Endpoint,
    customer: &Customer,
    key: Uuid,
) -> Uuid {
    let checkout = json!({
        "deliveryAddressId": customer.address,
        "paymentMethodId": customer.card,
        "pointsToRedeem": 0,
    });
    testkit::wait_for_value("a checkout orders accepts", STEP, || async {
        let response = client
            .post(orders.url("/api/orders"))
            .bearer_auth(&customer.token)
            .header("Idempotency-Key", key.to_string())
            .json(&checkout)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .ok()?;
        let status = response.status().as_u16();
        if status >= 500 {
            return None;
        }
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(
            matches!(status, 200 | 201),
            "checkout answered {status}: {body}"
        );
        Some(body["id"].as_str().unwrap().parse().unwrap())
    })
    .await
}

/// The order as its customer sees it.
pub async fn order_view(
    client: &reqwest::Client,
    orders: &Endpoint,
    customer: &Customer,
    order: Uuid,
) -> Option<Value> {
    let response = client
        .get(orders.url(&format!("/api/orders/{order}")))
        .bearer_auth(&customer.token)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    (response.status() == 200).then_some(())?;
    response.json().await.ok()
}
