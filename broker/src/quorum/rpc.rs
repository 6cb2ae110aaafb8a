//! The controller listener's protocol: length-prefixed JSON frames, one request and one
//! response at a time per connection. It carries openraft's three RPCs between the voters and
//! the brokers' requests to the active controller (registration, heartbeats, metadata changes).
//! A broker that is not a voter offers a connection over which the leader replicates to it.

use std::io;
use std::time::Duration;

use openraft::error::{InstallSnapshotError, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{NodeId, TypeConfig};
use crate::controller::{ControllerReply, ControllerRequest};
use crate::limits::CONTROLLER_FRAME_BYTES_MAX;

/// A request on the controller listener.
#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<NodeId>),
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    Controller(ControllerRequest),
    /// A broker that is not a voter offers this connection for the quorum's requests to it
    /// (see `observers`).
    Observe {
        node_id: NodeId,
    },
}

/// A request as sent: with the id of the cluster the sender belongs to, so that a node of
/// another cluster (a stale address, a reused port) is refused instead of obeyed.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope<R> {
    pub cluster_id: String,
    pub request: R,
}

/// The answer to a [`Request`] of the same name.
#[derive(Debug, Serialize, Deserialize)]
pub enum Response {
    /// The request came from another cluster.
    Refused(String),
    AppendEntries(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    InstallSnapshot(
        Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>,
    ),
    Controller(ControllerReply),
    /// The connection is taken: from now on the voter sends requests over it.
    Observing,
}

/// Writes one frame.
pub async fn write_frame<W: AsyncWrite + Unpin, T: Serialize>(
    w: &mut W,
    value: &T,
) -> io::Result<()> {
    let body = serde_json::to_vec(value).map_err(io::Error::other)?;
    let len = u32::try_from(body.len()).map_err(io::Error::other)?;
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&body);
    w.write_all(&frame).await?;
    w.flush().await
}

/// Reads one frame; `None` at a clean end of stream.
pub async fn read_frame<R: AsyncRead + Unpin, T: DeserializeOwned>(
    r: &mut R,
) -> io::Result<Option<T>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > CONTROLLER_FRAME_BYTES_MAX {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("controller frame of {len} bytes is over the limit"),
        ));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// A connection to one node's controller listener, made on first use and again after an
/// error.
#[derive(Debug)]
pub struct RpcClient {
    addr: String,
    cluster_id: String,
    conn: Option<TcpStream>,
}

impl RpcClient {
    pub fn new(addr: String, cluster_id: String) -> Self {
        RpcClient {
            addr,
            cluster_id,
            conn: None,
        }
    }

    /// Sends `request` and waits for its answer, at most `timeout` in all.
    pub async fn call(&mut self, request: &Request, timeout: Duration) -> io::Result<Response> {
        match tokio::time::timeout(timeout, self.exchange(request)).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => {
                self.conn = None;
                Err(e)
            }
            Err(_) => {
                self.conn = None;
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{} did not answer", self.addr),
                ))
            }
        }
    }

    async fn exchange(&mut self, request: &Request) -> io::Result<Response> {
        let conn = match &mut self.conn {
            Some(c) => c,
            None => {
                let stream = TcpStream::connect(&self.addr).await?;
                stream.set_nodelay(true)?;
                self.conn.insert(stream)
            }
        };
        let envelope = Envelope {
            cluster_id: self.cluster_id.clone(),
            request,
        };
        write_frame(conn, &envelope).await?;
        match read_frame(conn).await? {
            Some(Response::Refused(why)) => Err(io::Error::new(io::ErrorKind::InvalidData, why)),
            Some(response) => Ok(response),
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            )),
        }
    }
}
