//! The refusals of each route that the flow tests do not already show, snapshotted
//! (`snapshots/`), so a change to what a client reads when refused shows in review.

use crate::helpers::{TestApp, WEBHOOK_SECRET, read};
use serde_json::json;
use testkit::assert_problem;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_queue_refuses_what_it_does_not_know() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let admin = app.http(Some(&admin));
    let unknown = format!("/api/admin/id-verifications/{}", Uuid::now_v7());

    let one = admin.get(&unknown).await;
    assert_problem!(one, 404, "NOT_FOUND", "verification_not_found");
    let approve = admin.post(&format!("{unknown}/approve"), &json!({})).await;
    assert_problem!(approve, 404, "NOT_FOUND", "approve_not_found");
    // Documented since issue 32: the contract test found it answered but not described.
    let reject = admin
        .post(&format!("{unknown}/reject"), &json!({ "reason": "blurry" }))
        .await;
    assert_problem!(reject, 404, "NOT_FOUND", "reject_not_found");
    let link = admin
        .post(&format!("{unknown}/document-link"), &json!({}))
        .await;
    assert_problem!(link, 404, "NOT_FOUND", "document_link_not_found");
    let not_an_id = admin.get("/api/admin/id-verifications/not-an-id").await;
    assert_problem!(
        not_an_id,
        400,
        "VALIDATION_FAILED",
        "verification_not_an_id"
    );
    let status = admin.get("/api/admin/id-verifications?status=lost").await;
    assert_problem!(status, 400, "VALIDATION_FAILED", "queue_bad_status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_cannot_act_on_unknown_users_or_suspend_themselves() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let admin = app.http(Some(&token));
    let unknown = Uuid::now_v7();
    let reactivate = admin
        .post(
            &format!("/api/admin/users/{unknown}/reactivate"),
            &json!({}),
        )
        .await;
    assert_problem!(reactivate, 404, "NOT_FOUND", "reactivate_not_found");
    let suspend = admin
        .post(
            &format!("/api/admin/users/{unknown}/suspend"),
            &json!({ "reason": "unknown" }),
        )
        .await;
    assert_problem!(suspend, 404, "NOT_FOUND", "suspend_not_found");
    let me = admin.get("/api/users/profile").await.json();
    let own = admin
        .post(
            &format!("/api/admin/users/{}/suspend", me["id"].as_str().unwrap()),
            &json!({ "reason": "testing" }),
        )
        .await;
    assert_problem!(own, 409, "CONFLICT", "suspend_self");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_link_needs_every_part() {
    let app = TestApp::spawn().await;
    let path = format!("/api/id-documents/{}", Uuid::now_v7());
    let bare = app.http(None).get(&path).await;
    assert_problem!(bare, 403, "FORBIDDEN", "document_unsigned");
    let forged = app
        .http(None)
        .get(&format!("{path}?expires=99999999999&signature=00"))
        .await;
    assert_problem!(forged, 403, "FORBIDDEN", "document_forged");
    let expires = app
        .http(None)
        .get(&format!("{path}?expires=soon&signature=00"))
        .await;
    assert_problem!(expires, 400, "VALIDATION_FAILED", "document_bad_expiry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_answers_unknown_and_interim_results() {
    let app = TestApp::spawn().await;
    let send = |body: serde_json::Value| {
        let body = serde_json::to_vec(&body).unwrap();
        let now = chrono::Utc::now().timestamp();
        let signature = auth::id_verification::sign_webhook(WEBHOOK_SECRET, &body, now);
        let request = app
            .client
            .post(app.url("/webhooks/id-verification"))
            .header("content-type", "application/json")
            .header("x-signature", signature)
            .body(body)
            .send();
        async move { read(request.await.unwrap()).await }
    };
    let unknown = send(json!({
        "customerInternalReference": Uuid::now_v7(),
        "verificationStatus": "APPROVED_VERIFIED",
    }))
    .await;
    assert_problem!(unknown, 404, "NOT_FOUND", "webhook_unknown_verification");
    let garbage = send(json!({
        "customerInternalReference": "scan-42",
        "verificationStatus": "APPROVED_VERIFIED",
    }))
    .await;
    assert_problem!(
        garbage,
        400,
        "VALIDATION_FAILED",
        "webhook_not_our_reference"
    );
    let interim = send(json!({
        "customerInternalReference": Uuid::now_v7(),
        "verificationStatus": "PENDING",
    }))
    .await;
    assert_eq!(interim.status, 200);
    assert_eq!(interim.json(), json!({ "status": "ignored" }));
}
