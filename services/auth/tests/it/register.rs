use crate::helpers::{PASSWORD, TestApp, fields, read, registration, years_ago};
use auth_token::{JwksClient, Verifier, VerifierSettings};
use chrono::{Datelike, NaiveDate};
use events::v1;
use serde_json::json;
use testkit::assert_problem;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_creates_a_customer_signs_in_and_announces_it() {
    let app = TestApp::spawn().await;
    let res = app
        .post(
            "/api/auth/register",
            &registration("Jamie.Rivera@Example.com"),
            None,
        )
        .await;
    assert_eq!(res.status, 201);
    let body: serde_json::Value = res.json();
    let user = &body["user"];
    assert_eq!(
        user["email"], "jamie.rivera@example.com",
        "emails are stored lower-cased"
    );
    assert_eq!(user["phone"], "+15125550134", "phones are stored as E.164");
    assert_eq!(user["role"], "customer");
    assert_eq!(user["idVerificationStatus"], "not_submitted");
    assert_eq!(body["tokenType"], "Bearer");
    assert_eq!(body["expiresIn"], 900);
    assert!(body.get("passwordHash").is_none() && user.get("passwordHash").is_none());

    // The access token verifies against the published JWKS, as every service will do it.
    let verifier = Verifier::from_jwks(
        &VerifierSettings::new("faded-skies-auth", "faded-skies"),
        JwksClient::new(app.url("/.well-known/jwks.json")),
    );
    let claims = verifier
        .verify(body["accessToken"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(claims.sub.to_string(), user["id"].as_str().unwrap());
    assert!(!claims.idv);

    // The bootstrapped admin was announced first; find ours.
    let id = user["id"].as_str().unwrap();
    let registered: v1::UserRegistered = app
        .tap
        .find("user.registered", |e: &v1::UserRegistered| e.user_id == id)
        .await;
    let raw = app
        .tap
        .named("user.registered")
        .into_iter()
        .find(|e| e.decode::<v1::UserRegistered>().user_id == id)
        .unwrap();
    assert_eq!(
        raw.message_type.as_deref(),
        Some("faded_skies.events.v1.UserRegistered")
    );
    assert_eq!(raw.correlation_id.as_deref(), Some(id));
    let state = registered.user.unwrap();
    assert_eq!(state.email, "jamie.rivera@example.com");
    assert_eq!(state.role, v1::Role::Customer as i32);
    assert_eq!(
        state.id_verification_status,
        v1::IdVerificationStatus::NotSubmitted as i32
    );
    assert_eq!(state.version, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_mistyped_fields_are_400_naming_each_field() {
    let app = TestApp::spawn().await;
    let problem = assert_problem!(
        app.post("/api/auth/register", &json!({}), None).await,
        400,
        "VALIDATION_FAILED"
    );
    assert_eq!(
        fields(&problem),
        ["fullName", "email", "password", "phone", "dateOfBirth"]
    );

    let mut mistyped = registration("a@example.com");
    mistyped["fullName"] = json!(12345);
    let res = app.post("/api/auth/register", &mistyped, None).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.headers["content-type"], "application/problem+json");

    let res = app
        .client
        .post(app.url("/api/auth/register"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_problem!(read(res).await, 400, "MALFORMED_JSON");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_email_phone_and_name_are_refused() {
    let app = TestApp::spawn().await;
    for (field, value) in [
        ("email", "not-an-email"),
        ("email", "two@@example.com"),
        ("phone", "555-0134"),
        ("phone", "(012) 555-0134"),
        ("fullName", "J"),
        ("dateOfBirth", "30/01/1990"),
        ("dateOfBirth", "2999-01-01"),
    ] {
        let mut body = registration("ok@example.com");
        body[field] = json!(value);
        let problem = assert_problem!(
            app.post("/api/auth/register", &body, None).await,
            400,
            "VALIDATION_FAILED"
        );
        assert_eq!(fields(&problem), [field], "{field}={value}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_password_rule_is_enforced() {
    let app = TestApp::spawn().await;
    for weak in [
        "Sh0rt!",
        "alllower1!",
        "ALLUPPER1!",
        "NoDigits!!",
        "NoSymbol12",
    ] {
        let mut body = registration("weak@example.com");
        body["password"] = json!(weak);
        let problem = assert_problem!(
            app.post("/api/auth/register", &body, None).await,
            400,
            "VALIDATION_FAILED"
        );
        assert_eq!(fields(&problem)[0], "password", "{weak}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_age_gate_is_exact_to_the_day() {
    let app = TestApp::spawn().await;
    let today = auth::age_gate::today();
    let tomorrow_21 = years_ago(21).succ_opt().unwrap();
    let mut body = registration("tomorrow@example.com");
    body["dateOfBirth"] = json!(tomorrow_21.to_string());
    let problem = assert_problem!(
        app.post("/api/auth/register", &body, None).await,
        422,
        "UNDERAGE"
    );
    assert!(problem["detail"].as_str().unwrap().contains("21"));

    let mut body = registration("today@example.com");
    body["dateOfBirth"] = json!(years_ago(21).to_string());
    assert_eq!(
        app.post("/api/auth/register", &body, None).await.status,
        201,
        "21 today is old enough"
    );

    // Leap-day births: the latest 29 February at least 21 years back is 21 or older only if
    // its 21st birthday (1 March in a common year) has come.
    let leap_year = (1900..=today.year() - 21)
        .rev()
        .find(|y| NaiveDate::from_ymd_opt(*y, 2, 29).is_some())
        .unwrap();
    let mut body = registration("leap@example.com");
    body["dateOfBirth"] = json!(format!("{leap_year}-02-29"));
    let expected = if today >= NaiveDate::from_ymd_opt(leap_year + 21, 3, 1).unwrap() {
        201
    } else {
        422
    };
    assert_eq!(
        app.post("/api/auth/register", &body, None).await.status,
        expected
    );
    let young_leap = (today.year() - 20..=today.year())
        .find(|y| NaiveDate::from_ymd_opt(*y, 2, 29).is_some())
        .unwrap();
    let mut body = registration("young-leap@example.com");
    body["dateOfBirth"] = json!(format!("{young_leap}-02-29"));
    assert_problem!(
        app.post("/api/auth/register", &body, None).await,
        422,
        "UNDERAGE"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_email_is_409_whatever_its_case() {
    let app = TestApp::spawn().await;
    app.register("dupe@example.com").await;
    let res = app
        .post(
            "/api/auth/register",
            &registration("DUPE@example.com"),
            None,
        )
        .await;
    assert_problem!(res, 409, "EMAIL_TAKEN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_concurrent_registrations_with_one_email_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let body = registration("race@example.com");
    let (a, b) = tokio::join!(
        app.post("/api/auth/register", &body, None),
        app.post("/api/auth/register", &body, None)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409]);
    assert_eq!(app.login("race@example.com", PASSWORD).await.status, 200);
}
