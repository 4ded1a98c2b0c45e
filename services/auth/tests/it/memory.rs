//! A burst of logins against the real auth binary, in its own process, so its memory can be
//! read from `/proc`: each argon2 hash holds 19 MiB, and only as many may run at once as the
//! configured budget holds.

use crate::helpers::{PASSWORD, migrations, registration};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use testkit::{TestBroker, TestDb};

/// The hashing budget the binary runs with: two hashes of 19 MiB.
const BUDGET_MIB: u64 = 40;
/// What the process may grow by, beyond its hashes, from its first request to the end of the
/// burst (database connections, request buffers, the allocator's slack): about 15 MiB here.
const SLACK_MIB: u64 = 48;

/// The binary, killed when the test ends however it ends.
struct Auth(Child);

impl Drop for Auth {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A field of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_logins_keeps_memory_within_the_hashing_budget() {
    let db = TestDb::new("auth", &migrations()).await;
    let broker = TestBroker::new();
    let port = free_port();
    let objects = std::env::temp_dir().join(format!("fs-auth-mem-{}", uuid::Uuid::new_v4()));
    let child = Command::new(env!("CARGO_BIN_EXE_auth"))
        .env("APP_ENV", "test")
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("DATABASE_URL", &db.url)
        .env("DATABASE_POOL_SIZE", "16")
        .env("REDIS_URL", testkit::redis_url())
        .env("AMQP_URL", testkit::amqp_url())
        .env("EVENTS_EXCHANGE", &broker.exchange)
        .env("OBJECT_STORE_URL", format!("file://{}", objects.display()))
        .env("PASSWORD_HASH_MEMORY_MIB", BUDGET_MIB.to_string())
        .env_remove("PASSWORD_HASH_CONCURRENCY")
        .env("PASSWORD_HASH_WAIT_MS", "1000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let auth = Auth(child);
    let pid = auth.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    testkit::wait_for("auth to listen", Duration::from_secs(60), || async {
        client
            .get(format!("{base}/health/live"))
            .send()
            .await
            .is_ok_and(|res| res.status() == 200)
    })
    .await;

    // What the process holds before it has hashed anything: the hashes' memory comes on top.
    let baseline = status_kib(pid, "VmRSS");

    let email = format!("burst-{}@example.com", uuid::Uuid::new_v4().simple());
    let res = client
        .post(format!("{base}/api/auth/register"))
        .json(&registration(&email))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    let logins = (0..200).map(|i| {
        let client = client.clone();
        let url = format!("{base}/api/auth/login");
        // Right and wrong passwords, known and unknown emails: every kind of login hashes.
        let body = match i % 3 {
            0 => json!({ "email": email, "password": PASSWORD }),
            1 => json!({ "email": email, "password": "Wr0ng!Pass" }),
            _ => json!({ "email": format!("nobody-{i}@example.com"), "password": PASSWORD }),
        };
        tokio::spawn(async move {
            let res = client.post(url).json(&body).send().await.unwrap();
            let retry_after = res.headers().get("retry-after").cloned();
            (res.status().as_u16(), retry_after)
        })
    });
    let mut answers = Vec::new();
    for login in logins.collect::<Vec<_>>() {
        answers.push(login.await.unwrap());
    }
    let peak = status_kib(pid, "VmHWM");

    for (status, retry_after) in &answers {
        assert!(
            [200, 401, 429, 503].contains(status),
            "unexpected answer {status}"
        );
        if *status == 503 {
            assert!(retry_after.is_some(), "a 503 says when to come back");
        }
    }
    assert!(
        answers.iter().any(|(status, _)| *status == 200),
        "some logins got through: {answers:?}"
    );
    let bound = baseline + (BUDGET_MIB + SLACK_MIB) * 1024;
    assert!(
        peak <= bound,
        "peak RSS {peak} KiB over the bound {bound} KiB (before any hash: {baseline} KiB)"
    );
    drop(auth);
    let _ = std::fs::remove_dir_all(&objects);
}
