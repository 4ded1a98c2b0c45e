use crate::helpers::TestApp;
use auth_token::Signer;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_signs_new_tokens_while_old_ones_still_verify() {
    let app = TestApp::spawn().await;
    let (_, old_token, _) = app.customer().await;
    let jwks: Value = app.get("/.well-known/jwks.json", None).await.json();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    let old_kid = jwks["keys"][0]["kid"].as_str().unwrap().to_owned();
    assert!(old_kid.starts_with("local-"), "generated on first start");

    // A deployment with a configured key: it becomes current, the local one retires.
    let configured = Signer::generate("prod-2026-11").unwrap();
    let pem = configured.to_pem().unwrap();
    let replica = app
        .replica(&[
            ("JWT_SIGNING_KEY", &pem),
            ("JWT_SIGNING_KEY_ID", "prod-2026-11"),
        ])
        .await;
    let base = format!("http://127.0.0.1:{}", replica.port());
    tokio::spawn(replica.run_until_stopped());

    let jwks: Value = app
        .client
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["prod-2026-11", old_kid.as_str()]);
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "no private parts published"
    );

    // The old token still works on the new replica; new tokens carry the new kid.
    let res = app
        .client
        .get(format!("{base}/api/users/profile"))
        .bearer_auth(&old_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let email = res.json::<Value>().await.unwrap()["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let login: Value = app
        .client
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": crate::helpers::PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(login["accessToken"].as_str().unwrap()).unwrap();
    assert_eq!(header.kid.as_deref(), Some("prod-2026-11"));
}
