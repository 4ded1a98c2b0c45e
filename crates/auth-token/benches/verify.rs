//! How long a service spends verifying one access token (static key, the JWKS path is the
//! same after the first fetch).

#![expect(
    clippy::unwrap_used,
    reason = "a test or bench fails loudly on broken set-up"
)]

use auth_token::{Claims, Signer, Verifier, VerifierSettings};
use criterion::{Criterion, criterion_group, criterion_main};
use domain::{Role, UserId};
use std::time::Duration;

fn verify(c: &mut Criterion) {
    let signer = Signer::generate("bench").unwrap();
    let settings = VerifierSettings::new("faded-skies-auth", "faded-skies");
    let verifier = Verifier::from_signers(&settings, [&signer]);
    let claims = Claims::new(
        UserId::new(),
        Role::Customer,
        true,
        Duration::from_secs(900),
        "faded-skies-auth",
        "faded-skies",
    );
    let token = signer.sign(&claims).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();

    c.bench_function("verify_eddsa_token", |b| {
        b.iter(|| {
            runtime
                .block_on(verifier.verify(std::hint::black_box(&token)))
                .unwrap()
        })
    });
    c.bench_function("sign_eddsa_token", |b| {
        b.iter(|| signer.sign(std::hint::black_box(&claims)).unwrap())
    });
}

criterion_group!(benches, verify);
criterion_main!(benches);
