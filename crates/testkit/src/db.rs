//! A database per test. The first test of a migration set builds a template database with
//! every migration applied (under an advisory lock, so parallel test processes build it
//! once); each test then gets `CREATE DATABASE … TEMPLATE`, a file copy that takes
//! milliseconds, and drops it when it ends. The template's name carries a fingerprint of the
//! migration files, so changing a migration builds a new one.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::EmbeddedMigrations;
use platform::db::DbPool;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A set of embedded migrations and the folder they were embedded from (read to fingerprint
/// the template).
#[derive(Clone, Copy)]
pub struct MigrationSource {
    pub embedded: &'static EmbeddedMigrations,
    pub dir: &'static str,
}

/// A database private to one test, dropped when this value is.
pub struct TestDb {
    /// Connection URL of the test's database.
    pub url: String,
    pub name: String,
    /// The service schema the migrations were run into.
    pub schema: String,
    admin_url: String,
}

/// Databases a killed test run left behind are dropped after this long.
const ABANDONED_AFTER: Duration = Duration::from_secs(3 * 3600);

impl TestDb {
    /// A fresh database with `sources` migrated into `schema`.
    #[expect(clippy::expect_used, reason = "test set-up: fail the test loudly")]
    pub async fn new(schema: &str, sources: &[MigrationSource]) -> Self {
        let base_url = crate::database_url();
        let admin_url = with_database(&base_url, "postgres");
        let template = format!("tpl_{schema}_{:016x}", fingerprint(schema, sources));
        let mut admin = AsyncPgConnection::establish(&admin_url)
            .await
            .expect("connect to PostgreSQL (is it running? `make stack`)");
        ensure_template(&mut admin, &admin_url, &template, schema, sources).await;
        drop_abandoned(&mut admin).await;

        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let name = format!(
            "t_{now}_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let mut attempts = 0;
        loop {
            let created = diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
                .execute(&mut admin)
                .await;
            match created {
                Ok(_) => break,
                // Another process may briefly hold the template (its last test connection
                // closing); try again rather than fail.
                Err(err) if attempts < 100 && err.to_string().contains("being accessed") => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(err) => panic!("could not create test database {name}: {err}"),
            }
        }
        Self {
            url: with_database(&base_url, &name),
            name,
            schema: schema.to_owned(),
            admin_url,
        }
    }

    /// A pool on the test database using the service schema.
    #[expect(clippy::expect_used, reason = "test set-up")]
    pub fn pool(&self) -> DbPool {
        platform::db::pool(&self.url, &self.schema, 8).expect("build a pool")
    }

    /// One connection using the service schema.
    #[expect(clippy::expect_used, reason = "test set-up")]
    pub async fn conn(&self) -> AsyncPgConnection {
        platform::db::connect(&self.url, &self.schema)
            .await
            .expect("connect to the test database")
    }
}

#[derive(diesel::QueryableByName)]
struct Unsent {
    #[diesel(sql_type = diesel::sql_types::Text)]
    routing_key: String,
}

impl TestDb {
    /// The routing keys of the outbox rows still unsent after waiting up to `grace` for the
    /// service's relay; empty when there is no outbox in this schema.
    pub async fn unsent_outbox(&self, grace: Duration) -> Vec<String> {
        unsent(&self.url, &self.schema, grace).await
    }

    /// Fails the test (panics) when events written to the outbox were still unsent after
    /// `grace` (the relay sweeps every second): an event the test made but never saw
    /// published is a lost event or a test that ended too early. Blocking, so a service's
    /// harness calls it from `Drop`, *before* it stops the service and its relay; a test that
    /// is already failing is not failed twice.
    pub fn assert_outbox_sent(&self, grace: Duration) {
        if std::thread::panicking() {
            return;
        }
        let url = self.url.clone();
        let schema = self.schema.clone();
        let name = self.name.clone();
        let unsent = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            Some(runtime.block_on(unsent(&url, &schema, grace)))
        })
        .join()
        .ok()
        .flatten()
        .unwrap_or_default();
        assert!(
            unsent.is_empty(),
            "{} outbox row(s) of {name} still unsent {grace:?} after the test ended: {unsent:?}",
            unsent.len()
        );
    }
}

/// The routing keys of `schema`'s unsent outbox rows after waiting up to `grace`.
async fn unsent(url: &str, schema: &str, grace: Duration) -> Vec<String> {
    let Ok(mut conn) = platform::db::connect(url, schema).await else {
        return Vec::new();
    };
    let deadline = tokio::time::Instant::now() + grace;
    loop {
        let unsent: Vec<Unsent> = match diesel::sql_query(
            "SELECT routing_key FROM outbox WHERE sent_at IS NULL ORDER BY created_at",
        )
        .load(&mut conn)
        .await
        {
            Ok(rows) => rows,
            // No outbox in this schema: nothing to check.
            Err(_) => return Vec::new(),
        };
        if unsent.is_empty() || tokio::time::Instant::now() >= deadline {
            return unsent.into_iter().map(|row| row.routing_key).collect();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let done = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let Ok(runtime) = runtime else { return };
            runtime.block_on(async move {
                if let Ok(mut admin) = AsyncPgConnection::establish(&admin_url).await {
                    let dropped =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut admin)
                            .await;
                    if let Err(err) = dropped {
                        eprintln!("could not drop test database {name}: {err}");
                    }
                }
            });
        });
        let _ = done.join();
    }
}

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    datname: String,
}

#[expect(clippy::expect_used, reason = "test set-up")]
async fn ensure_template(
    admin: &mut AsyncPgConnection,
    admin_url: &str,
    template: &str,
    schema: &str,
    sources: &[MigrationSource],
) {
    diesel::sql_query("SELECT pg_advisory_lock(hashtext($1))")
        .bind::<diesel::sql_types::Text, _>(template)
        .execute(admin)
        .await
        .expect("take the template lock");
    let existing: Vec<Name> =
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE $1")
            .bind::<diesel::sql_types::Text, _>(format!("tpl_{schema}_%"))
            .load(admin)
            .await
            .expect("list templates");
    if !existing.iter().any(|db| db.datname == template) {
        let building = format!("{template}_building");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .execute(admin)
            .await
            .expect("drop a half-built template");
        diesel::sql_query(format!("CREATE DATABASE {building}"))
            .execute(admin)
            .await
            .expect("create the template");
        let url = with_database(admin_url, &building);
        let schema_owned = schema.to_owned();
        let sets: Vec<&'static EmbeddedMigrations> = sources.iter().map(|s| s.embedded).collect();
        // The migration harness blocks its thread, which tokio forbids on a test's
        // current-thread runtime: run it on a runtime of its own.
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let result = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
                .and_then(|runtime| {
                    runtime
                        .block_on(platform::db::migrate(&url, &schema_owned, &sets))
                        .map_err(|e| e.to_string())
                });
            let _ = tx.send(result);
        });
        let migrated = rx.await.expect("migration thread ended");
        if let Err(err) = migrated {
            panic!("migrations failed for schema {schema}: {err}");
        }
        diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {template}"))
            .execute(admin)
            .await
            .expect("publish the template");
        // Templates of older migrations are dead weight.
        for old in existing
            .iter()
            .filter(|db| !db.datname.ends_with("_building"))
        {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                old.datname
            ))
            .execute(admin)
            .await;
        }
    }
    diesel::sql_query("SELECT pg_advisory_unlock(hashtext($1))")
        .bind::<diesel::sql_types::Text, _>(template)
        .execute(admin)
        .await
        .expect("release the template lock");
}

async fn drop_abandoned(admin: &mut AsyncPgConnection) {
    let Ok(databases) =
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 't\\_%'")
            .load::<Name>(admin)
            .await
    else {
        return;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    for db in databases {
        let created = db
            .datname
            .split('_')
            .nth(1)
            .and_then(|t| t.parse::<u64>().ok());
        if created.is_some_and(|t| now.saturating_sub(t) > ABANDONED_AFTER.as_secs()) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                db.datname
            ))
            .execute(admin)
            .await;
        }
    }
}

/// `url` with its database name replaced.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// FNV-1a over the schema name and every migration file, stable across builds and runs.
fn fingerprint(schema: &str, sources: &[MigrationSource]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(schema.as_bytes());
    for source in sources {
        let root = Path::new(source.dir);
        let mut files = Vec::new();
        collect_files(root, &mut files);
        files.sort();
        for file in files {
            // The name within the source, not the path: the same migrations reached from
            // another crate (`services/payments/../..` or `tests/e2e/../..`) or another
            // checkout are the same template. With the path, each spelling built a template
            // of its own and dropped the others' as outdated while their tests used them.
            let name = file.strip_prefix(root).unwrap_or(&file);
            feed(name.to_string_lossy().as_bytes());
            feed(&std::fs::read(&file).unwrap_or_default());
        }
    }
    hash
}

fn collect_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_migrations_reached_by_another_path_are_the_same_template() {
        let direct = [MigrationSource {
            embedded: &events::MIGRATIONS,
            dir: events::MIGRATIONS_DIR,
        }];
        let around = [MigrationSource {
            embedded: &events::MIGRATIONS,
            dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../events/migrations"),
        }];
        assert_ne!(direct[0].dir, around[0].dir);
        assert_eq!(
            fingerprint("payments", &direct),
            fingerprint("payments", &around)
        );
        assert_ne!(
            fingerprint("payments", &direct),
            fingerprint("orders", &direct)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unsent_outbox_rows_fail_the_test_and_sent_ones_do_not() {
        let sources = [MigrationSource {
            embedded: &events::MIGRATIONS,
            dir: events::MIGRATIONS_DIR,
        }];
        let db = TestDb::new("testkit_outbox", &sources).await;
        let mut conn = db.conn().await;
        diesel::sql_query(
            "INSERT INTO outbox (id, routing_key, message_type, payload) \
             VALUES (gen_random_uuid(), 'order.submitted', 'OrderSubmitted', '')",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        let grace = Duration::from_millis(300);
        assert_eq!(db.unsent_outbox(grace).await, ["order.submitted"]);
        let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            db.assert_outbox_sent(grace);
        }));
        assert!(failed.is_err(), "an unsent row must fail the test");

        diesel::sql_query("UPDATE outbox SET sent_at = now()")
            .execute(&mut conn)
            .await
            .unwrap();
        assert!(db.unsent_outbox(grace).await.is_empty());
        db.assert_outbox_sent(grace);
    }

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/faded_skies", "t_1"),
            "postgres://u:p@h:5432/t_1"
        );
        assert_eq!(
            with_database("postgres://h/db?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
