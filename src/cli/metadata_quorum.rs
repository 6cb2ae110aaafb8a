//! `ktui metadata-quorum describe --status | --replication`, after kafka-metadata-quorum.sh
//! (Kafka 3.x's layout): the KRaft quorum's leader, epoch, high watermark and the worst
//! follower's lag, or one row per voter and observer with its log end offset, lag and fetch
//! times. `add-controller` and `remove-controller` change a dynamic quorum's voters (KIP-853).

use std::time::{SystemTime, UNIX_EPOCH};

use clap::{ArgGroup, Args, Subcommand};
use serde::Serialize;

use super::connect::ConnectArgs;
use super::output::{self, Format, Table};
use crate::client::quorum::{self, QuorumInfo, QuorumNode, ReplicaState};

/// Flags of `ktui metadata-quorum`.
#[derive(Debug, Args)]
pub(super) struct MetadataQuorumArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    #[command(subcommand)]
    command: QuorumCommand,
}

#[derive(Debug, Subcommand)]
enum QuorumCommand {
    /// The quorum's status (--status) or each replica's replication (--replication).
    #[command(group(ArgGroup::new("what").required(true).args(["status", "replication"])))]
    Describe {
        /// Leader, epoch, high watermark, the worst follower's lag, voters and observers.
        #[arg(long)]
        status: bool,
        /// Each voter and observer: log end offset, lag, last fetch and caught-up times.
        #[arg(long)]
        replication: bool,
        /// Times as "N ms ago" instead of milliseconds since the epoch (with --replication).
        #[arg(long, requires = "replication")]
        human_readable: bool,
    },
    /// Add a controller to a dynamic quorum's voters, once it has caught up with the log.
    AddController {
        /// The controller's node.id.
        #[arg(long)]
        controller_id: i32,
        /// Its controller listener, HOST:PORT.
        #[arg(long, value_name = "HOST:PORT")]
        controller_address: String,
        /// The controller listener's name.
        #[arg(long, default_value = "CONTROLLER")]
        controller_listener: String,
    },
    /// Remove a controller from a dynamic quorum's voters.
    RemoveController {
        /// The controller's node.id.
        #[arg(long)]
        controller_id: i32,
    },
}

/// `describe --status -o json`.
#[derive(Debug, Serialize)]
struct Status {
    cluster_id: Option<String>,
    leader_id: i32,
    leader_epoch: i32,
    high_watermark: i64,
    max_follower_lag: i64,
    max_follower_lag_time_ms: i64,
    current_voters: Vec<i32>,
    current_observers: Vec<i32>,
    /// Each quorum member's listeners, when the broker says (DescribeQuorum v2).
    nodes: Vec<QuorumNode>,
}

/// One row of `describe --replication -o json`.
#[derive(Debug, Serialize)]
struct ReplicationRow {
    node_id: i32,
    log_end_offset: i64,
    lag: i64,
    last_fetch_timestamp: Option<i64>,
    last_caught_up_timestamp: Option<i64>,
    /// `Leader`, `Follower` or `Observer`.
    status: &'static str,
}

impl MetadataQuorumArgs {
    /// The write this command makes, for `--read-only` to refuse.
    pub(super) fn writes(&self) -> Option<&'static str> {
        match self.command {
            QuorumCommand::AddController { .. } => Some("metadata-quorum add-controller"),
            QuorumCommand::RemoveController { .. } => Some("metadata-quorum remove-controller"),
            QuorumCommand::Describe { .. } => None,
        }
    }
}

/// Runs `ktui metadata-quorum`.
pub(super) async fn run(args: MetadataQuorumArgs) -> anyhow::Result<()> {
    let (status, human_readable) = match args.command {
        QuorumCommand::Describe {
            status,
            replication: _,
            human_readable,
        } => (status, human_readable),
        QuorumCommand::AddController {
            controller_id,
            controller_address,
            controller_listener,
        } => {
            let (host, port) = controller_address
                .rsplit_once(':')
                .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
                .ok_or_else(|| {
                    anyhow::anyhow!("--controller-address '{controller_address}' is not HOST:PORT")
                })?;
            let cluster = args.connect.connect().await?;
            quorum::add_voter(&cluster, controller_id, &controller_listener, host, port).await?;
            return output::print_text(&format!(
                "Added controller {controller_id} ({controller_address}) to the quorum.\n"
            ));
        }
        QuorumCommand::RemoveController { controller_id } => {
            let cluster = args.connect.connect().await?;
            quorum::remove_voter(&cluster, controller_id).await?;
            return output::print_text(&format!(
                "Removed controller {controller_id} from the quorum.\n"
            ));
        }
    };
    let cluster = args.connect.connect().await?;
    let info = quorum::describe(&cluster).await?;
    if status {
        let cluster_id = cluster.metadata().await?.cluster_id.clone();
        let s = status_of(&info, cluster_id);
        return match args.connect.output {
            Format::Json => output::print_json(&s),
            Format::Table => output::print_text(&status_text(&s)),
        };
    }
    let rows = replication_rows(&info);
    match args.connect.output {
        Format::Json => output::print_json(&rows),
        Format::Table => replication_table(&rows, human_readable).print(),
    }
}

fn status_of(info: &QuorumInfo, cluster_id: Option<String>) -> Status {
    // Kafka's measure: the voter furthest behind, and how much longer ago it caught up.
    let leader = info.leader();
    let furthest = info.voters.iter().min_by_key(|v| v.log_end_offset);
    let (max_follower_lag, max_follower_lag_time_ms) = match (leader, furthest) {
        (Some(l), Some(f)) if l.replica_id == f.replica_id => (0, 0),
        (Some(l), Some(f)) => {
            let time = match (l.last_caught_up_timestamp, f.last_caught_up_timestamp) {
                (Some(lt), Some(ft)) => lt - ft,
                _ => -1,
            };
            (l.log_end_offset - f.log_end_offset, time)
        }
        _ => (0, -1),
    };
    Status {
        cluster_id,
        leader_id: info.leader_id,
        leader_epoch: info.leader_epoch,
        high_watermark: info.high_watermark,
        max_follower_lag,
        max_follower_lag_time_ms,
        current_voters: info.voters.iter().map(|v| v.replica_id).collect(),
        current_observers: info.observers.iter().map(|o| o.replica_id).collect(),
        nodes: info.nodes.clone(),
    }
}

fn status_text(s: &Status) -> String {
    let list = |ids: &[i32]| {
        let inner: Vec<String> = ids.iter().map(i32::to_string).collect();
        format!("[{}]", inner.join(","))
    };
    format!(
        "ClusterId:              {}\n\
         LeaderId:               {}\n\
         LeaderEpoch:            {}\n\
         HighWatermark:          {}\n\
         MaxFollowerLag:         {}\n\
         MaxFollowerLagTimeMs:   {}\n\
         CurrentVoters:          {}\n\
         CurrentObservers:       {}\n",
        output::or_dash(s.cluster_id.as_ref()),
        s.leader_id,
        s.leader_epoch,
        s.high_watermark,
        s.max_follower_lag,
        s.max_follower_lag_time_ms,
        list(&s.current_voters),
        list(&s.current_observers),
    )
}

/// The leader first, then the other voters, then the observers, as Kafka lists them.
fn replication_rows(info: &QuorumInfo) -> Vec<ReplicationRow> {
    let row = |r: &ReplicaState, status| ReplicationRow {
        node_id: r.replica_id,
        log_end_offset: r.log_end_offset,
        lag: info.lag(r),
        last_fetch_timestamp: r.last_fetch_timestamp,
        last_caught_up_timestamp: r.last_caught_up_timestamp,
        status,
    };
    let mut rows: Vec<ReplicationRow> = info
        .leader()
        .map(|l| row(l, "Leader"))
        .into_iter()
        .collect();
    rows.extend(
        info.voters
            .iter()
            .filter(|v| v.replica_id != info.leader_id)
            .map(|v| row(v, "Follower")),
    );
    rows.extend(info.observers.iter().map(|o| row(o, "Observer")));
    rows
}

fn replication_table(rows: &[ReplicationRow], human_readable: bool) -> Table {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let time = |t: Option<i64>| match t {
        None => "-1".to_string(),
        Some(t) if human_readable => format!("{} ms ago", (now_ms - t).max(0)),
        Some(t) => t.to_string(),
    };
    let mut table = Table::new(&[
        "NodeId",
        "LogEndOffset",
        "Lag",
        "LastFetchTimestamp",
        "LastCaughtUpTimestamp",
        "Status",
    ]);
    for r in rows {
        table.row(vec![
            r.node_id.to_string(),
            r.log_end_offset.to_string(),
            r.lag.to_string(),
            time(r.last_fetch_timestamp),
            time(r.last_caught_up_timestamp),
            r.status.to_string(),
        ]);
    }
    table
}
