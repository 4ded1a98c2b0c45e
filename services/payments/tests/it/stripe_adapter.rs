//! The Stripe adapter against a local stub that answers with Stripe's JSON and records what
//! the adapter sent: form encoding, the `Idempotency-Key`, the secret key as a bearer token,
//! and how declines and missing resources come back.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use payments::provider::stripe::StripeProvider;
use payments::provider::{
    IntentRequest, IntentStatus, MethodSource, PaymentProvider, ProviderError,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

const KEY: &str = "sk_test_stub";

/// One request the adapter made.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    form: HashMap<String, String>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

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

async fn stub(req: HttpRequest, body: web::Bytes, log: web::Data<Log>) -> HttpResponse {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let path = req.path().to_owned();
    log.lock().unwrap().push(Seen {
        method: req.method().to_string(),
        path: path.clone(),
        headers,
        form: form.clone(),
    });
    let amount: i64 = form.get("amount").and_then(|a| a.parse().ok()).unwrap_or(0);
    match path.as_str() {
        "/v1/customers" if req.method() == actix_web::http::Method::GET => HttpResponse::Ok()
            .json(json!({ "object": "list", "data": [customer()], "has_more": false, "url": "/v1/customers" })),
        "/v1/customers" => HttpResponse::Ok().json(customer()),
        "/v1/payment_methods" => HttpResponse::Ok().json(payment_method("pm_wallet1", "visa", "4242")),
        "/v1/payment_methods/pm_card_visa/attach" | "/v1/payment_methods/pm_wallet1/attach" => {
            HttpResponse::Ok().json(payment_method("pm_stub1", "visa", "4242"))
        }
        "/v1/payment_methods/pm_gone/detach" => HttpResponse::NotFound().json(json!({ "error": {
            "type": "invalid_request_error", "code": "resource_missing", "param": "payment_method",
            "message": "No such PaymentMethod: 'pm_gone'" } })),
        "/v1/payment_intents" if amount == 666 => {
            let error = json!({ "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
                "message": "Your card has insufficient funds." });
            let mut body = json!({ "error": error.clone() });
            body["error"]["payment_intent"] = payment_intent("pi_declined", "requires_payment_method", amount, error);
            HttpResponse::PaymentRequired().json(body)
        }
        "/v1/payment_intents" if amount == 777 => HttpResponse::Ok().json(payment_intent("pi_3ds", "requires_action", amount, Value::Null)),
        "/v1/payment_intents" => HttpResponse::Ok().json(payment_intent("pi_ok", "succeeded", amount, Value::Null)),
        "/v1/refunds" => HttpResponse::Ok().json(json!({
            "id": "re_stub1", "object": "refund", "amount": amount, "created": 1_764_000_000, "currency": "usd",
            "payment_intent": form.get("payment_intent"), "status": "succeeded", "metadata": {} })),
        _ => HttpResponse::InternalServerError().json(json!({ "error": { "type": "api_error", "message": "stub" } })),
    }
}

async fn spawn_stub() -> (String, Log) {
    let log: Log = Arc::default();
    let data = web::Data::new(Arc::clone(&log));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(stub))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}/"), log)
}

fn last(log: &Log, path: &str) -> Seen {
    log.lock()
        .unwrap()
        .iter()
        .rev()
        .find(|s| s.path == path)
        .cloned()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_adapter_speaks_stripes_api() {
    let (base, log) = spawn_stub().await;
    let stripe = StripeProvider::new(KEY, Some(&base)).unwrap();
    let user = domain::UserId::new();

    let customer = stripe.create_customer(user).await.unwrap();
    assert_eq!(customer, "cus_stub1");
    let seen = last(&log, "/v1/customers");
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
        last(&log, "/v1/payment_methods/pm_card_visa/attach").form["customer"],
        "cus_stub1"
    );

    // A wallet token becomes a card PaymentMethod, then is attached.
    stripe
        .attach_payment_method(&customer, &MethodSource::WalletToken("tok_visa".into()))
        .await
        .unwrap();
    let created = last(&log, "/v1/payment_methods");
    assert_eq!(
        (
            created.form["type"].as_str(),
            created.form["card[token]"].as_str()
        ),
        ("card", "tok_visa")
    );
    assert_eq!(
        last(&log, "/v1/payment_methods/pm_wallet1/attach").form["customer"],
        "cus_stub1"
    );

    let order = Uuid::new_v4();
    let request = |amount: i64, key: &'static str| IntentRequest {
        amount_cents: amount,
        customer: "cus_stub1",
        payment_method: Some("pm_stub1"),
        confirm: payments::provider::Confirm::Now,
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
    let seen = last(&log, "/v1/payment_intents");
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
    let seen = last(&log, "/v1/refunds");
    assert_eq!(
        (
            seen.form["amount"].as_str(),
            seen.form["payment_intent"].as_str()
        ),
        ("1000", "pi_ok")
    );
    assert_eq!(seen.headers["idempotency-key"], "refund:p:0");

    stripe.ping().await.unwrap();
    assert_eq!(last(&log, "/v1/customers").form.len(), 0);

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
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

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
