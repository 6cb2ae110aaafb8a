//! The listeners: each accepts connections, all of them together up to `max.connections`, one
//! task per connection; on shutdown they stop accepting, let each connection finish the request
//! it is on, and abort what is still running after a grace period.
//!
//! - `connection`: one connection's loop (TLS and SASL first where its listener asks for them).

mod connection;
pub mod dispatch;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::limits::SHUTDOWN_GRACE_MS;
use crate::security::ListenerSecurity;
use crate::Broker;

/// A bound listener and what it takes to serve it.
#[derive(Debug)]
pub struct BoundListener {
    pub socket: TcpListener,
    pub security: Arc<ListenerSecurity>,
}

/// Serves every listener until `token` is cancelled, then drains. `max.connections` bounds
/// the connections of all listeners together, as in Kafka.
pub async fn run(listeners: Vec<BoundListener>, broker: Arc<Broker>, token: CancellationToken) {
    let permits = Arc::new(Semaphore::new(broker.config.max_connections));
    let tracker = TaskTracker::new();
    // Cancelled once the grace period is over: whatever a connection is doing then is dropped.
    let abort = CancellationToken::new();
    let mut accepting = tokio::task::JoinSet::new();
    for listener in listeners {
        accepting.spawn(accept(
            listener,
            broker.clone(),
            token.clone(),
            permits.clone(),
            tracker.clone(),
            abort.clone(),
        ));
    }
    while accepting.join_next().await.is_some() {}
    tracker.close();
    if tokio::time::timeout(Duration::from_millis(SHUTDOWN_GRACE_MS), tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("connections still busy after the grace period; closing them");
        abort.cancel();
        tracker.wait().await;
    }
}

/// Accepts connections on one listener until `token` is cancelled.
async fn accept(
    listener: BoundListener,
    broker: Arc<Broker>,
    token: CancellationToken,
    permits: Arc<Semaphore>,
    tracker: TaskTracker,
    abort: CancellationToken,
) {
    loop {
        let permit = tokio::select! {
            _ = token.cancelled() => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            _ = token.cancelled() => break,
            accepted = listener.socket.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let conn = connection::Accepted {
                    stream,
                    peer,
                    security: listener.security.clone(),
                    broker: broker.clone(),
                    token: token.clone(),
                };
                let abort = abort.clone();
                tracker.spawn(async move {
                    tokio::select! {
                        _ = conn.serve() => {}
                        _ = abort.cancelled() => {}
                    }
                    drop(permit);
                });
            }
            Err(e) => {
                tracing::warn!(listener = %listener.security.name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}
