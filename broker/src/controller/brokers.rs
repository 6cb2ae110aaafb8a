//! Broker lifecycle at the controller, as KIP-631 has it: a broker registers (fenced), is
//! unfenced by the first heartbeat that shows it has caught up with the metadata log up to its
//! registration, stays while it heartbeats within `broker.session.timeout.ms`, and is fenced
//! when it stops, or shortly after its connection to the controller closes (a dead process). Fencing moves its leaderships to other ISR members. A broker that asks to
//! shut down is given its leaderships' moves first and told when it may go.

use std::time::Instant;

use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::elections::{elect_offline, without_broker};
use super::{Controller, ControllerResponse, Decision, Session};
use crate::cluster::records::{EndPoint, MetadataRecord};
use crate::cluster::{ClusterImage, Refusal};

impl Controller {
    /// RegisterBroker: a new incarnation replaces the old one, whose leaderships move away
    /// first, as if it had been fenced.
    pub(super) fn register(
        &self,
        image: &ClusterImage,
        broker_id: i32,
        incarnation_id: Uuid,
        end_points: &[EndPoint],
        rack: &Option<String>,
        now: Instant,
    ) -> Decision {
        let mut records = Vec::new();
        if image.brokers.contains_key(&broker_id) {
            records.extend(without_broker(
                image,
                broker_id,
                self.settings.unclean_leader_election,
            ));
        }
        records.push(MetadataRecord::RegisterBroker {
            broker_id,
            incarnation_id,
            // The state machine stamps the record's own offset.
            broker_epoch: -1,
            end_points: end_points.to_vec(),
            rack: rack.clone(),
            fenced: true,
        });
        let _ = self.lock_sessions().insert(broker_id, Session::new(now));
        tracing::info!(broker_id, %incarnation_id, "broker registered");
        Decision {
            records,
            response: ControllerResponse::Registered { broker_epoch: -1 },
        }
    }

    /// BrokerHeartbeat: renews the session, unfences a caught-up broker, and runs a
    /// controlled shutdown.
    pub(super) fn heartbeat(
        &self,
        image: &ClusterImage,
        broker_id: i32,
        broker_epoch: i64,
        metadata_offset: u64,
        want_shut_down: bool,
        now: Instant,
    ) -> Result<Decision, Refusal> {
        let Some(broker) = image.brokers.get(&broker_id) else {
            return Err(Refusal::new(
                ResponseError::BrokerIdNotRegistered,
                format!("Broker {broker_id} is not registered."),
            ));
        };
        if broker.epoch != broker_epoch {
            return Err(Refusal::new(
                ResponseError::StaleBrokerEpoch,
                format!(
                    "Broker {broker_id} has epoch {}, not {broker_epoch}.",
                    broker.epoch
                ),
            ));
        }
        let _ = self.lock_sessions().insert(broker_id, Session::new(now));
        let mut records = Vec::new();
        let mut fenced = broker.fenced;
        let mut should_shut_down = false;
        if want_shut_down {
            if !broker.in_controlled_shutdown && !broker.fenced {
                records.push(MetadataRecord::BrokerRegistrationChange {
                    broker_id,
                    broker_epoch,
                    in_controlled_shutdown: true,
                });
            }
            // Every leadership moves in this one batch, so the broker may go once it applies.
            records.extend(without_broker(
                image,
                broker_id,
                self.settings.unclean_leader_election,
            ));
            should_shut_down = true;
            if !broker.fenced {
                records.push(MetadataRecord::FenceBroker {
                    id: broker_id,
                    epoch: broker_epoch,
                });
                fenced = true;
            }
        } else if broker.fenced && metadata_offset >= broker_epoch as u64 {
            records.push(MetadataRecord::UnfenceBroker {
                id: broker_id,
                epoch: broker_epoch,
            });
            records.extend(elect_offline(
                image,
                broker_id,
                self.settings.unclean_leader_election,
            ));
            fenced = false;
            tracing::info!(broker_id, "broker unfenced");
        }
        Ok(Decision {
            records,
            response: ControllerResponse::Heartbeat {
                fenced,
                should_shut_down,
            },
        })
    }

    /// Fence records for the unfenced brokers whose session ended.
    pub(super) fn expired_sessions(
        &self,
        image: &ClusterImage,
        now: Instant,
    ) -> Vec<MetadataRecord> {
        let timeout = self.settings.session_timeout;
        let grace = self.settings.lost_connection_grace;
        let mut sessions = self.lock_sessions();
        let expired: Vec<(i32, i64)> = image
            .brokers
            .values()
            .filter(|b| !b.fenced)
            .filter(|b| {
                let session = *sessions.entry(b.node_id).or_insert(Session::new(now));
                now.duration_since(session.last_heartbeat) >= timeout
                    || session
                        .lost_at
                        .is_some_and(|l| now.duration_since(l) >= grace)
            })
            .map(|b| (b.node_id, b.epoch))
            .collect();
        if expired.is_empty() {
            return Vec::new();
        }
        // Each fencing decides on the image the previous ones leave.
        let mut scratch = image.clone();
        let mut records = Vec::new();
        for (id, epoch) in expired {
            tracing::warn!(broker_id = id, "broker session expired; fencing it");
            let mut batch = without_broker(&scratch, id, self.settings.unclean_leader_election);
            batch.push(MetadataRecord::FenceBroker { id, epoch });
            for record in &batch {
                scratch.apply(record);
            }
            records.extend(batch);
        }
        records
    }
}
