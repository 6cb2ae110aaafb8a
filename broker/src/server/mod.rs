//! The listener: accepts connections up to `max.connections`, runs one task per connection,
//! and on shutdown stops accepting, lets each connection finish the request it is on, and
//! aborts what is still running after a grace period.

mod connection;
pub mod dispatch;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::limits::SHUTDOWN_GRACE_MS;
use crate::Broker;

/// Serves `listener` until `token` is cancelled, then drains.
pub async fn run(listener: TcpListener, broker: Arc<Broker>, token: CancellationToken) {
    let permits = Arc::new(Semaphore::new(broker.config.max_connections));
    let tracker = TaskTracker::new();
    // Cancelled once the grace period is over: whatever a connection is doing then is dropped.
    let abort = CancellationToken::new();
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
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let conn = connection::Connection::new(stream, peer, broker.clone(), token.clone());
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
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
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
