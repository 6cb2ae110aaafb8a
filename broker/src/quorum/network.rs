//! openraft's network: each voter reached through an [`RpcClient`] on its controller listener,
//! each observer (a learner, with no address) over the connection it offered.

use std::sync::Arc;
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};

use super::observers::Observers;
use super::rpc::{Request, Response, RpcClient};
use super::{Node, NodeId, TypeConfig};

/// Makes a [`Peer`] per target, speaking for `cluster_id`.
#[derive(Debug, Default)]
pub(super) struct Network {
    pub(super) cluster_id: String,
    pub(super) observers: Arc<Observers>,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> Peer {
        let route = if node.addr.is_empty() {
            Route::Observer(self.observers.clone())
        } else {
            Route::Voter(RpcClient::new(node.addr.clone(), self.cluster_id.clone()))
        };
        Peer { target, route }
    }
}

/// One peer.
#[derive(Debug)]
pub(super) struct Peer {
    target: NodeId,
    route: Route,
}

/// How a peer is reached.
#[derive(Debug)]
enum Route {
    /// On its controller listener.
    Voter(RpcClient),
    /// Over the connection it offered this node.
    Observer(Arc<Observers>),
}

type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<NodeId, Node, RaftError<NodeId, E>>>;

impl Peer {
    async fn send(
        &mut self,
        request: Request,
        option: &RPCOption,
    ) -> Result<Response, Unreachable> {
        let timeout = option.hard_ttl().max(Duration::from_millis(10));
        let answer = match &mut self.route {
            Route::Voter(client) => client.call(&request, timeout).await,
            Route::Observer(observers) => observers.call(self.target, request, timeout).await,
        };
        answer.map_err(|e| Unreachable::new(&e))
    }

    /// The peer's own answer, its Raft error as openraft wants it from a remote node.
    // The error type is openraft's trait's own.
    #[allow(clippy::result_large_err)]
    fn remote<T, E: std::error::Error>(
        &self,
        r: Result<T, RaftError<NodeId, E>>,
    ) -> RpcResult<T, E> {
        r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    fn unexpected<E: std::error::Error>(&self) -> RPCError<NodeId, Node, RaftError<NodeId, E>> {
        let e = std::io::Error::other(format!("node {} answered another request", self.target));
        RPCError::Network(NetworkError::new(&e))
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>> {
        match self.send(Request::AppendEntries(rpc), &option).await? {
            Response::AppendEntries(r) => self.remote(r),
            _ => Err(self.unexpected()),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        match self.send(Request::InstallSnapshot(rpc), &option).await? {
            Response::InstallSnapshot(r) => self.remote(r),
            _ => Err(self.unexpected()),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>> {
        match self.send(Request::Vote(rpc), &option).await? {
            Response::Vote(r) => self.remote(r),
            _ => Err(self.unexpected()),
        }
    }
}
