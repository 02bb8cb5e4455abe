#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Against real `redis-server` processes (`testing::RedisServer`, one per test).

use rampart_limiter::RateLimit;
use rampart_limiter_redis::testing::RedisServer;
use rampart_limiter_redis::{
    Check, Counter, Error, Outcome, QuotaCheck, QuotaOutcome, RedisLimiter, RedisOptions,
};
use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Generous timeout for tests that expect success (the machine may be slow and busy).
fn opts(url: &str, prefix: &str) -> RedisOptions {
    RedisOptions {
        url: url.to_owned(),
        prefix: prefix.to_owned(),
        pool_size: 2,
        timeout: Duration::from_secs(2),
        retry_interval: Duration::from_millis(250),
    }
}

fn limiter(server: &RedisServer, prefix: &str) -> RedisLimiter {
    RedisLimiter::new(opts(&server.url(), prefix)).unwrap()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn cmd_i64(con: &mut redis::aio::MultiplexedConnection, cmd: &str, key: &str) -> i64 {
    redis::cmd(cmd).arg(key).query_async(con).await.unwrap()
}

async fn get(con: &mut redis::aio::MultiplexedConnection, key: &str) -> Option<String> {
    redis::cmd("GET").arg(key).query_async(con).await.unwrap()
}

fn throttle(key: &str, rate: RateLimit) -> Check<'_> {
    Check {
        throttle: Some((key, rate)),
        ..Check::default()
    }
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn gcra_matches_rate_limit_peek_on_injected_times() {
    let server = RedisServer::start();
    let lim = limiter(&server, "parity:");
    let mut con = raw(&server).await;
    // Rates whose interval is a whole number of microseconds (so the µs script and the ns
    // engine agree exactly), tolerances >= 1 s so no bucket's PX (>= 1 s of real time)
    // runs out during the test.
    let cases = [
        (10.0, 10),
        (20.0, 40),
        (1.0, 1),
        (0.5, 2),
        (4.0, 10),
        (1000.0, 2000),
    ];
    let t0: u64 = 1_700_000_000_000_000; // µs since the epoch
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut denials = 0;
    let mut partial = 0;
    for (i, (rate, burst)) in cases.into_iter().enumerate() {
        let rl = RateLimit::new(rate, burst).unwrap();
        let interval = (1e6 / rate) as u64;
        let key = format!("b{i}");
        let mut tat_ns = 0u64;
        let mut now = t0;
        for step in 0..200 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            // Mostly bursts and sub-interval gaps (to hit denials), sometimes long idles.
            let gap = match seed % 10 {
                0..=3 => 0,
                4..=6 => (seed >> 8) % interval,
                7 | 8 => interval,
                _ => (seed >> 8) % (interval * u64::from(burst) * 2),
            };
            now += gap;
            let expected = rl.decide(&mut tat_ns, now * 1000);
            let got = lim.check_at(&throttle(&key, rl), now).await.unwrap();
            assert_eq!(
                got,
                Outcome {
                    allowed: expected.allowed,
                    throttle: Some(expected),
                    quota: None
                },
                "rate {rate} burst {burst} step {step} at +{} µs",
                now - t0
            );
            if !expected.allowed {
                denials += 1;
            } else if expected.remaining > 0 && expected.remaining < burst - 1 {
                partial += 1;
            }
            // The stored state is the engine's TAT in whole microseconds.
            let stored = get(&mut con, &format!("parity:{key}")).await;
            assert_eq!(stored, Some((tat_ns / 1000).to_string()));
        }
    }
    // The sequence exercised both branches.
    assert!(denials > 50, "only {denials} denials");
    assert!(partial > 50, "only {partial} partial buckets");
}

#[tokio::test]
async fn redis_clock_is_used_without_injected_time() {
    let server = RedisServer::start();
    let lim = limiter(&server, "clock:");
    let rl = RateLimit::new(1.0, 2).unwrap();
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    let d = lim.check(&throttle("k", rl)).await.unwrap();
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    assert!(d.allowed);
    let mut con = raw(&server).await;
    let tat: u64 = get(&mut con, "clock:k").await.unwrap().parse().unwrap();
    // A full bucket's TAT becomes now + 1 s, on the (same host's) Redis clock.
    assert!(
        tat >= before + 1_000_000 && tat <= after + 1_000_000,
        "{before} {tat} {after}"
    );
}

#[tokio::test]
async fn burst_then_steady_rate_in_real_time() {
    let server = RedisServer::start();
    let lim = limiter(&server, "rt:");
    lim.ping().await.unwrap(); // connect first, so the burst is not slowed by it
    let rl = RateLimit::new(20.0, 5).unwrap();
    let check = throttle("k", rl);
    let t0 = Instant::now();
    for i in 0..5 {
        let o = lim.check(&check).await.unwrap();
        assert!(o.allowed, "burst request {i}");
        assert_eq!(o.throttle.unwrap().remaining, 4 - i);
    }
    let o = lim.check(&check).await.unwrap();
    let d = o.throttle.unwrap();
    assert!(!o.allowed && !d.allowed);
    assert!(d.retry_after > Duration::ZERO && d.retry_after <= Duration::from_millis(50));
    // Then one token per 50 ms: over ~1 s about 20 more. Allowed after the burst, at time D
    // after t0, is floor(D / 50 ms) when polled continuously; tolerance: 2 fewer (polling
    // granularity, slow calls near the end), 1 more (clock read order).
    let mut allowed = 0u64;
    while t0.elapsed() < Duration::from_secs(1) {
        if lim.check(&check).await.unwrap().allowed {
            allowed += 1;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let expected = (t0.elapsed().as_millis() / 50) as u64;
    assert!(
        allowed + 2 >= expected && allowed <= expected + 1,
        "{allowed} allowed after the burst, expected {expected} (-2/+1)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_is_exact_across_four_nodes_under_concurrency() {
    let server = RedisServer::start();
    let nodes: Vec<RedisLimiter> = (0..4)
        .map(|_| {
            RedisLimiter::new(RedisOptions {
                timeout: Duration::from_secs(5),
                ..opts(&server.url(), "conc:")
            })
            .unwrap()
        })
        .collect();
    let expire = unix_now() + 3600;
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let node = nodes[i % 4].clone();
            tokio::spawn(async move {
                node.check(&Check {
                    throttle: None,
                    quota: Some(QuotaCheck {
                        key: "q:1",
                        limit: 57,
                        expire_at_unix: expire,
                    }),
                    usage: Some(Counter {
                        key: "u:1",
                        expire_at_unix: expire,
                    }),
                })
                .await
            })
        })
        .collect();
    let mut allowed = 0;
    let mut denied = 0;
    for t in tasks {
        let o = t.await.unwrap().unwrap();
        let q = o.quota.unwrap();
        if o.allowed {
            assert!(q.allowed && q.used >= 1 && q.used <= 57 && q.remaining == 57 - q.used);
            allowed += 1;
        } else {
            assert_eq!(
                q,
                QuotaOutcome {
                    allowed: false,
                    used: 57,
                    remaining: 0
                }
            );
            denied += 1;
        }
    }
    assert_eq!((allowed, denied), (57, 143));
    let counts = nodes[0]
        .get_many(&["q:1".into(), "u:1".into(), "missing".into()])
        .await
        .unwrap();
    assert_eq!(counts, vec![57, 57, 0]);
}

#[tokio::test]
async fn throttle_denial_consumes_no_quota_and_quota_denial_no_token() {
    let server = RedisServer::start();
    let lim = limiter(&server, "x:");
    let mut con = raw(&server).await;
    let t = 1_700_000_000_000_000u64;
    let expire = unix_now() + 3600;

    // Throttle 1/s burst 1 with a quota of 10: the second request is throttled.
    let rl = RateLimit::new(1.0, 1).unwrap();
    let c = Check {
        throttle: Some(("b1", rl)),
        quota: Some(QuotaCheck {
            key: "q1",
            limit: 10,
            expire_at_unix: expire,
        }),
        usage: Some(Counter {
            key: "u1",
            expire_at_unix: expire,
        }),
    };
    let first = lim.check_at(&c, t).await.unwrap();
    assert!(first.allowed);
    assert_eq!(
        first.quota,
        Some(QuotaOutcome {
            allowed: true,
            used: 1,
            remaining: 9
        })
    );
    let second = lim.check_at(&c, t + 1).await.unwrap();
    assert!(!second.allowed);
    assert!(!second.throttle.unwrap().allowed);
    assert_eq!(second.quota, None);
    assert_eq!(
        lim.get_many(&["q1".into(), "u1".into()]).await.unwrap(),
        vec![1, 1]
    );

    // Quota of 1 with a burst of 3: the second request is over quota and takes no token.
    let rl = RateLimit::new(1.0, 3).unwrap();
    let with_quota = |q: &'static str| Check {
        throttle: Some(("b2", rl)),
        quota: Some(QuotaCheck {
            key: q,
            limit: 1,
            expire_at_unix: expire,
        }),
        usage: Some(Counter {
            key: "u2",
            expire_at_unix: expire,
        }),
    };
    let a = lim.check_at(&with_quota("q2"), t).await.unwrap();
    assert!(a.allowed);
    assert_eq!(a.throttle.unwrap().remaining, 2);
    let tat = get(&mut con, "x:b2").await;
    let b = lim.check_at(&with_quota("q2"), t).await.unwrap();
    assert!(!b.allowed);
    assert_eq!(
        b.quota,
        Some(QuotaOutcome {
            allowed: false,
            used: 1,
            remaining: 0
        })
    );
    // Like Limiter::check: the throttle's (allowed) decision is reported, not applied.
    assert!(b.throttle.unwrap().allowed);
    assert_eq!(get(&mut con, "x:b2").await, tat, "bucket untouched");
    assert_eq!(
        lim.get_many(&["q2".into(), "u2".into()]).await.unwrap(),
        vec![1, 1],
        "nothing consumed or counted"
    );
    // The token the denied request did not take is still there.
    let c = lim.check_at(&with_quota("q2-next"), t).await.unwrap();
    assert!(c.allowed);
    assert_eq!(c.throttle.unwrap().remaining, 1);
}

#[tokio::test]
async fn keys_get_expiries() {
    let server = RedisServer::start();
    let lim = limiter(&server, "ttl:");
    let mut con = raw(&server).await;
    let now = unix_now();
    let c = Check {
        throttle: Some(("b", RateLimit::new(20.0, 5).unwrap())),
        quota: Some(QuotaCheck {
            key: "q",
            limit: 100,
            expire_at_unix: now + 3600,
        }),
        usage: Some(Counter {
            key: "u",
            expire_at_unix: now + 7200,
        }),
    };
    assert!(lim.check(&c).await.unwrap().allowed);
    let q = cmd_i64(&mut con, "TTL", "ttl:q").await;
    let u = cmd_i64(&mut con, "TTL", "ttl:u").await;
    let b = cmd_i64(&mut con, "PTTL", "ttl:b").await;
    assert!(q > 3500 && q <= 3601, "quota TTL {q}");
    assert!(u > 7100 && u <= 7201, "usage TTL {u}");
    // Time until full (50 ms) + 1 s slack.
    assert!(b > 0 && b <= 1050, "bucket PTTL {b}");
    // An emptier bucket lives longer.
    for _ in 0..4 {
        lim.check(&c).await.unwrap();
    }
    let b = cmd_i64(&mut con, "PTTL", "ttl:b").await;
    assert!(b > 1100 && b <= 1250, "bucket PTTL {b}");
}

#[tokio::test]
async fn deny_all_limits_never_touch_redis() {
    let server = RedisServer::start();
    let lim = limiter(&server, "deny:");
    let mut con = raw(&server).await;
    let expire = unix_now() + 3600;
    for rl in [
        RateLimit::new(0.0, 10).unwrap(),
        RateLimit::new(5.0, 0).unwrap(),
    ] {
        assert!(rl.denies_all());
        let o = lim
            .check(&Check {
                throttle: Some(("b", rl)),
                quota: Some(QuotaCheck {
                    key: "q",
                    limit: 10,
                    expire_at_unix: expire,
                }),
                usage: Some(Counter {
                    key: "u",
                    expire_at_unix: expire,
                }),
            })
            .await
            .unwrap();
        assert!(!o.allowed);
        assert_eq!(o.quota, None);
        let d = o.throttle.unwrap();
        assert!(!d.allowed);
        assert_eq!(d.retry_after, Duration::MAX);
    }
    let size: i64 = redis::cmd("DBSIZE").query_async(&mut con).await.unwrap();
    assert_eq!(size, 0);
    // Not even a connection is needed.
    let down =
        RedisLimiter::new(opts(&format!("redis://127.0.0.1:{}/0", closed_port()), "")).unwrap();
    let o = down
        .check(&throttle("b", RateLimit::new(0.0, 1).unwrap()))
        .await
        .unwrap();
    assert!(!o.allowed);
}

#[tokio::test]
async fn get_many_reads_counters_and_rejects_non_integers() {
    let server = RedisServer::start();
    let lim = limiter(&server, "gm:");
    let mut con = raw(&server).await;
    assert_eq!(lim.get_many(&[]).await.unwrap(), Vec::<u64>::new());
    let _: () = redis::cmd("MSET")
        .arg("gm:a")
        .arg("7")
        .arg("gm:b")
        .arg("12345678901")
        .arg("c")
        .arg("99")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(
        lim.get_many(&["a".into(), "b".into(), "c".into()])
            .await
            .unwrap(),
        vec![7, 12_345_678_901, 0]
    );
    let _: () = redis::cmd("SET")
        .arg("gm:bad")
        .arg("x")
        .query_async(&mut con)
        .await
        .unwrap();
    let err = lim.get_many(&["bad".into()]).await.unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
    // Redis answered: healthy, and the breaker stays closed.
    assert!(lim.is_healthy());
    assert_eq!(lim.get_many(&["a".into()]).await.unwrap(), vec![7]);
}

#[tokio::test]
async fn script_errors_are_protocol_errors_and_write_nothing() {
    let server = RedisServer::start();
    let lim = limiter(&server, "pe:");
    let mut con = raw(&server).await;
    let _: () = redis::cmd("HSET")
        .arg("pe:b")
        .arg("f")
        .arg("v")
        .query_async(&mut con)
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("pe:q")
        .arg("1.5")
        .query_async(&mut con)
        .await
        .unwrap();
    let expire = unix_now() + 60;
    let err = lim
        .check(&throttle("b", RateLimit::new(1.0, 1).unwrap()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Protocol(m) if m.contains("WRONGTYPE")),
        "{err}"
    );
    let err = lim
        .check(&Check {
            throttle: Some(("b2", RateLimit::new(1.0, 1).unwrap())),
            quota: Some(QuotaCheck {
                key: "q",
                limit: 5,
                expire_at_unix: expire,
            }),
            usage: Some(Counter {
                key: "u",
                expire_at_unix: expire,
            }),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Protocol(m) if m.contains("not an integer")),
        "{err}"
    );
    let exists: i64 = redis::cmd("EXISTS")
        .arg("pe:b2")
        .arg("pe:u")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(exists, 0, "nothing written by the failed check");
    assert!(lim.is_healthy());
}

#[tokio::test]
async fn down_at_start_fails_fast_then_recovers_on_its_own() {
    let mut server = RedisServer::start();
    server.stop();
    let lim = RedisLimiter::new(RedisOptions {
        timeout: Duration::from_millis(50),
        retry_interval: Duration::from_millis(300),
        ..opts(&server.url(), "down:")
    })
    .unwrap();
    assert!(!lim.is_healthy());
    let c = throttle("b", RateLimit::new(10.0, 10).unwrap());
    let t = Instant::now();
    let err = lim.check(&c).await.unwrap_err();
    let first_failure = Instant::now();
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert!(
        matches!(&err, Error::Unavailable(m) if !m.contains("circuit open")),
        "{err}"
    );
    // Within the retry interval: fail fast without trying.
    let t = Instant::now();
    let err = lim.check(&c).await.unwrap_err();
    assert!(t.elapsed() < Duration::from_millis(20));
    assert!(
        matches!(&err, Error::Unavailable(m) if m.contains("circuit open")),
        "{err}"
    );
    assert!(!lim.is_healthy());

    server.start_again();
    // Still open right after Redis is back (unless the machine was slow to restart it).
    if first_failure.elapsed() < Duration::from_millis(250) {
        let err = lim.check(&c).await.unwrap_err();
        assert!(
            matches!(&err, Error::Unavailable(m) if m.contains("circuit open")),
            "{err}"
        );
    }
    let recovered = poll_until_ok(&lim, &c).await;
    assert!(recovered.duration_since(first_failure) >= Duration::from_millis(290));
    assert!(lim.is_healthy());
}

#[tokio::test]
async fn restart_mid_test_fails_then_recovers_with_the_same_limiter() {
    let mut server = RedisServer::start();
    let lim = RedisLimiter::new(RedisOptions {
        timeout: Duration::from_secs(1),
        retry_interval: Duration::from_millis(250),
        ..opts(&server.url(), "restart:")
    })
    .unwrap();
    let rl = RateLimit::new(100.0, 1000).unwrap();
    let c = Check {
        throttle: Some(("b", rl)),
        quota: None,
        usage: Some(Counter {
            key: "u",
            expire_at_unix: unix_now() + 3600,
        }),
    };
    for _ in 0..2 {
        // Use both pooled connections.
        assert!(lim.check(&c).await.unwrap().allowed);
    }
    assert!(lim.is_healthy());

    server.stop();
    let t = Instant::now();
    let err = lim.check(&c).await.unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert!(matches!(err, Error::Unavailable(_)), "{err}");
    assert!(!lim.is_healthy());
    let err = lim.check(&c).await.unwrap_err();
    assert!(
        matches!(&err, Error::Unavailable(m) if m.contains("circuit open")),
        "{err}"
    );

    // A new, empty Redis on the same port (no script cached: EVALSHA falls back).
    server.start_again();
    poll_until_ok(&lim, &c).await;
    assert!(lim.is_healthy());
    // Every pooled connection works again.
    for _ in 0..4 {
        assert!(lim.check(&c).await.unwrap().allowed);
    }
    let used = lim.get_many(&["u".into()]).await.unwrap();
    assert!(used[0] >= 5, "{used:?}");
}

#[tokio::test]
async fn redis_restart_while_idle_costs_no_failure() {
    let mut server = RedisServer::start();
    let lim = limiter(&server, "idle:");
    let c = throttle("b", RateLimit::new(100.0, 1000).unwrap());
    for _ in 0..4 {
        // Both pooled connections are established and have worked.
        assert!(lim.check(&c).await.unwrap().allowed);
    }
    server.start_again(); // kill, then a new process on the same port
                          // Each stale connection is found closed, replaced and the command retried once.
    for i in 0..4 {
        let o = lim.check(&c).await;
        assert!(
            matches!(o, Ok(Outcome { allowed: true, .. })),
            "check {i}: {o:?}"
        );
    }
    assert!(lim.is_healthy());
}

/// Retries every 20 ms until a check succeeds (at most 10 s); returns when.
async fn poll_until_ok(lim: &RedisLimiter, c: &Check<'_>) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match lim.check(c).await {
            Ok(_) => return Instant::now(),
            Err(Error::Unavailable(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("no recovery: {e}"),
        }
    }
}

#[tokio::test]
async fn black_holed_redis_costs_at_most_the_timeout() {
    // Accepts connections (kernel backlog) and never answers.
    let hole = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let url = format!("redis://127.0.0.1:{}/0", hole.local_addr().unwrap().port());
    let lim = RedisLimiter::new(RedisOptions {
        timeout: Duration::from_millis(50),
        retry_interval: Duration::from_millis(100),
        ..opts(&url, "")
    })
    .unwrap();
    let c = throttle("b", RateLimit::new(1.0, 1).unwrap());
    for round in 0..3 {
        let t = Instant::now();
        let err = lim.check(&c).await.unwrap_err();
        let took = t.elapsed();
        assert!(matches!(err, Error::Unavailable(_)), "{err}");
        assert!(
            took >= Duration::from_millis(40) && took < Duration::from_millis(500),
            "round {round}: {took:?}"
        );
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
    drop(hole);
}

#[tokio::test]
async fn passwords_never_show() {
    let server = RedisServer::start_with_args(&["--requirepass", "Corr3ct-Horse"]);
    let port = server.port;

    // The right password works.
    let ok = limiter_url(&format!("redis://:Corr3ct-Horse@127.0.0.1:{port}/0"));
    assert!(
        ok.check(&throttle("b", RateLimit::new(1.0, 1).unwrap()))
            .await
            .unwrap()
            .allowed
    );
    let ok = limiter_url(&format!("redis://default:Corr3ct-Horse@127.0.0.1:{port}/0"));
    assert!(ok.ping().await.is_ok());
    assert!(!format!("{ok:?}").contains("Corr3ct-Horse"));

    let c = throttle("b", RateLimit::new(1.0, 1).unwrap());
    for (url, secret) in [
        (
            format!("redis://:wr0ng-Pass@127.0.0.1:{port}/0"),
            "wr0ng-Pass",
        ),
        (
            format!("redis://default:wr0ng%40Pass@127.0.0.1:{port}/0"),
            "wr0ng",
        ),
        (
            format!("redis://admin:Sw0rdfish-9@127.0.0.1:{}/0", closed_port()),
            "Sw0rdfish-9",
        ),
    ] {
        let opts = opts(&url, "");
        assert!(!format!("{opts:?}").contains(secret));
        let lim = RedisLimiter::new(opts).unwrap();
        assert!(!format!("{lim:?}").contains(secret));
        let err = lim.check(&c).await.unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(matches!(err, Error::Unavailable(_)), "{shown}");
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains("***"), "{shown}");
        // The breaker's message too.
        let err = lim.check(&c).await.unwrap_err();
        assert!(!format!("{err} {err:?}").contains(secret));
    }
    // An invalid URL with a password.
    let err = RedisLimiter::new(opts("redis://:Tr0ub4dor@127.0.0.1:notaport/0", "")).unwrap_err();
    assert!(matches!(&err, Error::Config(_)));
    assert!(!format!("{err} {err:?}").contains("Tr0ub4dor"), "{err}");
}

fn limiter_url(url: &str) -> RedisLimiter {
    RedisLimiter::new(opts(url, "pw:")).unwrap()
}

#[tokio::test]
async fn empty_check_is_allowed_without_redis() {
    let down =
        RedisLimiter::new(opts(&format!("redis://127.0.0.1:{}/0", closed_port()), "")).unwrap();
    let o = down.check(&Check::default()).await.unwrap();
    assert_eq!(
        o,
        Outcome {
            allowed: true,
            throttle: None,
            quota: None
        }
    );
}

#[test]
fn limiter_is_send_sync_clone() {
    fn assert_traits<T: Send + Sync + Clone + 'static>() {}
    assert_traits::<RedisLimiter>();
}

/// `calls=` of one command in `INFO commandstats`.
async fn command_calls(con: &mut redis::aio::MultiplexedConnection, name: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(con)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{name}:calls=")))
        .map_or(0, |rest| {
            rest.split(',').next().unwrap().parse::<u64>().unwrap()
        })
}

/// The counter-touching commands Redis has run so far (scripts' `redis.call`s included).
async fn data_commands(con: &mut redis::aio::MultiplexedConnection) -> u64 {
    let mut n = 0;
    for name in ["get", "set", "incr", "decr", "del", "expireat"] {
        n += command_calls(con, name).await;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checks_share_script_calls_and_fail_alone() {
    let server = RedisServer::start();
    let lim = RedisLimiter::new(RedisOptions {
        pool_size: 1,
        timeout: Duration::from_secs(5),
        ..opts(&server.url(), "bt:")
    })
    .unwrap();
    let mut con = raw(&server).await;
    // A quota counter that is not an integer: its checks fail, the others in the same batch
    // must not.
    let _: () = redis::cmd("SET")
        .arg("bt:q:bad")
        .arg("x")
        .query_async(&mut con)
        .await
        .unwrap();
    let expire = unix_now() + 3600;
    let before = command_calls(&mut con, "evalsha").await + command_calls(&mut con, "eval").await;
    let data_before = data_commands(&mut con).await;
    let n = 400;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let lim = lim.clone();
        set.spawn(async move {
            let key = if i % 50 == 7 { "q:bad" } else { "q:good" };
            let res = lim
                .check(&Check {
                    throttle: Some(("t:shared", RateLimit::new(1.0, 1000).unwrap())),
                    quota: Some(QuotaCheck {
                        key,
                        limit: 300,
                        expire_at_unix: expire,
                    }),
                    usage: None,
                })
                .await;
            (key, res)
        });
    }
    let (mut ok, mut denied, mut failed) = (0, 0, 0);
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            ("q:bad", Err(Error::Protocol(m))) => {
                assert!(m.contains("not an integer"), "{m}");
                failed += 1;
            }
            ("q:good", Ok(o)) if o.allowed => ok += 1,
            ("q:good", Ok(o)) => {
                assert_eq!(o.quota.map(|q| q.allowed), Some(false));
                denied += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, denied, failed), (300, n - 8 - 300, 8));
    let calls =
        command_calls(&mut con, "evalsha").await + command_calls(&mut con, "eval").await - before;
    assert!(
        calls < n as u64 / 2,
        "{n} concurrent checks took {calls} script calls: not batched"
    );
    // Within a batch each key is read once and written once (the failing checks' reads of the
    // corrupt counter aside): at most 3 GETs and 2 SETs per script call, where commands per
    // check (GET and SET of the bucket, INCR of the quota) would be at least 2 x 400.
    let data = data_commands(&mut con).await - data_before;
    assert!(
        data < n as u64 && data <= 5 * calls + 8,
        "{calls} script calls ran {data} GET/SET/INCR commands: keys not shared within a batch"
    );
    // Exactly the admitted requests took tokens: 1000 - 300 left (within the 1/s refill).
    let o = lim
        .check(&throttle("t:shared", RateLimit::new(1.0, 1000).unwrap()))
        .await
        .unwrap();
    let left = o.throttle.unwrap().remaining;
    assert!((699..=705).contains(&left), "{left}");
}

/// A flusher whose runtime shuts down mid-batch gives its place back: the limiter keeps
/// working from another runtime (without that, every later check would time out).
#[test]
fn a_flusher_dropped_mid_batch_does_not_wedge_the_queue() {
    let server = RedisServer::start();
    let lim = RedisLimiter::new(RedisOptions {
        pool_size: 1,
        timeout: Duration::from_secs(2),
        ..opts(&server.url(), "wedge:")
    })
    .unwrap();
    let expire = unix_now() + 60;
    let check = move |lim: RedisLimiter| async move {
        lim.check(&Check {
            quota: Some(QuotaCheck {
                key: "q",
                limit: 100,
                expire_at_unix: expire,
            }),
            ..Check::default()
        })
        .await
    };
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    first.block_on(async {
        // Warm up, then hold Redis so the next batch stays in flight.
        check(lim.clone()).await.unwrap();
        let mut con = raw(&server).await;
        let _: () = redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(500)
            .arg("ALL")
            .query_async(&mut con)
            .await
            .unwrap();
        let lim2 = lim.clone();
        tokio::spawn(async move { check(lim2).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
    });
    // The runtime goes away with the flusher task parked on the paused Redis.
    first.shutdown_background();
    let second = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let out = second.block_on(check(lim.clone()));
    assert!(
        out.is_ok_and(|o| o.allowed),
        "the queue was left without a flusher"
    );
}
