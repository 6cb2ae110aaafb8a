//! `ktui log-dirs describe`: each broker's log directories and the bytes every partition holds
//! there, as `kafka-log-dirs.sh --describe [--broker-list] [--topic-list]` shows them. The JSON
//! output keeps that tool's shape (`{"version":1,"brokers":[{"broker","logDirs":[...]}]}`).

use clap::{Args, Subcommand};
use serde::Serialize;

use super::connect::ConnectArgs;
use super::output::{self, Format, Table};
use crate::client::log_dirs::{self, LogDir};

/// Flags of `ktui log-dirs`.
#[derive(Debug, Args)]
pub(super) struct LogDirsArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    #[command(subcommand)]
    command: LogDirsCommand,
}

#[derive(Debug, Subcommand)]
enum LogDirsCommand {
    /// Each broker's log directories with every partition's size on disk.
    Describe {
        /// Brokers to ask, comma-separated ids; all when absent.
        #[arg(long, value_delimiter = ',')]
        broker_list: Option<Vec<i32>>,
        /// Topics to list, comma-separated; all when absent.
        #[arg(long, value_delimiter = ',')]
        topic_list: Option<Vec<String>>,
    },
}

/// `kafka-log-dirs.sh --describe`'s JSON.
#[derive(Debug, Serialize)]
struct Described {
    version: i32,
    brokers: Vec<BrokerDirs>,
}

#[derive(Debug, Serialize)]
struct BrokerDirs {
    broker: i32,
    #[serde(rename = "logDirs")]
    log_dirs: Vec<DirJson>,
}

#[derive(Debug, Serialize)]
struct DirJson {
    #[serde(rename = "logDir")]
    log_dir: String,
    error: Option<String>,
    partitions: Vec<PartitionJson>,
}

#[derive(Debug, Serialize)]
struct PartitionJson {
    partition: String,
    size: i64,
    #[serde(rename = "offsetLag")]
    offset_lag: i64,
    #[serde(rename = "isFuture")]
    is_future: bool,
}

pub(super) async fn run(args: LogDirsArgs) -> anyhow::Result<()> {
    let LogDirsCommand::Describe {
        broker_list,
        topic_list,
    } = args.command;
    let cluster = args.connect.connect().await?;
    let described =
        log_dirs::describe(&cluster, broker_list.as_deref(), topic_list.as_deref()).await?;
    match args.connect.output {
        Format::Json => output::print_json(&as_json(&described)),
        Format::Table => {
            let mut table = Table::new(&["BROKER", "LOG DIR", "TOPIC", "PARTITION", "SIZE", "LAG"]);
            for (broker, dirs) in &described {
                for dir in dirs {
                    if let Some(error) = &dir.error {
                        let cells = [
                            broker.to_string(),
                            dir.path.clone(),
                            format!("offline: {error}"),
                        ];
                        table.row([cells.to_vec(), vec![String::new(); 3]].concat());
                    }
                    for r in &dir.replicas {
                        table.row(vec![
                            broker.to_string(),
                            dir.path.clone(),
                            r.topic.clone(),
                            r.partition.to_string(),
                            r.size.to_string(),
                            r.offset_lag.to_string(),
                        ]);
                    }
                }
            }
            table.print()
        }
    }
}

fn as_json(described: &std::collections::BTreeMap<i32, Vec<LogDir>>) -> Described {
    let brokers = described
        .iter()
        .map(|(broker, dirs)| BrokerDirs {
            broker: *broker,
            log_dirs: dirs
                .iter()
                .map(|d| DirJson {
                    log_dir: d.path.clone(),
                    error: d.error.clone(),
                    partitions: d
                        .replicas
                        .iter()
                        .map(|r| PartitionJson {
                            partition: format!("{}-{}", r.topic, r.partition),
                            size: r.size,
                            offset_lag: r.offset_lag,
                            is_future: r.is_future,
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    Described {
        version: 1,
        brokers,
    }
}
