//! The controller listener: accepts voters and brokers and answers their frames one at a time
//! per connection, until shutdown. A connection an observer offers is handed to `observers`.

use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::rpc::{read_frame, write_frame, Envelope, Request, Response};
use crate::controller::{Controller, ControllerRequest};
use crate::limits::CONTROLLER_CONNECTIONS_MAX;

/// Serves the controller listener until `token` is cancelled.
pub async fn serve(listener: TcpListener, controller: Arc<Controller>, token: CancellationToken) {
    let permits = Arc::new(Semaphore::new(CONTROLLER_CONNECTIONS_MAX));
    loop {
        let accepted = tokio::select! {
            _ = token.cancelled() => return,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "controller listener accept failed");
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "too many controller connections; refusing one");
            continue;
        };
        let controller = controller.clone();
        let token = token.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = token.cancelled() => {}
                r = connection(stream, &controller) => {
                    if let Err(e) = r {
                        tracing::debug!(%peer, error = %e, "controller connection ended");
                    }
                }
            }
            drop(permit);
        });
    }
}

/// Serves one connection; when it ends, the broker that heartbeated over it (if any) may be
/// gone.
async fn connection(stream: TcpStream, controller: &Controller) -> std::io::Result<()> {
    let id = NEXT_CONNECTION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut broker = None;
    let result = serve_frames(stream, controller, id, &mut broker).await;
    if let Some(b) = broker {
        controller.connection_closed(b, id);
    }
    result
}

/// Connection ids, from 1 (0 is a broker's own in-process calls).
static NEXT_CONNECTION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

async fn serve_frames(
    mut stream: TcpStream,
    controller: &Controller,
    connection: u64,
    broker: &mut Option<i32>,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let cluster_id = controller.quorum().state().read(|i| i.cluster_id.clone());
    while let Some(envelope) = read_frame::<_, Envelope<Request>>(&mut stream).await? {
        if envelope.cluster_id != cluster_id {
            let why = format!(
                "this node belongs to cluster {cluster_id}, not {}",
                envelope.cluster_id
            );
            tracing::warn!(%why, "refused a request from another cluster");
            write_frame(&mut stream, &Response::Refused(why)).await?;
            return Ok(());
        }
        let request = envelope.request;
        if let Request::Controller(
            ControllerRequest::RegisterBroker { broker_id, .. }
            | ControllerRequest::BrokerHeartbeat { broker_id, .. },
        ) = &request
        {
            *broker = Some(*broker_id);
        }
        let raft = controller.quorum().raft();
        let response = match request {
            Request::AppendEntries(r) => Response::AppendEntries(raft.append_entries(r).await),
            Request::Vote(r) => Response::Vote(raft.vote(r).await),
            Request::InstallSnapshot(r) => {
                Response::InstallSnapshot(raft.install_snapshot(r).await)
            }
            Request::Controller(r) => {
                let reply = controller.handle(r).await;
                if let Some(b) = *broker {
                    controller.heard_over(b, connection);
                }
                Response::Controller(reply)
            }
            Request::Observe { node_id } => {
                write_frame(&mut stream, &Response::Observing).await?;
                return controller.quorum().observers().serve(node_id, stream).await;
            }
        };
        write_frame(&mut stream, &response).await?;
    }
    Ok(())
}
