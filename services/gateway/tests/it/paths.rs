//! Other spellings of a path: routes (and their limits) are matched on the path as the services
//! read it, that path is the one sent on, and what cannot be normalised safely is refused.

use crate::helpers::{Gateway, RawAnswer, Setup, Stub, send_raw, shipped_around};
use std::sync::atomic::Ordering;
use testkit::TestTokens;

/// Six spellings of `/api/auth/<name>` the services read as that path.
fn spellings(name: &str) -> Vec<String> {
    let (first, rest) = name.split_at(1);
    let first = first.as_bytes()[0];
    let every_byte_escaped: String = name.bytes().map(|byte| format!("%{byte:02X}")).collect();
    vec![
        format!("/api/auth/%{first:02x}{rest}"),
        format!("/api/auth/%{first:02X}{rest}"),
        format!("/api/auth/{every_byte_escaped}"),
        format!("/api/auth//{name}"),
        format!("//api/auth/{name}"),
        format!("/api/auth/./{name}"),
        format!("/api/auth/x/../{name}"),
        format!("/api/auth/%2e/{name}"),
        format!("/api/auth/%2E%2e/auth/{name}"),
        format!("/api/%61uth/%2E/x/%2e%2E/{name}"),
    ]
}

async fn post(gateway: &Gateway, target: &str, ip: &str) -> RawAnswer {
    send_raw(
        &gateway.base,
        "POST",
        target,
        &[
            ("x-forwarded-for", ip),
            ("content-type", "application/json"),
        ],
        "{}",
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sixth_attempt_is_refused_whatever_the_spelling_of_the_limited_auth_paths() {
    let tokens = TestTokens::new();
    let stub = Stub::spawn("auth", &tokens).await;
    let gateway = Gateway::spawn(&shipped_around(&stub)).await;
    gateway.wait_cluster("auth", "up").await;

    for (route, name) in ["login", "register", "forgot-password", "reset-password"]
        .into_iter()
        .enumerate()
    {
        let canonical = format!("/api/auth/{name}");
        for (index, spelling) in spellings(name).iter().enumerate() {
            // An address per spelling: the `auth` limit is one count per address.
            let ip = format!("198.51.{route}.{index}");
            for attempt in 1..=5 {
                let answer = post(&gateway, spelling, &ip).await;
                assert_eq!(answer.status, 200, "{spelling} attempt {attempt}");
                assert_eq!(
                    answer.headers["ratelimit-limit"], "5",
                    "{spelling} is under the auth limit"
                );
                let echoed = answer.json();
                assert_eq!(
                    echoed["path"], canonical,
                    "{spelling} is sent on normalised"
                );
                assert_eq!(echoed["routedPath"], canonical);
            }
            let refused = post(&gateway, spelling, &ip).await;
            assert_eq!(
                refused.problem(429)["code"],
                "RATE_LIMITED",
                "{spelling} attempt 6"
            );
            // The count is the path's, whatever the spelling.
            post(&gateway, &canonical, &ip).await.problem(429);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn paths_that_cannot_be_normalised_safely_are_refused() {
    let setup = Setup::new().await;
    for (target, detail) in [
        ("/api/auth/login%2F", "encoded slash"),
        ("/api/auth%2flogin", "encoded slash"),
        ("/api/auth/%5Clogin", "backslash"),
        ("/api/auth/\\login", "backslash"),
        ("/api/auth/login%00", "control character"),
        ("/api/auth/login%0d%0a", "control character"),
        ("/api/auth/login%ff", "not UTF-8"),
        ("/api/auth/%C0%AFlogin", "not UTF-8"),
        ("/api/auth/login%zz", "does not start an escape"),
        ("/api/auth/login%4", "does not start an escape"),
        ("/api/../../api/auth/login", "above the root"),
        ("/%2e%2e/api/auth/login", "above the root"),
    ] {
        let answer = post(&setup.gateway, target, "203.0.113.30").await;
        let body = answer.problem(400);
        assert_eq!(body["code"], "BAD_REQUEST", "{target}");
        assert!(
            body["detail"].as_str().unwrap().contains(detail),
            "{target}: {body}"
        );
    }
    assert_eq!(
        setup.stub.state.hits.load(Ordering::SeqCst),
        0,
        "none reached the service"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_route_is_chosen_for_the_path_the_service_reads() {
    let setup = Setup::new().await;
    let get = |target: &'static str| send_raw(&setup.gateway.base, "GET", target, &[], "");

    // A private path spelt through a public prefix is private.
    let body = get("/public/../private/x").await.problem(401);
    assert_eq!(body["code"], "UNAUTHENTICATED");
    let body = get("/public/%2e%2e/admin/users").await.problem(401);
    assert_eq!(body["code"], "UNAUTHENTICATED");

    // Sent on normalised, the query as the client wrote it.
    let echoed = get("/public//a/./b/../c?q=%2F..%2F").await.json();
    assert_eq!(echoed["path"], "/public/a/c");
    assert_eq!(echoed["query"], "q=%2F..%2F");

    // Characters a URI cannot hold raw are sent escaped, and read decoded by the service.
    let echoed = get("/public/caf%c3%a9%20au%20lait").await.json();
    assert_eq!(echoed["path"], "/public/caf%C3%A9%20au%20lait");
    assert_eq!(echoed["routedPath"], "/public/café au lait");

    // Escapes actix leaves encoded stay encoded.
    let echoed = get("/public/a%2bb/100%25").await.json();
    assert_eq!(echoed["routedPath"], "/public/a%2Bb/100%25");

    // An exact route is not reached by a trailing slash, which actix tells apart too.
    let body = send_raw(&setup.gateway.base, "POST", "/only-post/", &[], "")
        .await
        .problem(404);
    assert_eq!(body["code"], "ROUTE_NOT_FOUND");
}
