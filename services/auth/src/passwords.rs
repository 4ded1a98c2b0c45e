//! Password hashing: argon2id with OWASP's minimum parameters (m = 19 MiB, t = 2, p = 1,
//! argon2's defaults), stored as PHC strings. Hashing takes tens of milliseconds of CPU, so it
//! runs on threads of its own, never on an async worker.
//!
//! Each hash also needs 19 MiB of working memory, and tokio's blocking pool would run
//! hundreds at once: a burst of logins could take the process past its memory limit.
//! [`Passwords`] runs a bounded number at a time (a semaphore sized from the memory budget);
//! a request that cannot get a slot within the configured wait is answered 503 with
//! `Retry-After` instead of queueing without end.
//!
//! The hashes run on one long-lived thread per slot, each hashing in a 19 MiB buffer of its
//! own, allocated on its first hash and reused: memory is the budget and stays there. Letting
//! argon2 allocate per hash on the blocking pool was not enough even behind the semaphore:
//! glibc keeps freed blocks of that size in the arena of the thread that used them, and the
//! blocking pool starts another thread whenever none is idle at that instant, so two slots
//! still grew the process by hundreds of MiB (`tests/it/memory.rs`).

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use domain::{Code, Password, Problem};
use rand::RngCore;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

/// KiB of memory one hash with the default parameters holds (19 MiB).
pub const KIB_PER_HASH: u64 = Params::DEFAULT_M_COST as u64;

/// How many hashes fit in `budget_mib` MiB at once.
pub fn concurrency_for_budget(budget_mib: u64) -> usize {
    usize::try_from(budget_mib.saturating_mul(1024) / KIB_PER_HASH).unwrap_or(usize::MAX)
}

/// Hashes and verifies passwords, at most a configured number at a time.
#[derive(Debug, Clone)]
pub struct Passwords {
    slots: Arc<Semaphore>,
    wait: Duration,
    jobs: Sender<Job>,
}

/// One hash or verification, run with the thread's working memory; it carries its slot and
/// where its answer goes.
type Job = Box<dyn FnOnce(&mut Memory) + Send>;

impl Passwords {
    /// At most `concurrency` (at least 1) hashes at once, on as many threads; a caller waits
    /// up to `wait` for a slot. Fails only if the threads cannot be started.
    pub fn new(concurrency: usize, wait: Duration) -> std::io::Result<Self> {
        let concurrency = concurrency.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..concurrency {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || work_through(&queue))?;
        }
        Ok(Self {
            slots: Arc::new(Semaphore::new(concurrency)),
            wait,
            jobs,
        })
    }

    /// Hashes `password` as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
    pub async fn hash(&self, password: &Password) -> Result<String, Problem> {
        let plain = password.expose().to_owned();
        self.run(move |memory| hash_with(memory, plain.as_bytes()))
            .await?
            .map_err(|err| Problem::internal(&err))
    }

    /// Whether `plain` matches `stored`. With no stored hash (unknown email) a dummy hash is
    /// checked instead, so the answer takes as long either way and timing does not reveal
    /// which emails have accounts.
    pub async fn verify(&self, plain: &str, stored: Option<String>) -> Result<bool, Problem> {
        let plain = plain.to_owned();
        self.run(move |memory| {
            let dummy = dummy_hash(memory);
            let stored = stored.as_deref().unwrap_or(dummy);
            verify_with(memory, plain.as_bytes(), stored) && stored != dummy
        })
        .await
    }

    /// Runs `work` on a hashing thread once a slot is free. The slot goes with the work, not
    /// with the request: a client that hangs up does not free it while the hash still runs.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, Problem> {
        let slot = self.slot().await?;
        let (answer, answered) = oneshot::channel();
        self.jobs
            .send(Box::new(move |memory| {
                let _slot = slot;
                let _ = answer.send(work(memory));
            }))
            .map_err(|_| Problem::internal(&"the password-hashing threads have stopped"))?;
        answered
            .await
            .map_err(|_| Problem::internal(&"a password hash failed"))
    }

    async fn slot(&self) -> Result<OwnedSemaphorePermit, Problem> {
        match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(slot)) => Ok(slot),
            // The semaphore is never closed; a timeout is the only real refusal.
            Ok(Err(_)) | Err(_) => {
                metrics::counter!("auth_password_hash_busy_total").increment(1);
                Err(busy())
            }
        }
    }
}

/// `503` with `Retry-After` for a request that found every hashing slot taken.
fn busy() -> Problem {
    Problem::new(Code::ServiceUnavailable)
        .with_detail("Too many passwords are being checked at once; please retry in a moment.")
        .with_retry_after(1)
}

/// A hashing thread: runs jobs until every [`Passwords`] handle is gone. A job that panics
/// answers nothing (its caller gets a 500) and leaves the thread running.
fn work_through(queue: &Mutex<Receiver<Job>>) {
    let mut memory = Memory::default();
    loop {
        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = job else { return };
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
    }
}

/// A hashing thread's working memory, kept from one hash to the next. Every hash overwrites
/// the blocks it uses before reading them, so what the last one left does not matter.
#[derive(Default)]
struct Memory(Vec<Block>);

impl Memory {
    /// The first `count` blocks, growing the buffer the first time (or for a stored hash with
    /// more memory than ours).
    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.0.len() < count {
            self.0.resize(count, Block::default());
        }
        &mut self.0[..count]
    }
}

/// A PHC string of `plain` hashed with a new salt and the default parameters.
fn hash_with(memory: &mut Memory, plain: &[u8]) -> Result<String, argon2::password_hash::Error> {
    let params = Params::default();
    let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = Salt::new(&salt)?;
    let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let blocks = memory.blocks(params.block_count());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(plain, &salt, &mut output, blocks)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt),
        hash: Some(Output::new(&output)?),
    };
    Ok(hash.to_string())
}

/// Whether `plain` hashes to `stored` (a PHC string of any argon2 variant and parameters).
/// The outputs are compared in constant time (`Output`'s equality).
fn verify_with(memory: &mut Memory, plain: &[u8], stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let algorithm = Algorithm::try_from(hash.algorithm.as_str());
    let version = hash
        .version
        .map_or(Ok(Version::default()), Version::try_from);
    let (Ok(algorithm), Ok(version), Ok(params)) = (algorithm, version, Params::try_from(&hash))
    else {
        return false;
    };
    let mut output = [0u8; Output::MAX_LENGTH];
    let Some(output) = output.get_mut(..expected.len()) else {
        return false;
    };
    let blocks = memory.blocks(params.block_count());
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(plain, salt, output, blocks)
        .is_ok()
        && Output::new(output).is_ok_and(|computed| computed == *expected)
}

/// The hash unknown emails are checked against, made once.
fn dummy_hash(memory: &mut Memory) -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_with(memory, b"not anybody's password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordHasher;

    fn passwords() -> Passwords {
        Passwords::new(2, Duration::from_secs(10)).unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let passwords = passwords();
        let password = Password::parse("Sup3r$ecret").unwrap();
        let stored = passwords.hash(&password).await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(
            passwords
                .verify("Sup3r$ecret", Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(!passwords.verify("Sup3r$ecreT", Some(stored)).await.unwrap());
    }

    /// Hashes stored before hashing moved to reused memory (made by the argon2 crate's own
    /// `hash_password`), and hashes with other parameters, still verify; ours verify there.
    #[tokio::test]
    async fn hashes_are_the_argon2_crates_phc_strings_both_ways() {
        let passwords = passwords();
        let theirs = Argon2::default()
            .hash_password(b"Sup3r$ecret")
            .unwrap()
            .to_string();
        assert!(
            passwords
                .verify("Sup3r$ecret", Some(theirs.clone()))
                .await
                .unwrap()
        );
        assert!(!passwords.verify("Sup3r$ecreT", Some(theirs)).await.unwrap());

        let small = Params::new(1024, 1, 1, None).unwrap();
        let other = Argon2::new(Algorithm::Argon2i, Version::V0x10, small)
            .hash_password(b"Sup3r$ecret")
            .unwrap()
            .to_string();
        assert!(passwords.verify("Sup3r$ecret", Some(other)).await.unwrap());

        let ours = passwords
            .hash(&Password::parse("Sup3r$ecret").unwrap())
            .await
            .unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            argon2::PasswordVerifier::verify_password(&Argon2::default(), b"Sup3r$ecret", &parsed)
                .is_ok()
        );
        for broken in ["", "$argon2id$v=19$m=19456,t=2,p=1$", "plain text"] {
            assert!(!passwords.verify("", Some(broken.to_owned())).await.unwrap());
        }
    }

    #[tokio::test]
    async fn no_account_never_matches_even_the_dummy_password() {
        let passwords = passwords();
        assert!(
            !passwords
                .verify("not anybody's password", None)
                .await
                .unwrap()
        );
        assert!(!passwords.verify("anything", None).await.unwrap());
    }

    #[test]
    fn the_budget_is_counted_in_whole_hashes_of_19_mib() {
        assert_eq!(concurrency_for_budget(128), 6);
        assert_eq!(concurrency_for_budget(19), 1);
        assert_eq!(concurrency_for_budget(18), 0);
        assert_eq!(concurrency_for_budget(40), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_that_finds_every_slot_taken_is_refused_with_retry_after() {
        let passwords = Passwords::new(1, Duration::from_millis(50)).unwrap();
        let taken = passwords.slots.clone().acquire_owned().await.unwrap();
        let refused = passwords.verify("anything", None).await.unwrap_err();
        assert_eq!(refused.status(), 503);
        assert_eq!(refused.retry_after(), Some(1));
        drop(taken);
        assert!(!passwords.verify("anything", None).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_hashes_run_at_once_than_there_are_slots() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let passwords = Passwords::new(2, Duration::from_secs(30)).unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                let passwords = passwords.clone();
                tokio::spawn(async move {
                    passwords
                        .run(move |_| {
                            let now = running.fetch_add(1, SeqCst) + 1;
                            most.fetch_max(now, SeqCst);
                            std::thread::sleep(Duration::from_millis(20));
                            running.fetch_sub(1, SeqCst);
                        })
                        .await
                        .unwrap();
                })
            })
            .collect();
        for call in calls {
            call.await.unwrap();
        }
        assert_eq!(most.load(SeqCst), 2);
    }
}
