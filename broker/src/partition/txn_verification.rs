//! The partition's side of KIP-890's transaction verification: which produce needs the
//! coordinator asked (a transactional batch that would open a transaction here), and the
//! check at append that the verification still holds (no marker ended it meanwhile).

use kafka_protocol::ResponseError;

use super::validate::Rejected;
use super::Partition;
use crate::log::batch::{self, BatchHeader};

/// How a produce's transactional batch was verified with its coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnVerification {
    /// Not asked: verification is off (`transaction.partition.verification.enable=false`),
    /// or the request had no transactional id.
    Off,
    /// Asked: the guard [`Partition::begin_verification`] gave (None when the producer's
    /// transaction was already open here).
    Checked(Option<u64>),
}

/// A batch to verify: its producer, epoch and guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingVerification {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub guard: Option<u64>,
}

impl Partition {
    /// Starts the verification of a produce's records: the producer to ask the coordinator
    /// about, with the guard when the batch would open a transaction here; None when the
    /// records are not transactional (or unreadable: the append refuses them).
    pub fn begin_verification(&mut self, records: &[u8]) -> Option<PendingVerification> {
        let header = batch::parse_header_prefix(records).ok()?;
        if !header.is_transactional() || header.is_control() {
            return None;
        }
        let guard = self
            .producers
            .begin_verification(header.producer_id, header.producer_epoch);
        Some(PendingVerification {
            producer_id: header.producer_id,
            producer_epoch: header.producer_epoch,
            guard,
        })
    }

    /// At append: a transactional batch that opens a transaction here must have been
    /// verified, and nothing may have ended that verification since (Kafka's
    /// VerificationGuard).
    pub(super) fn check_verified(
        &self,
        header: &BatchHeader,
        verification: TxnVerification,
    ) -> Result<(), Rejected> {
        let TxnVerification::Checked(guard) = verification else {
            return Ok(());
        };
        if !header.is_transactional() || self.producers.verified(header.producer_id, guard) {
            return Ok(());
        }
        Err(Rejected {
            error: ResponseError::InvalidTxnState,
            record_errors: Vec::new(),
            message: Some("Partition was not added to the transaction".to_string()),
        })
    }
}
