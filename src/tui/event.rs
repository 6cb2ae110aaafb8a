//! What the event loop feeds the app: terminal input, a tick, a refresh, and data from the
//! background tasks (`Update`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::OwnedSemaphorePermit;

pub use crate::tui::action::Subject;

use ratatui::crossterm::event::{KeyEvent, MouseEvent};

use crate::client::acls::AclBinding;
use crate::client::scram_users::ScramUser;
use crate::tui::events::ClusterEvent;
use crate::tui::model::{
    ClusterSnapshot, GroupDetail, GroupRow, LogDirRow, Reassigning, ResetRow, TailRecord,
    TopicDetail, TransactionRow,
};

/// One input to the app.
#[derive(Debug, Clone)]
pub enum Event {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Once a second: countdowns, rates, staleness.
    Tick(Instant),
    /// The refresh timer fired (`--refresh`).
    Refresh,
    Data(Update),
}

/// The connection as the header shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnState {
    Connecting,
    Connected,
    /// The last request failed for want of a connection; the next try is at `retry_at`.
    Lost {
        error: String,
        retry_at: Instant,
    },
}

/// An answer from a background task.
#[derive(Debug, Clone)]
pub enum Update {
    Connection(ConnState),
    Cluster(ClusterSnapshot, SystemTime),
    /// Every broker's log directories (the Brokers screen).
    LogDirs(BTreeMap<i32, Vec<LogDirRow>>),
    /// Reassignments in progress: partition and its replicas now, adding and removing.
    Reassignments(Vec<Reassigning>),
    /// New events the app recorded (newest first), for an open Events screen.
    Events(Vec<ClusterEvent>),
    Acls(Vec<AclBinding>, SystemTime),
    Users(Vec<ScramUser>, SystemTime),
    /// Every transactional id, described (the Transactions screen).
    Transactions(Vec<TransactionRow>, SystemTime),
    Groups(Vec<GroupRow>, SystemTime),
    Topic(TopicDetail, SystemTime),
    Group(GroupDetail, SystemTime),
    /// New tail records (oldest first) and how many the worker dropped before sending. The
    /// permit bounds the batches in flight; it is released when the update is dropped.
    TailRecords {
        records: Vec<TailRecord>,
        dropped: u64,
        permit: Option<Arc<OwnedSemaphorePermit>>,
    },
    TailError(String),
    Produced {
        partition: i32,
        offset: i64,
    },
    ResetPreview {
        group: String,
        rows: Vec<ResetRow>,
    },
    /// A write finished: what it was about, words for the status line when the subject's
    /// own are not enough, and the error if it failed.
    Done {
        subject: Subject,
        note: Option<String>,
        error: Option<String>,
    },
    /// A read failed (not for want of a connection).
    Failed {
        subject: Subject,
        error: String,
    },
}
