//! The API contract, tested as a client meets it: auth, catalog, orders and payments behind the
//! real gateway binary (`system`), and
//! 1. every service's `/openapi.json` and the gateway's merged one validate as OpenAPI 3.1
//!    (openapi-spec-validator);
//! 2. a TypeScript client generated from the merged document (openapi-typescript) type-checks
//!    (`tsc --noEmit`, strict);
//! 3. schemathesis, driven by the merged document, sends each operation generated requests
//!    (valid and invalid) through the gateway, once as an ID-verified customer and once as an
//!    admin, and checks every answer: no 5xx, a documented status, the documented content
//!    type, a body that matches the documented schema.
//!
//! Every step runs and its failures are gathered, so one failing test shows all of them; a
//! schemathesis failure is shown as schemathesis reports it (operation, check, the request as a
//! `curl` command, the answer). The examples per operation and the seed are fixed: the run is
//! repeatable and fits CI's budget (`docs/benchmarks.md`, "Contract test").
//!
//! The Python and Node tools are installed on first use into cargo's target dir (`tools`).

mod system;
mod tools;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use system::System;
use tools::Tools;

/// Examples per operation and phase: enough to reach each operation's answers, few enough to
/// keep the run to a few minutes on CI's two cores.
const MAX_EXAMPLES: u32 = 25;
/// Fixed, so a run can be repeated exactly.
const SEED: u32 = 32;
/// What is checked on every answer.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";
/// The one operation that ends the session whose token a run sends.
const LOGOUT: &str = "/api/auth/logout";
/// One schemathesis run (of three) may take this long before the test gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(600);

#[tokio::test(flavor = "multi_thread")]
async fn the_api_keeps_its_documented_contract() {
    let started = Instant::now();
    let tools = tokio::task::spawn_blocking(Tools::ensure);
    let system = System::spawn().await;
    let tools = tools.await.unwrap();
    eprintln!(
        "contract: tools and system ready in {:?}",
        started.elapsed()
    );
    let dir = scratch_dir();
    let mut failures = Vec::new();

    let documents = fetch_documents(&system, &dir).await;
    failures.extend(validate(&tools, &documents).await);
    failures.extend(unreachable_operations(&documents));
    let merged = dir.join("merged.json");
    failures.extend(typescript_client(&tools, &merged, &dir).await);
    eprintln!("contract: documents checked at {:?}", started.elapsed());

    let accounts = system.accounts().await;
    // Logging out revokes the token the run sends, and every later request would be refused
    // with 401: the runs leave it out, and a last one as the customer tries it alone.
    let runs = [
        ("customer", &accounts.customer, ["--exclude-path", LOGOUT]),
        ("admin", &accounts.admin, ["--exclude-path", LOGOUT]),
        ("logout", &accounts.customer, ["--include-path", LOGOUT]),
    ];
    for (run, token, filter) in runs {
        let started = Instant::now();
        failures.extend(schemathesis(&tools, &system, &merged, &dir, run, token, &filter).await);
        eprintln!(
            "contract: schemathesis run {run} took {:?}",
            started.elapsed()
        );
    }
    eprintln!("contract: done in {:?}", started.elapsed());

    assert!(
        failures.is_empty(),
        "the API does not keep its documented contract ({} failing steps; files in {}):\n\n{}",
        failures.len(),
        dir.display(),
        failures.join("\n\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn scratch_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("contract-runs")
        .join(uuid::Uuid::new_v4().simple().to_string());
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Each service's own document (from the service) and the merged one (from the gateway),
/// written to `dir` as `<service>.json` and `merged.json`.
async fn fetch_documents(system: &System, dir: &Path) -> Vec<PathBuf> {
    let client = reqwest::Client::new();
    let mut sources: Vec<(String, String)> = system
        .services
        .iter()
        .map(|service| {
            (
                service.name.to_owned(),
                format!("http://127.0.0.1:{}/openapi.json", service.port),
            )
        })
        .collect();
    sources.push(("merged".into(), system.gateway.url("/openapi.json")));
    let mut files = Vec::new();
    for (name, url) in sources {
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let text = response.text().await.unwrap();
        let file = dir.join(format!("{name}.json"));
        std::fs::write(&file, text).unwrap();
        files.push(file);
    }
    files
}

/// openapi-spec-validator on each document, as OpenAPI 3.1.
async fn validate(tools: &Tools, documents: &[PathBuf]) -> Vec<String> {
    let mut failures = Vec::new();
    for document in documents {
        let output = tools
            .python_tool("openapi-spec-validator")
            .args(["--schema", "3.1", "--validation-errors", "all"])
            .arg(document)
            .output()
            .await
            .unwrap();
        if !output.status.success() {
            failures.push(format!(
                "{} is not valid OpenAPI 3.1 (openapi-spec-validator):\n{}{}",
                document.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    failures
}

/// Operations a service documents that the merged document leaves out: the gateway keeps only
/// what its routes send to that service, so each is a route missing from
/// `deploy/gateway/routes.yaml` (or one sending the path elsewhere).
fn unreachable_operations(documents: &[PathBuf]) -> Vec<String> {
    let read = |file: &PathBuf| -> Value {
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
    };
    let (merged, services) = documents.split_last().unwrap();
    let merged = read(merged);
    let mut missing = Vec::new();
    for file in services {
        let doc = read(file);
        let service = file.file_stem().unwrap().to_string_lossy();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, _) in item.as_object().into_iter().flatten() {
                if METHODS.contains(&method.as_str()) && merged["paths"][path][method].is_null() {
                    missing.push(format!("  {service}: {} {path}", method.to_uppercase()));
                }
            }
        }
    }
    if missing.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "operations the gateway's routes do not send to the service documenting them (left out of the merged document):\n{}",
        missing.join("\n")
    )]
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// openapi-typescript on the merged document, then `tsc --noEmit` on the types and a file that
/// uses them.
async fn typescript_client(tools: &Tools, merged: &Path, dir: &Path) -> Vec<String> {
    let generated = tools
        .node("openapi-typescript")
        .arg(merged)
        .arg("--output")
        .arg(dir.join("api.d.ts"))
        .output()
        .await
        .unwrap();
    if !generated.status.success() {
        return vec![format!(
            "openapi-typescript refused the merged document:\n{}{}",
            String::from_utf8_lossy(&generated.stdout),
            String::from_utf8_lossy(&generated.stderr)
        )];
    }
    std::fs::write(dir.join("check.ts"), tools::CHECK_TS).unwrap();
    let checked = tools
        .node("tsc")
        .args(["--noEmit", "--strict", "--skipLibCheck", "false"])
        .args(["--target", "es2022", "--module", "esnext"])
        .args(["--moduleResolution", "bundler"])
        .arg(dir.join("api.d.ts"))
        .arg(dir.join("check.ts"))
        .output()
        .await
        .unwrap();
    if checked.status.success() {
        Vec::new()
    } else {
        vec![format!(
            "the TypeScript client generated from the merged document does not type-check:\n{}{}",
            String::from_utf8_lossy(&checked.stdout),
            String::from_utf8_lossy(&checked.stderr)
        )]
    }
}

/// One schemathesis run (`who`) through the gateway with `token`, on the operations `filter`
/// selects; its report if anything failed.
async fn schemathesis(
    tools: &Tools,
    system: &System,
    merged: &Path,
    dir: &Path,
    who: &str,
    token: &str,
    filter: &[&str],
) -> Vec<String> {
    let reports = dir.join(who);
    let mut command = tools.python_tool("schemathesis");
    command
        .arg("run")
        .arg(merged)
        .args(["--url", &system.gateway.base])
        .args(["--checks", CHECKS])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", &MAX_EXAMPLES.to_string()])
        .args(["--seed", &SEED.to_string()])
        // One worker: with two threads, Hypothesis' lambda descriptions parse source in both at
        // once, and CPython 3.11's AST constructor (whose depth counter the threads share) fails
        // with "recursion depth mismatch" (python/cpython#106905), which schemathesis reports as
        // an error of its own on `POST /api/admin/products`.
        .args(["--workers", "1"])
        .args(["--request-timeout", "20"])
        .args(["--suppress-health-check", "all"])
        .args(["--generation-database", "none"])
        .args(["--generation-with-security-parameters", "false"])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(filter)
        .args(["--report", "junit,ndjson"])
        .arg("--report-dir")
        .arg(&reports)
        .arg("--continue-on-failure")
        .arg("--no-color")
        .current_dir(dir)
        .env("SCHEMATHESIS_HOOKS", "")
        .kill_on_drop(true);
    let output = tokio::time::timeout(RUN_LIMIT, command.output())
        .await
        .unwrap_or_else(|_| panic!("schemathesis run `{who}` did not finish in {RUN_LIMIT:?}"))
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(dir.join(format!("{who}.txt")), &report).unwrap();
    if output.status.success() {
        Vec::new()
    } else {
        vec![format!(
            "schemathesis run `{who}` ({}):\n{report}",
            output.status
        )]
    }
}
