use crate::helpers::{TestApp, WEBHOOK_SECRET, fields, read};
use events::v1;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use testkit::TestResponse;
use testkit::assert_problem;

/// A tiny but real PNG header followed by padding.
fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    bytes.extend(std::iter::repeat_n(0u8, 2048));
    bytes
}

async fn upload(
    app: &TestApp,
    token: &str,
    document: Vec<u8>,
    mime: &str,
    doc_type: Option<&str>,
) -> TestResponse {
    let mut form = Form::new().part(
        "idDocument",
        Part::bytes(document)
            .file_name("id.png")
            .mime_str(mime)
            .unwrap(),
    );
    if let Some(doc_type) = doc_type {
        form = form.text("documentType", doc_type.to_owned());
    }
    let res = app
        .client
        .post(app.url("/api/users/id-verification"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    read(res).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_is_stored_privately_reviewed_and_reflected_in_new_tokens() {
    let app = TestApp::spawn().await;
    let (user_id, token, _) = app.customer().await;
    let res = upload(&app, &token, png(), "image/png", Some("drivers_license")).await;
    assert_eq!(res.status, 201);
    let submitted: Value = res.json();
    let id = submitted["id"].as_str().unwrap().to_owned();
    assert_eq!(submitted["status"], "pending");

    let status: Value = app
        .get("/api/users/id-verification", Some(&token))
        .await
        .json();
    assert_eq!(status["status"], "pending");
    assert_eq!(status["verification"]["id"], id.as_str());
    let event: v1::UserIdVerificationSubmitted = app
        .tap
        .first("user.id_verification_submitted")
        .await
        .decode();
    assert_eq!(
        (event.user_id.as_str(), event.verification_id.as_str()),
        (user_id.as_str(), id.as_str())
    );
    assert_eq!(
        event.document_type,
        v1::IdDocumentType::DriversLicense as i32
    );

    // The admin finds it in the queue and views the document through a signed link.
    let admin = app.admin_token().await;
    let queue: Value = app
        .get("/api/admin/id-verifications?status=pending", Some(&admin))
        .await
        .json();
    assert_eq!(queue["total"], 1);
    assert_eq!(queue["verifications"][0]["id"], id.as_str());
    let one: Value = app
        .get(&format!("/api/admin/id-verifications/{id}"), Some(&admin))
        .await
        .json();
    assert_eq!(one["userId"], user_id.as_str());
    assert_eq!(one["contentType"], "image/png");
    assert_eq!(one["sizeBytes"], png().len());
    let link: Value = app
        .post(
            &format!("/api/admin/id-verifications/{id}/document-link"),
            &json!({}),
            Some(&admin),
        )
        .await
        .json();
    let url = link["url"]
        .as_str()
        .unwrap()
        .replace("http://auth.test", &app.base);
    let document = app.client.get(&url).send().await.unwrap();
    assert_eq!(document.status(), 200);
    assert_eq!(document.headers()["content-type"], "image/png");
    assert_eq!(document.headers()["cache-control"], "no-store");
    assert_eq!(document.bytes().await.unwrap().to_vec(), png());
    let forged = url.replace("signature=", "signature=00");
    assert_problem!(
        read(app.client.get(&forged).send().await.unwrap()).await,
        403,
        "FORBIDDEN"
    );
    let unsigned = url.split('?').next().unwrap().to_owned();
    assert_problem!(
        read(app.client.get(&unsigned).send().await.unwrap()).await,
        403,
        "FORBIDDEN"
    );

    let res = app
        .post(
            &format!("/api/admin/id-verifications/{id}/approve"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status, 200);
    let decided: v1::UserIdVerificationDecided =
        app.tap.first("user.id_verification_decided").await.decode();
    assert_eq!(
        decided.decision,
        v1::IdVerificationDecision::Approved as i32
    );
    assert_eq!(decided.reviewer, "manual_review");
    assert_eq!(
        decided.user.unwrap().id_verification_status,
        v1::IdVerificationStatus::Approved as i32
    );

    // Tokens issued from now on say so.
    let email = app.get("/api/users/profile", Some(&token)).await.json()["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let login: Value = app.login(&email, crate::helpers::PASSWORD).await.json();
    let verifier = auth_token::Verifier::from_jwks(
        &auth_token::VerifierSettings::new("faded-skies-auth", "faded-skies"),
        auth_token::JwksClient::new(app.url("/.well-known/jwks.json")),
    );
    assert!(
        verifier
            .verify(login["accessToken"].as_str().unwrap())
            .await
            .unwrap()
            .idv
    );

    // Deciding twice is refused; so is a new upload.
    let again = app
        .post(
            &format!("/api/admin/id-verifications/{id}/reject"),
            &json!({ "reason": "blurry photo" }),
            Some(&admin),
        )
        .await;
    assert_problem!(again, 409, "INVALID_STATE_TRANSITION");
    assert_problem!(
        upload(&app, &token, png(), "image/png", Some("passport")).await,
        409,
        "CONFLICT"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disguised_oversized_or_incomplete_uploads_are_refused() {
    let app = TestApp::spawn().await;
    let (_, token, _) = app.customer().await;
    let exe =
        b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0This program cannot be run in DOS mode".to_vec();
    assert_problem!(
        upload(&app, &token, exe, "image/png", Some("passport")).await,
        415,
        "UNSUPPORTED_MEDIA_TYPE"
    );

    let mut huge = png();
    huge.resize(11 * 1024 * 1024, 0);
    assert_problem!(
        upload(&app, &token, huge, "image/png", Some("passport")).await,
        413,
        "PAYLOAD_TOO_LARGE"
    );

    let problem = assert_problem!(
        upload(&app, &token, png(), "image/png", None).await,
        400,
        "VALIDATION_FAILED"
    );
    assert_eq!(fields(&problem), ["documentType"]);
    let problem = assert_problem!(
        upload(&app, &token, png(), "image/png", Some("library_card")).await,
        400,
        "VALIDATION_FAILED"
    );
    assert_eq!(fields(&problem), ["documentType"]);
    let status: Value = app
        .get("/api/users/id-verification", Some(&token))
        .await
        .json();
    assert_eq!(status["status"], "not_submitted", "nothing was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_cannot_reach_the_review_queue_or_other_peoples_documents() {
    let app = TestApp::spawn().await;
    let (_, owner, _) = app.customer().await;
    let submitted: Value = upload(&app, &owner, png(), "image/png", Some("state_id"))
        .await
        .json();
    let id = submitted["id"].as_str().unwrap();
    let (_, other, _) = app.customer().await;

    assert_problem!(
        app.get("/api/admin/id-verifications", Some(&other)).await,
        403,
        "FORBIDDEN"
    );
    assert_problem!(
        app.get(&format!("/api/admin/id-verifications/{id}"), Some(&other))
            .await,
        403,
        "FORBIDDEN"
    );
    let res = app
        .post(
            &format!("/api/admin/id-verifications/{id}/document-link"),
            &json!({}),
            Some(&other),
        )
        .await;
    assert_problem!(res, 403, "FORBIDDEN");
    let res = app
        .post(
            &format!("/api/admin/id-verifications/{id}/approve"),
            &json!({}),
            Some(&owner),
        )
        .await;
    assert_problem!(res, 403, "FORBIDDEN");
    // The other customer's own status shows nothing of the owner's submission.
    let status: Value = app
        .get("/api/users/id-verification", Some(&other))
        .await
        .json();
    assert_eq!(status["status"], "not_submitted");
    assert!(status["verification"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_needs_a_reason() {
    let app = TestApp::spawn().await;
    let (_, token, _) = app.customer().await;
    let submitted: Value = upload(&app, &token, png(), "image/png", Some("passport"))
        .await
        .json();
    let id = submitted["id"].as_str().unwrap();
    let admin = app.admin_token().await;
    let problem = assert_problem!(
        app.post(
            &format!("/api/admin/id-verifications/{id}/reject"),
            &json!({}),
            Some(&admin),
        )
        .await,
        400,
        "VALIDATION_FAILED"
    );
    assert_eq!(fields(&problem), ["reason"]);
    let res = app
        .post(
            &format!("/api/admin/id-verifications/{id}/reject"),
            &json!({ "reason": "the photo is blurry" }),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status, 200);
    let status: Value = app
        .get("/api/users/id-verification", Some(&token))
        .await
        .json();
    assert_eq!(status["status"], "rejected");
    assert_eq!(status["verification"]["reason"], "the photo is blurry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_webhook_decides_when_signed() {
    let app = TestApp::spawn().await;
    let (_, token, _) = app.customer().await;
    let submitted: Value = upload(&app, &token, png(), "image/png", Some("passport"))
        .await
        .json();
    let id = submitted["id"].as_str().unwrap();
    let body = serde_json::to_vec(&json!({
        "scanReference": "scan-1",
        "customerInternalReference": id,
        "verificationStatus": "DENIED_FRAUD",
        "rejectReason": { "rejectReasonDescription": "manipulated document" },
    }))
    .unwrap();
    let send = |signature: String| {
        let request = app
            .client
            .post(app.url("/webhooks/id-verification"))
            .header("content-type", "application/json")
            .header("x-signature", signature)
            .body(body.clone())
            .send();
        async move { read(request.await.unwrap()).await }
    };
    let now = chrono::Utc::now().timestamp();
    assert_problem!(
        send(auth::id_verification::sign_webhook("wrong", &body, now)).await,
        401,
        "INVALID_TOKEN"
    );
    assert_problem!(
        send(auth::id_verification::sign_webhook(
            WEBHOOK_SECRET,
            &body,
            now - 3600,
        ))
        .await,
        401,
        "INVALID_TOKEN"
    );

    let res = send(auth::id_verification::sign_webhook(
        WEBHOOK_SECRET,
        &body,
        now,
    ))
    .await;
    assert_eq!(res.status, 200);
    let decided: v1::UserIdVerificationDecided =
        app.tap.first("user.id_verification_decided").await.decode();
    assert_eq!(
        decided.decision,
        v1::IdVerificationDecision::Rejected as i32
    );
    assert_eq!(decided.reason, "manipulated document");
    assert_eq!(decided.reviewer, "jumio");
    // The provider retrying is harmless.
    assert_eq!(
        send(auth::id_verification::sign_webhook(
            WEBHOOK_SECRET,
            &body,
            now
        ))
        .await
        .status,
        200
    );
    assert_eq!(app.tap.named("user.id_verification_decided").len(), 1);
}

/// The guide registers `${API_URL}/webhooks/jumio` as the provider's callback: the result
/// posted there is checked and applied as at `/webhooks/id-verification`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_jumio_callback_url_takes_the_provider_result() {
    let app = TestApp::spawn().await;
    let (_, token, _) = app.customer().await;
    let submitted: Value = upload(&app, &token, png(), "image/png", Some("drivers_license"))
        .await
        .json();
    let id = submitted["id"].as_str().unwrap();
    let body = serde_json::to_vec(&json!({
        "scanReference": "scan-2",
        "customerInternalReference": id,
        "verificationStatus": "APPROVED_VERIFIED",
    }))
    .unwrap();
    let send = |signature: Option<String>| {
        let mut request = app
            .client
            .post(app.url("/webhooks/jumio"))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(signature) = signature {
            request = request.header("x-signature", signature);
        }
        async move { read(request.send().await.unwrap()).await }
    };
    let res = send(None).await;
    assert_eq!(res.status, 401, "unsigned: {}", res.text);
    assert_eq!(res.json()["code"], "INVALID_TOKEN");

    let now = chrono::Utc::now().timestamp();
    let res = send(Some(auth::id_verification::sign_webhook(
        WEBHOOK_SECRET,
        &body,
        now,
    )))
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.json(), json!({ "status": "applied" }));
    let decided: v1::UserIdVerificationDecided =
        app.tap.first("user.id_verification_decided").await.decode();
    assert_eq!(
        decided.decision,
        v1::IdVerificationDecision::Approved as i32
    );
    assert_eq!(decided.reviewer, "jumio");
    let status: Value = app
        .get("/api/users/id-verification", Some(&token))
        .await
        .json();
    assert_eq!(status["status"], "approved");
    let profile = app.get("/api/users/profile", Some(&token)).await.json();
    assert_eq!(profile["idVerified"], true);
    assert_eq!(profile["idVerificationStatus"], "approved");
}

/// The gateway routes the guide's callback URL to auth exactly as it routes ours: no token,
/// the webhooks' per-address limit (`deploy/gateway/routes.yaml`).
#[test]
fn the_gateway_routes_the_jumio_callback_like_our_webhook() {
    let routes = include_str!("../../../../deploy/gateway/routes.yaml");
    // The settings of the route whose first line is `- prefix: <prefix>`, up to the next
    // route, comment or blank line.
    let entry = |prefix: &str| -> Vec<&str> {
        let head = format!("- prefix: {prefix}");
        let mut lines = routes.lines().skip_while(|line| line.trim() != head);
        assert!(lines.next().is_some(), "no route for {prefix}");
        lines
            .map(str::trim)
            .take_while(|line| !line.is_empty() && !line.starts_with('-') && !line.starts_with('#'))
            .collect()
    };
    let ours = entry("/webhooks/id-verification");
    assert!(ours.contains(&"cluster: auth") && ours.contains(&"auth: none"));
    assert_eq!(entry("/webhooks/jumio"), ours);
}

/// A reviewer compares the document with who the customer says they are: every entry of the
/// queue, and one submission, carries the customer's full name, email and date of birth, and
/// the queue is searched by part of the name or the email in any case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_queue_shows_and_searches_the_customers() {
    let app = TestApp::spawn().await;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let jamie_email = format!("jamie-{tag}@example.com");
    let jamie = app.register(&jamie_email).await;
    let mut morgan_body = crate::helpers::registration(&format!("m.okafor-{tag}@example.com"));
    morgan_body["fullName"] = json!("Morgan O'Kafor");
    morgan_body["dateOfBirth"] = json!("1990-02-14");
    let res = app.post("/api/auth/register", &morgan_body, None).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let morgan = res.json();
    for customer in [&jamie, &morgan] {
        let token = customer["accessToken"].as_str().unwrap();
        let res = upload(&app, token, png(), "image/png", Some("state_id")).await;
        assert_eq!(res.status, 201, "{}", res.text);
    }
    let admin = app.admin_token().await;

    let queue: Value = app
        .get("/api/admin/id-verifications", Some(&admin))
        .await
        .json();
    assert_eq!(queue["total"], 2);
    let first = &queue["verifications"][0];
    assert_eq!(first["userId"], jamie["user"]["id"]);
    assert_eq!(
        first["customer"],
        json!({
            "fullName": "Jamie Rivera",
            "email": jamie_email,
            "dateOfBirth": jamie["user"]["dateOfBirth"],
        })
    );
    assert_eq!(
        queue["verifications"][1]["customer"],
        json!({
            "fullName": "Morgan O'Kafor",
            "email": morgan["user"]["email"],
            "dateOfBirth": "1990-02-14",
        })
    );

    let search = |query: &str| queue_names(&app, &admin, query.to_owned());
    assert_eq!(search("search=rIVer").await, ["Jamie Rivera"], "by name");
    assert_eq!(search("search=O%27KAFOR").await, ["Morgan O'Kafor"]);
    assert_eq!(
        search(&format!("search=M.OKAFOR-{}", tag.to_uppercase())).await,
        ["Morgan O'Kafor"],
        "by email, any case"
    );
    assert_eq!(
        search(&format!("search={tag}")).await,
        ["Jamie Rivera", "Morgan O'Kafor"]
    );
    assert_eq!(
        search("search=%20%20").await,
        ["Jamie Rivera", "Morgan O'Kafor"],
        "blank is no filter"
    );
    assert!(search("search=j%25e").await.is_empty(), "% is itself");
    assert!(search("search=nobody").await.is_empty());
    assert_eq!(
        search("search=jamie&status=pending").await,
        ["Jamie Rivera"]
    );
    assert!(search("search=jamie&status=approved").await.is_empty());

    let long = "x".repeat(201);
    let problem = assert_problem!(
        app.get(
            &format!("/api/admin/id-verifications?search={long}"),
            Some(&admin)
        )
        .await,
        400,
        "VALIDATION_FAILED"
    );
    assert_eq!(fields(&problem), ["search"]);
    let problem = assert_problem!(
        app.get("/api/admin/id-verifications?search=a%00b", Some(&admin))
            .await,
        400,
        "VALIDATION_FAILED"
    );
    assert_eq!(fields(&problem), ["search"]);

    // One submission, and the answer of a decision, carry the customer too.
    let id = queue["verifications"][1]["id"].as_str().unwrap();
    let one: Value = app
        .get(&format!("/api/admin/id-verifications/{id}"), Some(&admin))
        .await
        .json();
    assert_eq!(one["customer"], queue["verifications"][1]["customer"]);
    let res = app
        .post(
            &format!("/api/admin/id-verifications/{id}/approve"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.json()["customer"]["fullName"], "Morgan O'Kafor");
}

/// The customers' names in the review queue asked with `query`.
async fn queue_names(app: &TestApp, admin: &str, query: String) -> Vec<String> {
    let res = app
        .get(&format!("/api/admin/id-verifications?{query}"), Some(admin))
        .await;
    assert_eq!(res.status, 200, "{query}: {}", res.text);
    res.json()["verifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["customer"]["fullName"].as_str().unwrap().to_owned())
        .collect()
}
