//! A RabbitMQ node of the test's own: a fresh broker, on ports of its own, which the test may
//! restart (`stop_app`/`start_app`) without disturbing the shared broker every other test uses.
//! It needs RabbitMQ's scripts on this machine (`scripts/ensure-stack.sh` installs the Debian
//! package; elsewhere set `RABBITMQ_SBIN` to the directory holding `rabbitmq-server` and
//! `rabbitmqctl`). They run as the current user, with a home of the node's own (its Erlang
//! cookie), so neither root nor the system broker's cookie is needed.

use lapin::options::QueueDeclareOptions;
use lapin::{Connection, ConnectionProperties};
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a node may take to boot on a busy machine.
const BOOT: Duration = Duration::from_secs(120);

/// The definitions every deployment loads (users first: the permissions name them).
const DEV_USERS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../deploy/rabbitmq/dev-users.json"
);
const DEFINITIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../deploy/rabbitmq/definitions.json"
);

pub struct PrivateBroker {
    /// The AMQP port, on 127.0.0.1.
    pub port: u16,
    node: String,
    sbin: PathBuf,
    dir: PathBuf,
    env: Vec<(String, String)>,
    child: Child,
}

/// Where RabbitMQ's own scripts are: not Debian's `/usr/sbin` wrappers, which insist on root.
fn sbin() -> PathBuf {
    if let Ok(dir) = std::env::var("RABBITMQ_SBIN") {
        return PathBuf::from(dir);
    }
    let debian = Path::new("/usr/lib/rabbitmq/bin");
    if debian.join("rabbitmq-server").exists() {
        return debian.to_owned();
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .find(|dir| dir.join("rabbitmq-server").exists() && dir.join("rabbitmqctl").exists())
        .unwrap_or_else(|| {
            panic!(
                "the fault test runs a RabbitMQ node of its own and finds no rabbitmq-server: \
                 install RabbitMQ (scripts/ensure-stack.sh does on Debian) or set RABBITMQ_SBIN"
            )
        })
}

/// A run of 13 free ports: AMQP, the node's distribution port, and 11 for the CLI tools.
fn free_ports() -> u16 {
    for _ in 0..200 {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = probe.local_addr().unwrap().port();
        drop(probe);
        if base > 65_000 {
            continue;
        }
        if (base..base + 13).all(|port| TcpListener::bind(("127.0.0.1", port)).is_ok()) {
            return base;
        }
    }
    panic!("no run of 13 free ports");
}

impl PrivateBroker {
    /// Boots a fresh node and waits until it accepts connections.
    pub fn start() -> Self {
        let sbin = sbin();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("fs-fault-rabbitmq-{}", &id[..12]));
        let home = dir.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let port = free_ports();
        let config = dir.join("rabbitmq.conf");
        std::fs::write(
            &config,
            format!(
                "listeners.tcp.local = 127.0.0.1:{port}\nlog.console = false\nlog.file.level = info\n"
            ),
        )
        .unwrap();
        let plugins = dir.join("enabled_plugins");
        std::fs::write(&plugins, "[].\n").unwrap();
        let node = format!("fault-{}@localhost", &id[..12]);
        let path = |p: &Path| p.display().to_string();
        let env = vec![
            ("HOME".to_owned(), path(&home)),
            ("RABBITMQ_NODENAME".to_owned(), node.clone()),
            ("RABBITMQ_DIST_PORT".to_owned(), (port + 1).to_string()),
            (
                "RABBITMQ_CTL_DIST_PORT_MIN".to_owned(),
                (port + 2).to_string(),
            ),
            (
                "RABBITMQ_CTL_DIST_PORT_MAX".to_owned(),
                (port + 12).to_string(),
            ),
            ("RABBITMQ_CONFIG_FILE".to_owned(), path(&config)),
            ("RABBITMQ_ENABLED_PLUGINS_FILE".to_owned(), path(&plugins)),
            ("RABBITMQ_MNESIA_BASE".to_owned(), path(&dir.join("mnesia"))),
            ("RABBITMQ_LOG_BASE".to_owned(), path(&dir.join("log"))),
            ("RABBITMQ_PID_FILE".to_owned(), path(&dir.join("pid"))),
        ];
        let log = std::fs::File::create(dir.join("server.out")).unwrap();
        let child = Command::new(sbin.join("rabbitmq-server"))
            .envs(env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|err| {
                panic!("start {}: {err}", sbin.join("rabbitmq-server").display())
            });
        let broker = Self {
            port,
            node,
            sbin,
            dir,
            env,
            child,
        };
        broker.await_startup();
        broker
    }

    /// `rabbitmqctl -n <node> <args>`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        Command::new(self.sbin.join("rabbitmqctl"))
            .envs(self.env.iter().cloned())
            .args(["-n", &self.node])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run rabbitmqctl")
    }

    fn ctl_ok(&self, args: &[&str]) {
        let output = self.ctl(args);
        assert!(
            output.status.success(),
            "rabbitmqctl {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn await_startup(&self) {
        let started = Instant::now();
        loop {
            if self
                .ctl(&["-q", "await_startup", "--timeout", "5"])
                .status
                .success()
            {
                return;
            }
            assert!(
                started.elapsed() < BOOT,
                "the private RabbitMQ node did not start within {BOOT:?}; see {}",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `amqp://user:password@127.0.0.1:<port>/%2f`.
    pub fn url(&self, user: &str, password: &str) -> String {
        format!("amqp://{user}:{password}@127.0.0.1:{}/%2f", self.port)
    }

    /// As the administrator the node was born with (guest, from this machine).
    pub fn admin_url(&self) -> String {
        self.url("guest", "guest")
    }

    /// Loads the service users and `deploy/rabbitmq/definitions.json` as every deployment
    /// does, and waits until each queue and binding it declares exists (the import may finish
    /// after rabbitmqctl returns).
    pub async fn load_definitions(&self) {
        self.ctl_ok(&["-q", "import_definitions", DEV_USERS]);
        self.ctl_ok(&["-q", "import_definitions", DEFINITIONS]);
        let definitions: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(DEFINITIONS).unwrap()).unwrap();
        let none = Vec::new();
        let queues: Vec<String> = definitions["queues"]
            .as_array()
            .unwrap_or(&none)
            .iter()
            .map(|queue| queue["name"].as_str().unwrap().to_owned())
            .collect();
        let bindings: BTreeSet<String> = definitions["bindings"]
            .as_array()
            .unwrap_or(&none)
            .iter()
            .map(|b| {
                format!(
                    "{}\t{}",
                    b["destination"].as_str().unwrap(),
                    b["routing_key"].as_str().unwrap()
                )
            })
            .collect();
        testkit::wait_for(
            "the definitions to be loaded",
            Duration::from_secs(60),
            || async {
                let listed = self.ctl(&[
                    "-q",
                    "-s",
                    "list_bindings",
                    "source_name",
                    "destination_name",
                    "routing_key",
                ]);
                let present: BTreeSet<String> = String::from_utf8_lossy(&listed.stdout)
                    .lines()
                    .filter_map(|line| line.strip_prefix("faded_skies.events\t"))
                    .map(str::to_owned)
                    .collect();
                bindings.is_subset(&present)
            },
        )
        .await;
        assert_eq!(self.messages(&queues).await.len(), queues.len());
    }

    /// How many messages each of `queues` holds (passive declares, as the administrator).
    pub async fn messages(&self, queues: &[String]) -> Vec<(String, u32)> {
        let conn = Connection::connect(&self.admin_url(), ConnectionProperties::default())
            .await
            .unwrap();
        let mut counts = Vec::new();
        for queue in queues {
            let channel = conn.create_channel().await.unwrap();
            let declared = channel
                .queue_declare(
                    queue.as_str().into(),
                    QueueDeclareOptions {
                        passive: true,
                        ..Default::default()
                    },
                    Default::default(),
                )
                .await
                .unwrap_or_else(|err| panic!("{queue} exists: {err}"));
            counts.push((queue.clone(), declared.message_count()));
        }
        let _ = conn.close(200, "done".into()).await;
        counts
    }

    /// A broker restart, as on-call would do it: the node stays up, RabbitMQ stops (closing
    /// every connection) and starts again.
    pub fn stop_app(&self) {
        self.ctl_ok(&["-q", "stop_app"]);
    }

    pub fn start_app(&self) {
        self.ctl_ok(&["-q", "start_app"]);
        self.await_startup();
    }

    /// Where the node keeps its logs (shown when a test fails).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        let _ = self.ctl(&["-q", "stop"]);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
