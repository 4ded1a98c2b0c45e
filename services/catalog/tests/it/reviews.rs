//! Reviews: only customers who received the product, one each, editable and deletable by
//! their author, hidden by admins; the rating summary follows.

use crate::helpers::{TestApp, order_lines};
use domain::Role;
use events::v1;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

async fn deliver(app: &TestApp, customer: Uuid, product: Uuid) {
    let order = Uuid::new_v4();
    app.publish(
        &v1::OrderDelivered {
            order_id: order.to_string(),
            customer_id: customer.to_string(),
            lines: order_lines(&[(product, 1)]),
            ..Default::default()
        },
        None,
    )
    .await;
}

async fn review_status(app: &TestApp, product: Uuid, token: &str, body: &Value) -> (u16, Value) {
    let res = app
        .send(
            Method::POST,
            &format!("/api/products/{product}/reviews"),
            body,
            Some(token),
        )
        .await;
    let status = res.status;
    (status, res.json())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_customer_who_received_the_product_reviews_it_once() {
    let app = TestApp::spawn().await;
    let flower = app.category("flower").await;
    let product = app.product(flower, json!({ "name": "Blue Dream" })).await;
    let (customer, token) = app.tokens.token(Role::Customer);
    let review = json!({ "rating": 5, "comment": "Lovely.", "displayName": "Sam" });

    let (status, body) = review_status(&app, product, &token, &review).await;
    assert_eq!(status, 403, "{body}");
    let (_, driver) = app.tokens.token(Role::Driver);
    assert_eq!(review_status(&app, product, &driver, &review).await.0, 403);
    let anonymous = app
        .send(
            Method::POST,
            &format!("/api/products/{product}/reviews"),
            &review,
            None,
        )
        .await;
    assert_eq!(anonymous.status, 401);

    deliver(&app, customer.into_inner(), product).await;
    let created = testkit::wait_for_value(
        "the review to be accepted",
        Duration::from_secs(15),
        || async {
            let (status, body) = review_status(&app, product, &token, &review).await;
            (status == 201).then_some(body)
        },
    )
    .await;
    assert_eq!(created["authorName"], "Sam");
    assert_eq!(created["isMine"], true);
    let (status, body) = review_status(&app, product, &token, &review).await;
    assert_eq!(status, 409, "{body}");

    for bad in [
        json!({ "rating": 0 }),
        json!({ "rating": 6 }),
        json!({}),
        json!({ "rating": 3, "comment": "x".repeat(2001) }),
    ] {
        let (_, other) = app.tokens.token(Role::Customer);
        assert_eq!(
            review_status(&app, product, &other, &bad).await.0,
            400,
            "{bad}"
        );
    }

    let summary = app
        .get_json(&format!("/api/products/{product}/reviews"), 200)
        .await;
    assert_eq!(summary["total"], 1);
    assert_eq!(summary["summary"]["average"], 5.0);
    assert_eq!(summary["summary"]["distribution"], json!([0, 0, 0, 0, 1]));
    let page = app.get_json(&format!("/api/products/{product}"), 200).await;
    assert_eq!(page["reviews"][0]["comment"], "Lovely.");
    assert_eq!(
        page["product"]["rating"],
        json!({ "average": 5.0, "count": 1 })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authors_edit_and_delete_admins_hide() {
    let app = TestApp::spawn().await;
    let flower = app.category("flower").await;
    let product = app.product(flower, json!({ "name": "Blue Dream" })).await;
    let other_product = app.product(flower, json!({ "name": "OG Kush" })).await;
    let (alice, alice_token) = app.tokens.token(Role::Customer);
    let (bob, bob_token) = app.tokens.token(Role::Customer);
    deliver(&app, alice.into_inner(), product).await;
    deliver(&app, bob.into_inner(), product).await;
    let mut ids = Vec::new();
    for (token, rating) in [(&alice_token, 5), (&bob_token, 2)] {
        let created = testkit::wait_for_value("a review", Duration::from_secs(15), || async {
            let (status, body) =
                review_status(&app, product, token, &json!({ "rating": rating })).await;
            (status == 201).then_some(body)
        })
        .await;
        assert_eq!(created["authorName"], "Verified buyer");
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let path = |id: &str| format!("/api/products/{product}/reviews/{id}");
    let summary = app
        .get_json(&format!("/api/products/{product}/reviews"), 200)
        .await;
    assert_eq!(summary["summary"]["average"], 3.5);

    // Bob cannot touch Alice's review, and cannot tell it from one that does not exist;
    // Alice edits hers.
    let missing = path(&Uuid::new_v4().to_string());
    for (method, body) in [
        (Method::PUT, json!({ "rating": 1 })),
        (Method::DELETE, json!(null)),
    ] {
        let theirs = app
            .send(method.clone(), &path(&ids[0]), &body, Some(&bob_token))
            .await;
        let theirs = (theirs.status, theirs.json());
        let none = app
            .send(method.clone(), &missing, &body, Some(&bob_token))
            .await;
        let none = (none.status, none.json());
        assert_eq!(theirs.0, 404, "{method}: {}", theirs.1);
        assert_eq!(
            (&theirs.1["code"], &theirs.1["detail"]),
            (&none.1["code"], &none.1["detail"]),
            "{method}"
        );
    }
    let summary = app
        .get_json(&format!("/api/products/{product}/reviews"), 200)
        .await;
    assert_eq!(summary["summary"]["average"], 3.5);
    let res = app
        .send(
            Method::PUT,
            &path(&ids[0]),
            &json!({ "rating": 4, "comment": "Better on day two." }),
            Some(&alice_token),
        )
        .await;
    assert_eq!(res.status, 200);
    let wrong_product = format!("/api/products/{other_product}/reviews/{}", ids[0]);
    let res = app
        .send(
            Method::PUT,
            &wrong_product,
            &json!({ "rating": 4 }),
            Some(&alice_token),
        )
        .await;
    assert_eq!(res.status, 404);

    // Rating sort uses the summary.
    assert_eq!(app.names("sort=rating").await, ["Blue Dream", "OG Kush"]);

    // An admin hides Bob's review: it leaves the list and the summary.
    let visibility = format!(
        "/api/admin/products/{product}/reviews/{}/visibility",
        ids[1]
    );
    let res = app
        .send(
            Method::PUT,
            &visibility,
            &json!({ "hidden": true }),
            Some(&alice_token),
        )
        .await;
    assert_eq!(res.status, 403);
    app.admin(
        Method::PUT,
        &visibility,
        &json!({ "hidden": true, "reason": "spam" }),
        200,
    )
    .await;
    let summary = app
        .get_json(&format!("/api/products/{product}/reviews"), 200)
        .await;
    assert_eq!(summary["total"], 1);
    assert_eq!(summary["summary"]["average"], 4.0);
    assert_eq!(summary["reviews"][0]["comment"], "Better on day two.");

    // Alice deletes hers.
    let res = app
        .send(
            Method::DELETE,
            &path(&ids[0]),
            &json!(null),
            Some(&alice_token),
        )
        .await;
    assert_eq!(res.status, 204);
    let summary = app
        .get_json(&format!("/api/products/{product}/reviews"), 200)
        .await;
    assert_eq!(
        (
            summary["total"].clone(),
            summary["summary"]["average"].clone()
        ),
        (json!(0), Value::Null)
    );
    let res = app
        .send(
            Method::DELETE,
            &path(&ids[0]),
            &json!(null),
            Some(&alice_token),
        )
        .await;
    assert_eq!(res.status, 404);

    // Paging edges and bad paging.
    assert_eq!(
        app.get(&format!("/api/products/{product}/reviews?limit=0"), None)
            .await
            .status,
        400
    );
    assert_eq!(
        app.get(&format!("/api/products/{}/reviews", Uuid::new_v4()), None)
            .await
            .status,
        404
    );
}
