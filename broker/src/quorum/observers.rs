//! Observers: brokers that are not voters (`process.roles=broker`) receive the metadata log as
//! openraft learners. As Kafka's observers fetch from the controllers, such a broker dials
//! every voter's controller listener and offers the connection (`Request::Observe`); whichever
//! voter leads sends its Raft requests for that broker over it. A broker needs no listener of
//! its own for the quorum, as in Kafka.
//!
//! - [`Observers`], on a voter: the offered connections by node id, and calls over them.
//! - [`observe`], on the broker: keeps a connection offered to one voter and answers the Raft
//!   requests that come over it.

use std::collections::HashMap;
use std::io;
use std::sync::Mutex;
use std::time::Duration;

use openraft::Raft;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::rpc::{read_frame, write_frame, Envelope, Request, Response};
use super::{NodeId, TypeConfig};

/// How long a voter waits for an observer's answer before it drops the connection.
const ANSWER_MAX: Duration = Duration::from_secs(10);
/// Pause before an observer offers a connection again after one failed or closed.
const RECONNECT: Duration = Duration::from_millis(200);

/// A request for an observer and where its answer goes.
struct Call {
    request: Request,
    reply: oneshot::Sender<io::Result<Response>>,
}

/// The connections observers offered to this voter.
#[derive(Debug, Default)]
pub struct Observers {
    links: Mutex<HashMap<NodeId, mpsc::Sender<Call>>>,
}

impl Observers {
    /// Sends `request` to observer `node` over the connection it offered, at most `timeout`.
    pub async fn call(
        &self,
        node: NodeId,
        request: Request,
        timeout: Duration,
    ) -> io::Result<Response> {
        let link = self.links.lock().ok().and_then(|l| l.get(&node).cloned());
        let Some(link) = link else {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                format!("observer {node} has no connection to this controller"),
            ));
        };
        let (reply, answer) = oneshot::channel();
        let exchange = async {
            link.send(Call { request, reply })
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "observer gone"))?;
            answer
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "observer gone"))?
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "observer did not answer"))?
    }

    /// Serves the connection observer `node` offered until it fails or closes; a newer
    /// connection from the same node replaces it.
    pub async fn serve(&self, node: NodeId, mut stream: TcpStream) -> io::Result<()> {
        let (link, mut calls) = mpsc::channel::<Call>(1);
        if let Ok(mut links) = self.links.lock() {
            links.insert(node, link.clone());
        }
        tracing::debug!(node, "observer connected");
        let result = async {
            while let Some(call) = calls.recv().await {
                let answer = tokio::time::timeout(ANSWER_MAX, exchange(&mut stream, &call.request))
                    .await
                    .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "no answer")));
                let failed = answer.is_err();
                let _ = call.reply.send(answer);
                if failed {
                    break;
                }
            }
            io::Result::Ok(())
        }
        .await;
        if let Ok(mut links) = self.links.lock() {
            if links.get(&node).is_some_and(|l| l.same_channel(&link)) {
                links.remove(&node);
            }
        }
        result
    }
}

async fn exchange(stream: &mut TcpStream, request: &Request) -> io::Result<Response> {
    write_frame(stream, request).await?;
    read_frame(stream).await?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "observer closed the connection",
        )
    })
}

/// Keeps a connection offered to the voter at `addr` and answers its Raft requests with
/// `raft`, until `token` is cancelled.
pub(super) async fn observe(
    raft: Raft<TypeConfig>,
    node: NodeId,
    addr: String,
    cluster_id: String,
    token: CancellationToken,
) {
    loop {
        let served = tokio::select! {
            _ = token.cancelled() => return,
            r = offer(&raft, node, &addr, &cluster_id) => r,
        };
        if let Err(e) = served {
            tracing::debug!(voter = %addr, error = %e, "observer connection ended");
        }
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(RECONNECT) => {}
        }
    }
}

/// One connection: the offer, then the voter's requests one at a time.
async fn offer(
    raft: &Raft<TypeConfig>,
    node: NodeId,
    addr: &str,
    cluster_id: &str,
) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let envelope = Envelope {
        cluster_id: cluster_id.to_string(),
        request: Request::Observe { node_id: node },
    };
    write_frame(&mut stream, &envelope).await?;
    match read_frame::<_, Response>(&mut stream).await? {
        Some(Response::Observing) => {}
        Some(Response::Refused(why)) => return Err(io::Error::other(why)),
        _ => return Err(io::Error::other("the voter did not take the connection")),
    }
    while let Some(request) = read_frame::<_, Request>(&mut stream).await? {
        let response = match request {
            Request::AppendEntries(r) => Response::AppendEntries(raft.append_entries(r).await),
            Request::InstallSnapshot(r) => {
                Response::InstallSnapshot(raft.install_snapshot(r).await)
            }
            Request::Vote(r) => Response::Vote(raft.vote(r).await),
            Request::Controller(_) | Request::Observe { .. } => {
                Response::Refused("an observer answers only the quorum's requests".into())
            }
        };
        write_frame(&mut stream, &response).await?;
    }
    Ok(())
}
