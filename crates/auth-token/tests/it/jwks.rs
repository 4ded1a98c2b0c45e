//! Keys from a JWKS served by a real HTTP server, as auth serves it.

use crate::{claims, settings, signer};
use actix_web::{App, HttpResponse, HttpServer, web};
use auth_token::{JwksClient, Signer, TokenError, Verifier, jwk_set};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct JwksServer {
    url: String,
    keys: Arc<Mutex<Vec<Signer>>>,
    hits: Arc<AtomicUsize>,
    handle: actix_web::dev::ServerHandle,
}

impl JwksServer {
    async fn start(initial: Vec<Signer>) -> Self {
        let keys = Arc::new(Mutex::new(initial));
        let hits = Arc::new(AtomicUsize::new(0));
        let (k, h) = (keys.clone(), hits.clone());
        let server = HttpServer::new(move || {
            let (k, h) = (k.clone(), h.clone());
            App::new().route(
                "/.well-known/jwks.json",
                web::get().to(move || {
                    let (k, h) = (k.clone(), h.clone());
                    async move {
                        h.fetch_add(1, Ordering::SeqCst);
                        let keys = k.lock().unwrap();
                        HttpResponse::Ok().json(jwk_set(keys.iter()))
                    }
                }),
            )
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url: format!("http://{addr}/.well-known/jwks.json"),
            keys,
            hits,
            handle,
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_valid_token_is_accepted_through_a_jwks_and_keys_are_cached() {
    let key = signer("k1");
    let token = key.sign(&claims()).unwrap();
    let server = JwksServer::start(vec![key]).await;
    let verifier = Verifier::from_jwks(&settings(), JwksClient::new(&server.url));

    for _ in 0..5 {
        assert!(verifier.verify(&token).await.is_ok());
    }
    assert_eq!(server.hits(), 1, "fetched once, then cached");
    server.handle.stop(false).await;
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_on_first_sight() {
    let old = signer("k1");
    let server = JwksServer::start(vec![old]).await;
    let client = JwksClient::new(&server.url).with_min_refresh_interval(Duration::ZERO);
    let verifier = Verifier::from_jwks(&settings(), client);
    let old_token = server.keys.lock().unwrap()[0].sign(&claims()).unwrap();
    assert!(verifier.verify(&old_token).await.is_ok());

    // Auth rotates: a new key signs, the old one still verifies.
    let new = signer("k2");
    let new_token = new.sign(&claims()).unwrap();
    server.keys.lock().unwrap().push(new);
    assert!(
        verifier.verify(&new_token).await.is_ok(),
        "unknown kid triggers a refresh"
    );
    assert!(verifier.verify(&old_token).await.is_ok());
    assert_eq!(server.hits(), 2);
    server.handle.stop(false).await;
}

#[tokio::test]
async fn refreshes_for_unknown_kids_are_rate_limited() {
    let server = JwksServer::start(vec![signer("k1")]).await;
    let client = JwksClient::new(&server.url).with_min_refresh_interval(Duration::from_secs(60));
    let verifier = Verifier::from_jwks(&settings(), client);

    for i in 0..20 {
        let stranger = signer(&format!("made-up-{i}"));
        let token = stranger.sign(&claims()).unwrap();
        assert_eq!(verifier.verify(&token).await, Err(TokenError::UnknownKey));
    }
    assert_eq!(server.hits(), 1, "twenty unknown kids, one fetch");
    server.handle.stop(false).await;
}

#[tokio::test]
async fn an_unreachable_jwks_is_unavailable_not_invalid() {
    let key = signer("k1");
    let verifier =
        Verifier::from_jwks(&settings(), JwksClient::new("http://127.0.0.1:9/jwks.json"));
    assert_eq!(
        verifier.verify(&key.sign(&claims()).unwrap()).await,
        Err(TokenError::KeysUnavailable)
    );
}

#[tokio::test]
async fn extractors_answer_401_and_403_as_problem_json() {
    use actix_web::test;
    use auth_token::{Admin, AuthUser, Authenticated};
    use domain::Role;

    let key = signer("k1");
    let customer = key.sign(&claims()).unwrap();
    let mut admin_claims = claims();
    admin_claims.role = Role::Admin;
    let admin = key.sign(&admin_claims).unwrap();
    let verifier = web::Data::new(Verifier::from_signers(&settings(), [&key]));
    let app = test::init_service(
        App::new()
            .app_data(verifier)
            .route(
                "/me",
                web::get().to(|user: AuthUser| async move { user.sub.to_string() }),
            )
            .route(
                "/admin",
                web::get().to(|_: Authenticated<Admin>| async { "ok" }),
            ),
    )
    .await;

    let cases = [
        ("/me", None, 401),
        ("/me", Some("Bearer not.a.token".to_owned()), 401),
        ("/me", Some(format!("Bearer {customer}")), 200),
        ("/admin", Some(format!("Bearer {customer}")), 403),
        ("/admin", Some(format!("Bearer {admin}")), 200),
    ];
    for (path, auth, status) in cases {
        let mut req = test::TestRequest::get().uri(path);
        if let Some(auth) = &auth {
            req = req.insert_header(("authorization", auth.as_str()));
        }
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status().as_u16(), status, "{path} {auth:?}");
        if status != 200 {
            let content_type = res
                .headers()
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            assert_eq!(content_type, "application/problem+json");
        }
    }
}

#[tokio::test]
async fn an_oversized_jwks_document_is_not_read() {
    // The real key set with 100 KB of padding, once with a Content-Length and once streamed
    // without one: neither is buffered, so the token's key stays unknown.
    let key = signer("k1");
    let mut document = serde_json::to_value(jwk_set([&key])).unwrap();
    document["padding"] = serde_json::Value::String("x".repeat(100_000));
    let body = serde_json::to_vec(&document).unwrap();
    let served = web::Bytes::from(body);
    let server = HttpServer::new(move || {
        let (sized, streamed) = (served.clone(), served.clone());
        App::new()
            .route(
                "/sized",
                web::get().to(move || {
                    let body = sized.clone();
                    async move { HttpResponse::Ok().body(body) }
                }),
            )
            .route(
                "/streamed",
                web::get().to(move || {
                    let body = streamed.clone();
                    async move {
                        let chunks: Vec<Result<web::Bytes, actix_web::Error>> = body
                            .chunks(8192)
                            .map(|c| Ok(web::Bytes::copy_from_slice(c)))
                            .collect();
                        HttpResponse::Ok().streaming(futures_util::stream::iter(chunks))
                    }
                }),
            )
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);

    let token = key.sign(&claims()).unwrap();
    for path in ["sized", "streamed"] {
        let verifier = Verifier::from_jwks(
            &settings(),
            JwksClient::new(format!("http://{addr}/{path}")),
        );
        assert_eq!(
            verifier.verify(&token).await,
            Err(TokenError::KeysUnavailable),
            "{path}"
        );
    }
    handle.stop(false).await;
}
