//! This broker's side of KIP-631's lifecycle: register with the active controller, heartbeat
//! every `broker.heartbeat.interval.ms` (quickly while fenced, to be unfenced as soon as it
//! has caught up, and at once to a new controller), register again when the controller no longer knows this incarnation, and
//! on shutdown ask the controller to move its leaderships away first (controlled shutdown).

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::ResponseError;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::cluster::records::EndPoint;
use crate::controller::{ControllerRequest, ControllerResponse};
use crate::Broker;

/// Heartbeat period while fenced.
const FENCED_HEARTBEAT: Duration = Duration::from_millis(50);
/// The longest a controlled shutdown waits for the controller.
const CONTROLLED_SHUTDOWN_MAX: Duration = Duration::from_secs(5);
/// How long a controlled shutdown waits for a controller to answer at all (twice the quorum's
/// longest election timeout).
const NO_CONTROLLER_MAX: Duration = Duration::from_millis(2000);

/// Registers and heartbeats until `stop` is cancelled; `unfenced` says whether the controller
/// lets this broker serve.
pub(crate) async fn run(
    broker: Arc<Broker>,
    unfenced: watch::Sender<bool>,
    stop: CancellationToken,
) {
    let incarnation_id = Uuid::new_v4();
    let interval = Duration::from_millis(broker.config.broker_heartbeat_interval_ms);
    'register: loop {
        let epoch = tokio::select! {
            _ = stop.cancelled() => return,
            e = register(&broker, incarnation_id) => e,
        };
        let Some(epoch) = epoch else {
            continue;
        };
        let mut controller = broker.cluster.quorum().raft().metrics();
        let mut known = leadership(&controller.borrow_and_update());
        loop {
            match heartbeat(&broker, epoch, false).await {
                Ok((fenced, _)) => {
                    unfenced.send_if_modified(|u| std::mem::replace(u, !fenced) == fenced);
                }
                Err(ResponseError::StaleBrokerEpoch | ResponseError::BrokerIdNotRegistered) => {
                    tracing::warn!("the controller no longer knows this broker; registering again");
                    unfenced.send_replace(false);
                    continue 'register;
                }
                Err(e) => tracing::debug!(error = ?e, "heartbeat failed"),
            }
            let wait = if *unfenced.borrow() {
                interval
            } else {
                FENCED_HEARTBEAT
            };
            tokio::select! {
                _ = stop.cancelled() => {
                    controlled_shutdown(&broker, epoch).await;
                    return;
                }
                _ = tokio::time::sleep(wait) => {}
                // A new controller hears from this broker at once, not a heartbeat later: it
                // fences brokers that stay silent after it took over.
                _ = new_controller(&mut controller, known) => {}
            }
            known = leadership(&controller.borrow_and_update());
        }
    }
}

type Metrics = openraft::RaftMetrics<u64, openraft::BasicNode>;

/// The active controller and its term, when there is one.
fn leadership(m: &Metrics) -> Option<(u64, u64)> {
    m.current_leader.map(|leader| (leader, m.current_term))
}

/// Returns once the quorum has a controller other than `known` (another node, or the same
/// node in a new term).
async fn new_controller(metrics: &mut watch::Receiver<Metrics>, known: Option<(u64, u64)>) {
    loop {
        if metrics.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
        let now = leadership(&metrics.borrow_and_update());
        if now.is_some() && now != known {
            return;
        }
    }
}

async fn register(broker: &Broker, incarnation_id: Uuid) -> Option<i64> {
    let end_points: Vec<EndPoint> = broker
        .config
        .advertised_listeners
        .iter()
        .map(|l| EndPoint {
            name: l.name.clone(),
            host: l.host.clone(),
            port: l.port,
            security_protocol: l.protocol as i16,
        })
        .collect();
    if end_points.is_empty() {
        return None;
    }
    let request = ControllerRequest::RegisterBroker {
        broker_id: broker.config.node_id,
        incarnation_id,
        end_points,
        rack: broker.config.rack.clone(),
    };
    match broker.cluster.submit(request).await {
        Ok(ControllerResponse::Registered { broker_epoch }) => {
            tracing::info!(broker_epoch, "registered with the controller");
            broker.replication.set_broker_epoch(broker_epoch);
            Some(broker_epoch)
        }
        Ok(other) => {
            tracing::warn!(?other, "unexpected answer to registration");
            None
        }
        Err(r) => {
            tracing::debug!(error = %r.message, "registration failed; retrying");
            tokio::time::sleep(FENCED_HEARTBEAT).await;
            None
        }
    }
}

/// One heartbeat: (fenced, should shut down).
async fn heartbeat(
    broker: &Broker,
    epoch: i64,
    want_shut_down: bool,
) -> Result<(bool, bool), ResponseError> {
    let request = ControllerRequest::BrokerHeartbeat {
        broker_id: broker.config.node_id,
        broker_epoch: epoch,
        // Caught up means the changes are taken in, logs opened included.
        metadata_offset: broker.cluster.quorum().state().published(),
        want_shut_down,
    };
    match broker.cluster.submit(request).await {
        Ok(ControllerResponse::Heartbeat {
            fenced,
            should_shut_down,
        }) => Ok((fenced, should_shut_down)),
        Ok(_) => Err(ResponseError::UnknownServerError),
        Err(r) => Err(r.error),
    }
}

/// Asks the controller to move this broker's leaderships, until it says the broker may go or
/// `CONTROLLED_SHUTDOWN_MAX` passes. With no controller answering (the rest of the quorum has
/// already gone, as when a whole local cluster stops) there is nobody to ask: it gives up once
/// an election would have found one.
async fn controlled_shutdown(broker: &Broker, epoch: i64) {
    let attempt = async {
        let started = tokio::time::Instant::now();
        loop {
            let request = heartbeat(broker, epoch, true);
            match tokio::time::timeout(NO_CONTROLLER_MAX, request).await {
                Ok(Ok((_, true))) => return true,
                _ if started.elapsed() >= NO_CONTROLLER_MAX => return false,
                _ => tokio::time::sleep(FENCED_HEARTBEAT).await,
            }
        }
    };
    match tokio::time::timeout(CONTROLLED_SHUTDOWN_MAX, attempt).await {
        Ok(true) => tracing::info!("controlled shutdown: leaderships moved"),
        Ok(false) => tracing::warn!("controlled shutdown: no controller answered"),
        Err(_) => tracing::warn!("controlled shutdown: the controller did not answer in time"),
    }
}
