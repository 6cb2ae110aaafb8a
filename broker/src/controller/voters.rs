//! AddRaftVoter and RemoveRaftVoter (KIP-853) at the active controller: the quorum changes its
//! membership outside the controller's decision queue (adding a voter waits for it to catch
//! up, which must not hold other decisions back), and the errors are Kafka's.

use std::time::Duration;

use kafka_protocol::ResponseError;

use super::{Controller, ControllerReply, ControllerRequest, ControllerResponse};
use crate::quorum::VoterError;

/// The longest an AddRaftVoter waits for the new voter to catch up when it names no timeout.
const CATCH_UP_DEFAULT: Duration = Duration::from_secs(30);

impl Controller {
    pub(super) async fn change_voters(&self, request: ControllerRequest) -> ControllerReply {
        let result = match request {
            ControllerRequest::AddVoter {
                id,
                addr,
                timeout_ms,
            } => {
                let timeout = if timeout_ms == 0 {
                    CATCH_UP_DEFAULT
                } else {
                    Duration::from_millis(timeout_ms)
                };
                self.quorum.add_voter(id, addr, timeout).await
            }
            ControllerRequest::RemoveVoter { id } => {
                // A node that is also a broker goes on observing the log.
                let broker = self
                    .quorum
                    .state()
                    .read(|image| image.brokers.contains_key(&id));
                self.quorum.remove_voter(id, broker).await
            }
            _ => Err(VoterError::Invalid("not a voter change".into())),
        };
        match result {
            Ok(offset) => ControllerReply::Ok {
                offset,
                response: ControllerResponse::VotersChanged,
            },
            Err(VoterError::NotLeader(leader)) => self.not_controller(leader),
            Err(e) => {
                let error = match &e {
                    VoterError::Duplicate(_) => ResponseError::DuplicateVoter,
                    VoterError::NotFound(_) => ResponseError::VoterNotFound,
                    VoterError::Unsupported(_) => ResponseError::UnsupportedVersion,
                    VoterError::Invalid(_) => ResponseError::InvalidRequest,
                    VoterError::TimedOut(_) => ResponseError::RequestTimedOut,
                    VoterError::NotLeader(_) | VoterError::Failed(_) => {
                        ResponseError::UnknownServerError
                    }
                };
                ControllerReply::Refused {
                    code: error.code(),
                    message: e.to_string(),
                }
            }
        }
    }
}
