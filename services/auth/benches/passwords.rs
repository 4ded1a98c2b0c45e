//! The CPU cost of a login: verifying an argon2id hash with the chosen parameters
//! (m = 19 MiB, t = 2, p = 1), which dominates login latency, and of hashing at registration.

#![expect(clippy::unwrap_used, reason = "a bench fails loudly on broken set-up")]

use auth::passwords::Passwords;
use criterion::{Criterion, criterion_group, criterion_main};
use domain::Password;
use std::time::Duration;

fn passwords(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let password = Password::parse("Gr33n!Leaf").unwrap();
    let passwords = Passwords::new(1, Duration::from_secs(60)).unwrap();
    let stored = runtime.block_on(passwords.hash(&password)).unwrap();

    let mut group = c.benchmark_group("argon2id");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("verify (login)", |b| {
        b.iter(|| {
            runtime
                .block_on(passwords.verify("Gr33n!Leaf", Some(stored.clone())))
                .unwrap()
        })
    });
    group.bench_function("verify unknown email (dummy hash)", |b| {
        b.iter(|| {
            runtime
                .block_on(passwords.verify("Gr33n!Leaf", None))
                .unwrap()
        })
    });
    group.bench_function("hash (registration)", |b| {
        b.iter(|| runtime.block_on(passwords.hash(&password)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, passwords);
criterion_main!(benches);
