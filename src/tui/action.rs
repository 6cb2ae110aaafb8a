//! What a view asks the app to do after a key: open another screen, go back, open a dialog,
//! or run a [`Request`] on a background task. Views never touch the network; the app turns
//! requests into client calls (see `worker`) whose answers come back as `Event::Data`.

use std::collections::BTreeMap;

use crate::client::acls::{self, AclBinding};
use crate::client::scram_users::Mechanism;
use crate::client::tail::Reading;
use crate::tui::model::ResetRow;

/// A screen the app can open (`:` commands and `enter` lead here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Topics,
    /// Topics with an under-replicated, under-min-ISR or offline partition (`:topics urp`).
    UnhealthyTopics,
    /// What the console saw change (`:events`).
    Events,
    /// ACLs by principal and resource (`:acls`).
    Acls,
    /// SCRAM users (`:users`).
    Users,
    /// Transactional ids and their transactions (`:transactions`).
    Transactions,
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
    /// Leader election for a partition, a topic or every partition.
    Elect(ElectionScope),
    /// Move a partition's replicas: the current list and the brokers to choose from.
    Reassign {
        topic: String,
        partition: i32,
        replicas: Vec<i32>,
        brokers: Vec<i32>,
    },
    /// Stop, kill or start a node of a cluster `ktui local` launched.
    Broker {
        id: i32,
        op: BrokerOp,
    },
    /// Create an ACL (a form).
    CreateAcl,
    DeleteAcl(AclBinding),
    /// Set a SCRAM user's password (a form; the user prefilled when one is selected).
    SetPassword(String),
    DeleteUser(String),
    /// Abort a transaction on each of its partitions (KIP-664), `y` to confirm.
    AbortTransaction(TxnAbort),
}

/// A transaction to abort: its id, its producer, and the partitions it has written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnAbort {
    pub id: String,
    pub producer_id: i64,
    pub partitions: Vec<(String, i32)>,
}

/// A password on its way to the cluster: never printed by `Debug` (requests are logged).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Which partitions an election covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ElectionScope {
    All,
    Topic(String),
    Partition(String, i32),
}

impl std::fmt::Display for ElectionScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ElectionScope::All => write!(f, "every partition"),
            ElectionScope::Topic(t) => write!(f, "every partition of {t}"),
            ElectionScope::Partition(t, p) => write!(f, "{t}-{p}"),
        }
    }
}

/// What to do to a local cluster node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BrokerOp {
    /// SIGTERM: a controlled shutdown.
    Stop,
    /// SIGKILL.
    Kill,
    Start,
}

impl BrokerOp {
    pub fn verb(self) -> &'static str {
        match self {
            BrokerOp::Stop => "stop",
            BrokerOp::Kill => "kill",
            BrokerOp::Start => "start",
        }
    }
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
        /// The isolation level, and control records (which the screen may show).
        reading: Reading,
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
    /// Every broker's log directories with their bytes (the Brokers screen).
    LogDirs,
    Elect {
        scope: ElectionScope,
        unclean: bool,
    },
    Reassign {
        topic: String,
        partition: i32,
        replicas: Vec<i32>,
    },
    /// Reassignments in progress (a reassign dialog follows its move with this).
    Reassignments,
    Broker {
        id: i32,
        op: BrokerOp,
    },
    Acls,
    Users,
    CreateAcl(AclBinding),
    DeleteAcl(AclBinding),
    SetPassword {
        user: String,
        mechanism: Mechanism,
        password: Secret,
    },
    /// Deletes every SCRAM credential of the user.
    DeleteUser(String),
    /// Every transactional id, described (the Transactions screen).
    Transactions,
    /// Aborts a transaction on each of its partitions where its producer has one open.
    AbortTransaction(TxnAbort),
    /// Write lines (JSON) to a file in the working directory.
    Save {
        file: String,
        lines: Vec<String>,
    },
}

impl Request {
    /// Whether the request changes the cluster (hidden and refused in `--read-only`).
    pub fn writes(&self) -> bool {
        self.subject().writes()
    }

    /// What the request is about; its answer carries this back.
    pub fn subject(&self) -> Subject {
        match self {
            Request::Cluster => Subject::Cluster,
            Request::Groups => Subject::Groups,
            Request::Topic(t) => Subject::Topic(t.clone()),
            Request::Group(g) => Subject::Group(g.clone()),
            Request::Produce(p) => Subject::Produce(p.topic.clone()),
            Request::CreateTopic { name, .. } => Subject::CreateTopic(name.clone()),
            Request::DeleteTopic(t) => Subject::DeleteTopic(t.clone()),
            Request::AlterConfig { topic, .. } => Subject::AlterConfig(topic.clone()),
            Request::AddPartitions { topic, total } => Subject::AddPartitions {
                topic: topic.clone(),
                total: *total,
            },
            Request::ResetPreview { group, .. } => Subject::ResetPreview(group.clone()),
            Request::ResetExecute { group, rows } => Subject::ResetOffsets {
                group: group.clone(),
                partitions: rows.len(),
            },
            Request::DeleteGroup(g) => Subject::DeleteGroup(g.clone()),
            Request::LogDirs => Subject::LogDirs,
            Request::Elect { scope, unclean } => Subject::Elect {
                scope: scope.clone(),
                unclean: *unclean,
            },
            Request::Reassign {
                topic, partition, ..
            } => Subject::Reassign(topic.clone(), *partition),
            Request::Reassignments => Subject::Reassignments,
            Request::Broker { id, op } => Subject::Broker(*id, *op),
            Request::Acls => Subject::Acls,
            Request::Users => Subject::Users,
            Request::CreateAcl(b) => Subject::CreateAcl(acls::describe_binding(b)),
            Request::DeleteAcl(b) => Subject::DeleteAcl(acls::describe_binding(b)),
            Request::SetPassword { user, .. } => Subject::SetPassword(user.clone()),
            Request::DeleteUser(u) => Subject::DeleteUser(u.clone()),
            Request::Transactions => Subject::Transactions,
            Request::AbortTransaction(t) => Subject::AbortTransaction(t.id.clone()),
            Request::TailStart { topic, .. } => Subject::Tail(topic.clone()),
            Request::TailPause(_) | Request::TailStop => Subject::Tail(String::new()),
            Request::Save { file, .. } => Subject::Save(file.clone()),
        }
    }
}

/// What a request is about: the typed identity its answer carries back, so screens match
/// answers by value and rewording a message cannot change which screen shows an error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    Cluster,
    Groups,
    Topic(String),
    Group(String),
    Produce(String),
    CreateTopic(String),
    DeleteTopic(String),
    AlterConfig(String),
    AddPartitions {
        topic: String,
        total: i32,
    },
    ResetPreview(String),
    ResetOffsets {
        group: String,
        partitions: usize,
    },
    DeleteGroup(String),
    LogDirs,
    Elect {
        scope: ElectionScope,
        unclean: bool,
    },
    Reassign(String, i32),
    Reassignments,
    Broker(i32, BrokerOp),
    Acls,
    Users,
    /// An ACL, described.
    CreateAcl(String),
    DeleteAcl(String),
    SetPassword(String),
    DeleteUser(String),
    Transactions,
    /// A transactional id whose transaction is aborted.
    AbortTransaction(String),
    Tail(String),
    /// Records saved to a file in the working directory.
    Save(String),
}

impl Subject {
    /// Whether requests about this change the cluster.
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Subject::Produce(_)
                | Subject::CreateTopic(_)
                | Subject::DeleteTopic(_)
                | Subject::AlterConfig(_)
                | Subject::AddPartitions { .. }
                | Subject::ResetOffsets { .. }
                | Subject::DeleteGroup(_)
                | Subject::Elect { .. }
                | Subject::Reassign(..)
                | Subject::Broker(..)
                | Subject::CreateAcl(_)
                | Subject::DeleteAcl(_)
                | Subject::SetPassword(_)
                | Subject::DeleteUser(_)
                | Subject::AbortTransaction(_)
        )
    }
}

impl std::fmt::Display for Subject {
    /// The words the status line uses.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Cluster => write!(f, "cluster metadata"),
            Subject::Groups => write!(f, "groups"),
            Subject::Topic(t) => write!(f, "topic {t}"),
            Subject::Group(g) => write!(f, "group {g}"),
            Subject::Produce(t) => write!(f, "produce to {t}"),
            Subject::CreateTopic(t) => write!(f, "create topic {t}"),
            Subject::DeleteTopic(t) => write!(f, "delete topic {t}"),
            Subject::AlterConfig(t) => write!(f, "alter config of {t}"),
            Subject::AddPartitions { topic, total } => {
                write!(f, "add partitions to {topic} ({total} in all)")
            }
            Subject::ResetPreview(g) => write!(f, "reset preview of {g}"),
            Subject::ResetOffsets { group, partitions } => {
                write!(f, "reset offsets of {group} ({partitions} partitions)")
            }
            Subject::DeleteGroup(g) => write!(f, "delete group {g}"),
            Subject::LogDirs => write!(f, "log dirs"),
            Subject::Elect { scope, unclean } => {
                let kind = if *unclean { "unclean" } else { "preferred" };
                write!(f, "{kind} leader election for {scope}")
            }
            Subject::Reassign(t, p) => write!(f, "reassign {t}-{p}"),
            Subject::Reassignments => write!(f, "reassignments"),
            Subject::Broker(id, op) => write!(f, "{} broker {id}", op.verb()),
            Subject::Acls => write!(f, "ACLs"),
            Subject::Users => write!(f, "SCRAM users"),
            Subject::CreateAcl(b) => write!(f, "create ACL {b}"),
            Subject::DeleteAcl(b) => write!(f, "delete ACL {b}"),
            Subject::SetPassword(u) => write!(f, "set the password of {u}"),
            Subject::DeleteUser(u) => write!(f, "delete user {u}"),
            Subject::Transactions => write!(f, "transactions"),
            Subject::AbortTransaction(id) => write!(f, "abort transaction {id}"),
            Subject::Tail(t) if t.is_empty() => write!(f, "tail"),
            Subject::Tail(t) => write!(f, "tail {t}"),
            Subject::Save(file) => write!(f, "save {file}"),
        }
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
    /// Run a request on a background task (reads and writes alike).
    Run(Request),
    Dialog(DialogKind),
    CloseDialog,
    /// A message for the status line.
    Status(String),
    Help,
    CommandMode,
    FilterMode,
    Refresh,
}
