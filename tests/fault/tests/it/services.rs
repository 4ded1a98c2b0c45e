//! The services as processes (the `fault-service` launcher, which runs each as its own binary
//! does), with the settings `make run` gives them: development mode, the demo catalog, each
//! connected to the broker as its own user. A process can be killed (`kill -9`), started again
//! with the same settings, and stopped with SIGTERM, timed.

use serde_json::Value;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free port on 127.0.0.1 (the service binds it itself; `PORT=0` means its default port).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Where a service answers, whichever process currently serves it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub name: &'static str,
    pub port: u16,
}

pub struct Service {
    endpoint: Endpoint,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
}

impl std::ops::Deref for Service {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl Service {
    /// `name` with `env` (its own settings; `PORT` and `HOST` are added), logging to
    /// `<dir>/<name>.log`.
    pub fn new(name: &'static str, port: u16, env: Vec<(String, String)>, dir: &Path) -> Self {
        Self {
            endpoint: Endpoint { name, port },
            env,
            log: dir.join(format!("{name}.log")),
            child: None,
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        self.endpoint.clone()
    }

    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} runs already", self.name);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_fault-service"))
            .arg(self.name)
            .envs(self.env.iter().cloned())
            .env("PORT", self.endpoint.port.to_string())
            .env("HOST", "127.0.0.1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// `kill -9`: no shutdown at all, as a crash or an OOM kill.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("a running service");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Sends SIGTERM and answers how long the process took to exit (at most 30 s: then it is
    /// killed, and the answer says so).
    pub fn terminate(&mut self) -> Duration {
        let mut child = self.child.take().expect("a running service");
        let pid = child.id().to_string();
        let started = Instant::now();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let took = started.elapsed();
                assert!(status.success(), "{} exited with {status}", self.name);
                return took;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until `/health` answers 200: the database, Redis, and every consumer attached.
    pub async fn wait_ready(&self, client: &reqwest::Client, timeout: Duration) -> Duration {
        let started = Instant::now();
        let what = format!(
            "{} to be ready (log: {})",
            self.endpoint.name,
            self.log.display()
        );
        testkit::wait_for(&what, timeout, || async {
            matches!(self.health(client).await, Some((200, _)))
        })
        .await;
        started.elapsed()
    }
}

impl Endpoint {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `/health`: its status code and body (`None` while the process does not answer).
    pub async fn health(&self, client: &reqwest::Client) -> Option<(u16, Value)> {
        let response = client
            .get(self.url("/health"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// `/metrics`, as Prometheus reads it.
    pub async fn metrics(&self, client: &reqwest::Client) -> String {
        client
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The value of the first sample of `metric` whose labels contain `labels`.
    pub async fn sample(&self, client: &reqwest::Client, metric: &str, labels: &str) -> f64 {
        let text = self.metrics(client).await;
        text.lines()
            .filter(|line| line.starts_with(&format!("{metric}{{")) && line.contains(labels))
            .find_map(|line| line.rsplit(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("{} exports no {metric} with {labels}", self.name))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
