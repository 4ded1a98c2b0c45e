//! The Stripe adapter against wiremock answering with Stripe's JSON: what the adapter sent
//! (form encoding, the `Idempotency-Key`, the secret key as a bearer token) and how declines,
//! missing resources and outages come back.

use payments::provider::stripe::StripeProvider;
use payments::provider::{
    Confirm, IntentRequest, IntentStatus, MethodSource, PaymentProvider, ProviderError,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub const KEY: &str = "sk_test_stub";

/// One request the adapter made.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub headers: HashMap<String, String>,
    pub form: HashMap<String, String>,
}

fn customer() -> Value {
    json!({ "id": "cus_stub1", "object": "customer", "created": 1_764_000_000, "livemode": false, "metadata": {} })
}

fn payment_method(id: &str, brand: &str, last4: &str) -> Value {
    json!({
        "id": id, "object": "payment_method", "created": 1_764_000_000, "livemode": false, "type": "card",
        "customer": "cus_stub1",
        "billing_details": { "address": null, "email": null, "name": null, "phone": null, "tax_id": null },
        "card": { "brand": brand, "exp_month": 12, "exp_year": 2034, "funding": "credit", "last4": last4,
            "country": "US", "fingerprint": "Xt5EWLLDS7FJjR1c", "checks": null, "wallet": null, "networks": null,
            "three_d_secure_usage": { "supported": true }, "generated_from": null, "display_brand": brand,
            "regulated_status": "unregulated" },
        "metadata": {}
    })
}

fn payment_intent(id: &str, status: &str, amount: i64, last_error: Value) -> Value {
    json!({
        "id": id, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
        "amount_received": if status == "succeeded" { amount } else { 0 },
        "capture_method": "automatic", "confirmation_method": "automatic", "created": 1_764_000_000,
        "currency": "usd", "customer": "cus_stub1", "livemode": false, "metadata": { "order_id": "o" },
        "client_secret": format!("{id}_secret_abc"), "payment_method": "pm_stub1",
        "payment_method_types": ["card"], "status": status, "last_payment_error": last_error,
        "next_action": null
    })
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// Stripe as the adapter meets it: each endpoint it calls, declines by amount (666 declined,
/// 777 waits for 3-D Secure), a missing method, and a 500 for anything else.
pub async fn stripe() -> MockServer {
    let server = MockServer::start().await;
    let decline = json!({ "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds." });
    let mut declined = json!({ "error": decline.clone() });
    declined["error"]["payment_intent"] =
        payment_intent("pi_declined", "requires_payment_method", 666, decline);
    let mocks = [
        Mock::given(method("GET")).and(path("/v1/customers")).respond_with(ok(
            json!({ "object": "list", "data": [customer()], "has_more": false, "url": "/v1/customers" }),
        )),
        Mock::given(method("POST")).and(path("/v1/customers")).respond_with(ok(customer())),
        Mock::given(method("POST"))
            .and(path("/v1/payment_methods"))
            .respond_with(ok(payment_method("pm_wallet1", "visa", "4242"))),
        Mock::given(method("POST"))
            .and(path("/v1/payment_methods/pm_card_visa/attach"))
            .respond_with(ok(payment_method("pm_stub1", "visa", "4242"))),
        Mock::given(method("POST"))
            .and(path("/v1/payment_methods/pm_wallet1/attach"))
            .respond_with(ok(payment_method("pm_stub1", "visa", "4242"))),
        Mock::given(method("POST")).and(path("/v1/payment_methods/pm_gone/detach")).respond_with(
            ResponseTemplate::new(404).set_body_json(json!({ "error": {
                "type": "invalid_request_error", "code": "resource_missing", "param": "payment_method",
                "message": "No such PaymentMethod: 'pm_gone'" } })),
        ),
        Mock::given(method("POST"))
            .and(path("/v1/payment_intents"))
            .and(body_string_contains("amount=666"))
            .respond_with(ResponseTemplate::new(402).set_body_json(declined)),
        Mock::given(method("POST"))
            .and(path("/v1/payment_intents"))
            .and(body_string_contains("amount=777"))
            .respond_with(ok(payment_intent("pi_3ds", "requires_action", 777, Value::Null))),
        Mock::given(method("POST"))
            .and(path("/v1/payment_intents"))
            .respond_with(ok(payment_intent("pi_ok", "succeeded", 4599, Value::Null))),
        Mock::given(method("POST")).and(path("/v1/refunds")).respond_with(ok(json!({
            "id": "re_stub1", "object": "refund", "amount": 1000, "created": 1_764_000_000, "currency": "usd",
            "payment_intent": "pi_ok", "status": "succeeded", "metadata": {} }))),
    ];
    for (priority, mock) in mocks.into_iter().enumerate() {
        // The first mock that matches answers: specific amounts before the catch-all.
        mock.with_priority(u8::try_from(priority + 1).unwrap())
            .mount(&server)
            .await;
    }
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({ "error": { "type": "api_error", "message": "stub" } })),
        )
        .with_priority(100)
        .mount(&server)
        .await;
    server
}

fn seen(request: &Request) -> Seen {
    Seen {
        method: request.method.to_string(),
        headers: request
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        form: url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect(),
    }
}

/// The last request to `path`.
pub async fn last(server: &MockServer, path: &str) -> Seen {
    let requests = server.received_requests().await.unwrap();
    seen(
        requests
            .iter()
            .rev()
            .find(|r| r.url.path() == path)
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_adapter_speaks_stripes_api() {
    let server = stripe().await;
    let stripe = StripeProvider::new(KEY, Some(&format!("{}/", server.uri()))).unwrap();
    let user = domain::UserId::new();

    let customer = stripe.create_customer(user).await.unwrap();
    assert_eq!(customer, "cus_stub1");
    let seen = last(&server, "/v1/customers").await;
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.headers["authorization"], format!("Bearer {KEY}"));
    assert_eq!(
        seen.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(seen.headers["idempotency-key"], format!("customer:{user}"));
    assert_eq!(seen.form["metadata[userId]"], user.to_string());

    let attached = stripe
        .attach_payment_method(
            &customer,
            &MethodSource::PaymentMethod("pm_card_visa".into()),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            attached.id.as_str(),
            attached.card.brand.as_str(),
            attached.card.last_four.as_str()
        ),
        ("pm_stub1", "visa", "4242")
    );
    assert_eq!(
        last(&server, "/v1/payment_methods/pm_card_visa/attach")
            .await
            .form["customer"],
        "cus_stub1"
    );

    // A wallet token becomes a card PaymentMethod, then is attached.
    stripe
        .attach_payment_method(&customer, &MethodSource::WalletToken("tok_visa".into()))
        .await
        .unwrap();
    let created = last(&server, "/v1/payment_methods").await;
    assert_eq!(
        (
            created.form["type"].as_str(),
            created.form["card[token]"].as_str()
        ),
        ("card", "tok_visa")
    );
    assert_eq!(
        last(&server, "/v1/payment_methods/pm_wallet1/attach")
            .await
            .form["customer"],
        "cus_stub1"
    );

    let order = Uuid::new_v4();
    let request = |amount: i64, key: &'static str| IntentRequest {
        amount_cents: amount,
        customer: "cus_stub1",
        payment_method: Some("pm_stub1"),
        confirm: Confirm::Now,
        idempotency_key: key,
        order_id: domain::OrderId::from(order),
    };
    let paid = stripe
        .create_payment_intent(&request(4599, "order-1:1"))
        .await
        .unwrap();
    assert_eq!(
        (paid.id.as_str(), &paid.status),
        ("pi_ok", &IntentStatus::Succeeded)
    );
    let seen = last(&server, "/v1/payment_intents").await;
    assert_eq!(seen.headers["idempotency-key"], "order-1:1");
    assert_eq!(seen.form["amount"], "4599");
    assert_eq!(seen.form["currency"], "usd");
    assert_eq!(seen.form["confirm"], "true");
    assert_eq!(seen.form["customer"], "cus_stub1");
    assert_eq!(seen.form["payment_method"], "pm_stub1");
    assert_eq!(seen.form["payment_method_types[0]"], "card");
    assert_eq!(seen.form["metadata[order_id]"], order.to_string());

    let declined = stripe
        .create_payment_intent(&request(666, "order-2:1"))
        .await
        .unwrap();
    assert_eq!(declined.id, "pi_declined");
    assert_eq!(
        declined.status,
        IntentStatus::Failed {
            decline_code: "insufficient_funds".into(),
            message: "Your card has insufficient funds.".into()
        }
    );
    let waiting = stripe
        .create_payment_intent(&request(777, "order-3:1"))
        .await
        .unwrap();
    assert_eq!(
        (waiting.status, waiting.client_secret.as_str()),
        (IntentStatus::RequiresAction, "pi_3ds_secret_abc")
    );

    let refund = stripe.refund("pi_ok", 1000, "refund:p:0").await.unwrap();
    assert_eq!(refund, "re_stub1");
    let seen = last(&server, "/v1/refunds").await;
    assert_eq!(
        (
            seen.form["amount"].as_str(),
            seen.form["payment_intent"].as_str()
        ),
        ("1000", "pi_ok")
    );
    assert_eq!(seen.headers["idempotency-key"], "refund:p:0");

    stripe.ping().await.unwrap();
    assert_eq!(last(&server, "/v1/customers").await.form.len(), 0);

    // Detaching one already gone is fine; a Stripe outage is not the client's fault.
    stripe.detach_payment_method("pm_gone").await.unwrap();
    let outage = stripe
        .cancel_payment_intent("pi_unknown_path")
        .await
        .unwrap_err();
    assert!(
        matches!(outage, ProviderError::Unavailable(_)),
        "{outage:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_past_the_cap_is_refused_unread() {
    use payments::provider::stripe_client::{CappedClient, MAX_ANSWER_BYTES};
    use wiremock::matchers::header;

    // A customer Stripe could have sent, padded past the cap (JSON allows the spaces).
    let mut padded = customer().to_string();
    padded.push_str(&" ".repeat(MAX_ANSWER_BYTES));
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_raw(padded, "application/json"))
        .expect(2)
        .mount(&server)
        .await;
    let base = format!("{}/", server.uri());
    let stripe = StripeProvider::new(KEY, Some(&base)).unwrap();
    let refused = stripe
        .create_customer(domain::UserId::new())
        .await
        .unwrap_err();
    let ProviderError::Unavailable(message) = &refused else {
        panic!("{refused:?}");
    };
    assert!(message.contains("more than"), "{message}");

    // With a larger cap the same answer is read: the cap, not the answer, refused it.
    let roomy = CappedClient::new(KEY, Some(&base))
        .unwrap()
        .with_max_answer_bytes(2 * MAX_ANSWER_BYTES);
    let customer = StripeProvider::with_client(roomy)
        .create_customer(domain::UserId::new())
        .await
        .unwrap();
    assert_eq!(customer, "cus_stub1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_unreachable_leaves_payments_ready_and_degraded() {
    // A port nothing listens on: every call to "Stripe" is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let app = crate::helpers::TestApp::spawn_with(&[
        ("PAYMENT_PROVIDER", "stripe"),
        ("STRIPE_SECRET_KEY", KEY),
        ("STRIPE_API_BASE", &base),
    ])
    .await;
    let health = app
        .call(reqwest::Method::GET, "/health", None, None, 200)
        .await;
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["checks"]["payment_provider"]["status"], "degraded");
    assert!(health["checks"]["payment_provider"]["error"].is_string());
    assert_eq!(health["checks"]["database"]["status"], "healthy");
}
