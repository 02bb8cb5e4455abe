#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use rampart_limiter::{Limiter, LimiterOptions, RateLimit};
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let rate = RateLimit::new(1e9, 1_000_000).unwrap();
    let limiter: Limiter<String> = Limiter::new(Some(rate), None, LimiterOptions::default());
    for i in 0..10_000 {
        limiter.decide(format!("other-key-{i:08}").as_str(), Duration::ZERO);
    }
    let key = "AKIAIOSFODNN7EXAMPLEkey0123456789";
    limiter.decide(key, Duration::ZERO);
    let mut t = 0u64;
    c.bench_function("decide warm key", |b| {
        b.iter(|| {
            t += 1_000;
            limiter.decide(black_box(key), Duration::from_nanos(t))
        })
    });
    let mut tat = 0u64;
    c.bench_function("gcra step", |b| {
        b.iter(|| {
            t += 1_000;
            rate.decide(black_box(&mut tat), black_box(t))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
