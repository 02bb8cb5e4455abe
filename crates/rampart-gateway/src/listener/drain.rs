//! Graceful shutdown of a listener's connections.
//!
//! [`Drain::shutdown`] tells every connection the listener accepted to finish: each one
//! asks hyper to close once the request it is serving (if any) is answered, and the
//! shutdown waits until the last has gone. It does the work of hyper-util's
//! `GracefulShutdown` at a smaller cost per poll: that one polls a `watch` channel's
//! `changed()` future on every poll of the connection, which takes the channel's waiter
//! lock each time (about 160 instructions, twice per request). Here a connection reads one
//! atomic flag per poll and takes the lock only when its task's waker changes (in practice
//! once, at its first poll), when it closes, and when the listener shuts down.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use hyper_util::server::graceful::GracefulConnection;
use tokio::sync::Notify;

/// The listener's side: hands out a [`Watcher`] per connection, then shuts them down.
#[derive(Default)]
pub struct Drain {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    closing: AtomicBool,
    slots: Mutex<Slots>,
    /// Notified (with a stored permit, so it cannot be missed) when the last connection
    /// goes after `closing` was set.
    drained: Notify,
}

/// The wakers of live connections, by slot; a slot is free again when its connection
/// goes.
#[derive(Default)]
struct Slots {
    wakers: Vec<Option<Waker>>,
    free: Vec<usize>,
    live: usize,
}

impl Shared {
    fn slots(&self) -> MutexGuard<'_, Slots> {
        // A panic while the lock is held leaves the slots consistent (each change is one
        // assignment), so a poisoned lock is used as it is.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drain {
    pub fn new() -> Self {
        Self::default()
    }

    /// A place for one connection, counted until the watcher (or the connection future
    /// made of it) is dropped.
    pub fn watcher(&self) -> Watcher {
        let mut s = self.shared.slots();
        let slot = match s.free.pop() {
            Some(i) => i,
            None => {
                s.wakers.push(None);
                s.wakers.len() - 1
            }
        };
        s.live += 1;
        drop(s);
        Watcher {
            shared: self.shared.clone(),
            slot,
        }
    }

    /// Connections not yet gone.
    pub fn live(&self) -> usize {
        self.shared.slots().live
    }

    /// Tell every connection to finish, and wait until all have gone.
    pub async fn shutdown(&self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        let wakers: Vec<Waker> = {
            let mut s = self.shared.slots();
            if s.live == 0 {
                return;
            }
            s.wakers.iter_mut().filter_map(Option::take).collect()
        };
        for w in wakers {
            w.wake();
        }
        self.shared.drained.notified().await;
    }
}

/// One connection's place in its listener's [`Drain`].
pub struct Watcher {
    shared: Arc<Shared>,
    slot: usize,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let last = {
            let mut s = self.shared.slots();
            s.wakers[self.slot] = None;
            s.free.push(self.slot);
            s.live -= 1;
            s.live == 0
        };
        // `closing` is read after the lock: a shutdown that found this connection live
        // set it before taking the lock, so it is seen here.
        if last && self.shared.closing.load(Ordering::SeqCst) {
            self.shared.drained.notify_one();
        }
    }
}

impl Watcher {
    /// The connection, told to finish gracefully when the listener shuts down.
    pub fn watch<C: GracefulConnection>(self, conn: C) -> Watched<C> {
        Watched {
            conn,
            watcher: self,
            waker: None,
            told: false,
        }
    }

    fn closing(&self) -> bool {
        self.shared.closing.load(Ordering::SeqCst)
    }

    /// Leave `waker` where a shutdown will wake it.
    fn register(&self, waker: &Waker) {
        self.shared.slots().wakers[self.slot] = Some(waker.clone());
    }
}

pin_project_lite::pin_project! {
    /// A connection future that finishes gracefully when its listener shuts down.
    pub struct Watched<C> {
        #[pin]
        conn: C,
        watcher: Watcher,
        // The waker last registered, to register again only when the task's changes.
        waker: Option<Waker>,
        told: bool,
    }
}

impl<C: GracefulConnection> Future for Watched<C> {
    type Output = C::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C::Output> {
        let mut this = self.project();
        if !*this.told {
            if !this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                this.watcher.register(cx.waker());
                *this.waker = Some(cx.waker().clone());
            }
            // Read after registering: a shutdown that began before the registration is
            // seen here, one that begins after it wakes the task.
            if this.watcher.closing() {
                *this.told = true;
                this.conn.as_mut().graceful_shutdown();
            }
        }
        this.conn.poll(cx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::convert::Infallible;
    use std::time::Duration;

    use bytes::Bytes;
    use http_body_util::Full;
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
    use tokio::sync::oneshot;

    use super::*;

    /// An HTTP/1.1 connection served over an in-memory pipe, watched by `drain`, whose
    /// handler waits for `release` before answering; returns the client's end and the
    /// connection's task.
    fn serve(
        drain: &Drain,
        release: Option<oneshot::Receiver<()>>,
    ) -> (DuplexStream, tokio::task::JoinHandle<()>) {
        let (client, server) = tokio::io::duplex(4096);
        let release = Arc::new(Mutex::new(release));
        let svc = hyper::service::service_fn(move |_req| {
            let release = release.lock().unwrap().take();
            async move {
                if let Some(r) = release {
                    let _ = r.await;
                }
                Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"ok"))))
            }
        });
        let conn =
            hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(server), svc);
        let watched = drain.watcher().watch(conn);
        let task = tokio::spawn(async move {
            let _ = watched.await;
        });
        (client, task)
    }

    /// `f`'s output, failing the test after 5 s.
    async fn within<F: Future>(what: &str, f: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(5), f)
            .await
            .unwrap_or_else(|_| panic!("{what}: not within 5 s"))
    }

    async fn read_to_end(c: &mut DuplexStream) -> String {
        let mut out = Vec::new();
        within("the connection closes", c.read_to_end(&mut out))
            .await
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn shutdown_without_connections_is_immediate() {
        let drain = Drain::new();
        drop(drain.watcher());
        assert_eq!(drain.live(), 0);
        within("nothing to wait for", drain.shutdown()).await;
    }

    #[tokio::test]
    async fn an_idle_connection_is_closed_at_once() {
        let drain = Drain::new();
        let (mut client, task) = serve(&drain, None);
        // One request answered; the connection then idles in keep-alive.
        client
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let n = client.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);
        assert_eq!(drain.live(), 1);
        within(
            "an idle connection does not hold the shutdown up",
            drain.shutdown(),
        )
        .await;
        assert_eq!(read_to_end(&mut client).await, "", "closed without a word");
        within("the connection ends", task).await.unwrap();
        assert_eq!(drain.live(), 0);
    }

    #[tokio::test]
    async fn a_request_in_flight_is_answered_before_the_connection_closes() {
        let drain = Drain::new();
        let (release_tx, release_rx) = oneshot::channel();
        let (mut client, task) = serve(&drain, Some(release_rx));
        let (idle_client, idle_task) = serve(&drain, None);
        client
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(drain.live(), 2);
        let drain = Arc::new(drain);
        let shutdown = tokio::spawn({
            let drain = drain.clone();
            async move { drain.shutdown().await }
        });
        // The connection that never sent a request goes; the busy one stays.
        within("the idle connection ends", idle_task).await.unwrap();
        drop(idle_client);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!shutdown.is_finished(), "waits for the request in flight");
        assert_eq!(drain.live(), 1);
        release_tx.send(()).unwrap();
        let resp = read_to_end(&mut client).await;
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        assert!(
            resp.to_ascii_lowercase().contains("connection: close"),
            "{resp}"
        );
        assert!(resp.ends_with("ok"), "{resp}");
        within("the busy connection ends", task).await.unwrap();
        within("done once the last connection went", shutdown)
            .await
            .unwrap();
        assert_eq!(drain.live(), 0);
    }

    #[tokio::test]
    async fn a_connection_first_polled_after_the_shutdown_began_still_closes() {
        let drain = Drain::new();
        let watcher = drain.watcher();
        let drain = Arc::new(drain);
        let shutdown = tokio::spawn({
            let drain = drain.clone();
            async move { drain.shutdown().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!shutdown.is_finished());
        // Accepted before the shutdown, served after it began (a slow TLS handshake).
        let (mut client, server) = tokio::io::duplex(4096);
        let svc = hyper::service::service_fn(|_req| async {
            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::new())))
        });
        let conn =
            hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(server), svc);
        let task = tokio::spawn(watcher.watch(conn));
        assert_eq!(read_to_end(&mut client).await, "");
        within("the connection ends", task).await.unwrap().unwrap();
        within("done", shutdown).await.unwrap();
    }
}
