//! What a view asks the app to do after a key: open another screen, go back, open a dialog,
//! or run a [`Request`] on a background task. Views never touch the network; the app turns
//! requests into client calls (see `worker`) whose answers come back as `Event::Data`.

use std::collections::BTreeMap;

use crate::tui::model::ResetRow;

/// A screen the app can open (`:` commands and `enter` lead here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Topics,
    Topic(String),
    Brokers,
    Groups,
    Group(String),
    Tail(String, TailStart),
    Produce(String),
}

/// Where a tail starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TailStart {
    #[default]
    End,
    Beginning,
    Offset(i64),
    /// Milliseconds since the epoch (a time, or a duration ago resolved when parsed).
    Timestamp(i64),
}

/// A dialog the app can open over the current screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogKind {
    CreateTopic,
    DeleteTopic(String),
    AlterConfig {
        topic: String,
        name: String,
        value: String,
    },
    AddPartitions {
        topic: String,
        current: usize,
    },
    ResetOffsets {
        group: String,
        topics: Vec<String>,
    },
    DeleteGroup(String),
}

/// How a reset chooses each partition's new offset (Kafka's reset tool's options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetSpec {
    Earliest,
    Latest,
    Offset(i64),
    /// Milliseconds since the epoch.
    Timestamp(i64),
    Shift(i64),
}

/// Work for a background task; the answer comes back as an `Update`.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Metadata and watermarks: header, Topics, Brokers.
    Cluster,
    Groups,
    Topic(String),
    Group(String),
    TailStart {
        topic: String,
        start: TailStart,
        /// Where an earlier run of the same screen stopped: each partition's next offset,
        /// which wins over `start` (going back to an older Tail screen resumes it).
        resume: BTreeMap<i32, i64>,
    },
    TailPause(bool),
    TailStop,
    Produce(ProduceRequest),
    CreateTopic {
        name: String,
        partitions: i32,
        replication: i16,
        configs: Vec<(String, String)>,
    },
    DeleteTopic(String),
    AlterConfig {
        topic: String,
        set: Vec<(String, String)>,
        delete: Vec<String>,
    },
    AddPartitions {
        topic: String,
        total: i32,
    },
    ResetPreview {
        group: String,
        topic: String,
        spec: ResetSpec,
    },
    ResetExecute {
        group: String,
        rows: Vec<ResetRow>,
    },
    DeleteGroup(String),
    /// Write lines (JSON) to a file in the working directory.
    Save {
        file: String,
        lines: Vec<String>,
    },
}

impl Request {
    /// Whether the request changes the cluster (hidden and refused in `--read-only`).
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Request::Produce(_)
                | Request::CreateTopic { .. }
                | Request::DeleteTopic(_)
                | Request::AlterConfig { .. }
                | Request::AddPartitions { .. }
                | Request::ResetExecute { .. }
                | Request::DeleteGroup(_)
        )
    }
}

/// One record to produce from the Produce form.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProduceRequest {
    pub topic: String,
    pub partition: Option<i32>,
    pub key: Option<String>,
    pub headers: Vec<(String, String)>,
    pub value: String,
}

/// What a key (or a command) asks of the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    None,
    Open(Route),
    /// Replace the whole stack with this screen (`:topics`, `:groups`, `:brokers`).
    Root(Route),
    Back,
    Quit,
    Fetch(Request),
    Dialog(DialogKind),
    CloseDialog,
    /// A message for the status line.
    Status(String),
    Help,
    CommandMode,
    FilterMode,
    Refresh,
}
