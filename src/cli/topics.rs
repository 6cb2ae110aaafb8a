//! `ktui topics list|describe|create|delete|alter-config|add-partitions`, after kafka-topics.sh.
//! `describe`'s partition reports (`--under-replicated-partitions` ...) are `partition_report`'s.

use clap::{Args, Subcommand};
use serde::Serialize;

use super::connect::ConnectArgs;
use super::output::{self, Format, Table};
use super::partition_report::{self, ReportFlags};
use crate::client::admin::{self, ConfigEntry};
use crate::client::cluster::TopicInfo;

/// Flags of `ktui topics`.
#[derive(Debug, Args)]
pub(super) struct TopicsArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    #[command(subcommand)]
    command: TopicsCommand,
}

impl TopicsArgs {
    /// The write this command makes, for `--read-only` to refuse.
    pub(super) fn writes(&self) -> Option<&'static str> {
        match self.command {
            TopicsCommand::Create { .. } => Some("topics create"),
            TopicsCommand::Delete { .. } => Some("topics delete"),
            TopicsCommand::AlterConfig { .. } => Some("topics alter-config"),
            TopicsCommand::AddPartitions { .. } => Some("topics add-partitions"),
            TopicsCommand::List { .. } | TopicsCommand::Describe { .. } => None,
        }
    }
}

#[derive(Debug, Subcommand)]
enum TopicsCommand {
    /// List topics with their partition count and replication factor.
    List {
        /// Include internal topics such as __consumer_offsets.
        #[arg(long)]
        internal: bool,
        /// Only topics whose name matches this regular expression.
        #[arg(long, value_name = "REGEX")]
        filter: Option<String>,
    },
    /// Partitions (leader, replicas, ISR, offline, watermarks, messages) and configs of a topic;
    /// with a report flag, only the partitions it selects, of TOPIC or of every topic.
    Describe {
        #[arg(required_unless_present_any = [
            "under_replicated_partitions",
            "unavailable_partitions",
            "under_min_isr_partitions",
            "at_min_isr_partitions",
        ])]
        topic: Option<String>,
        #[command(flatten)]
        report: ReportFlags,
    },
    /// Create a topic.
    Create {
        name: String,
        /// Partitions; the broker's num.partitions when absent.
        #[arg(long)]
        partitions: Option<i32>,
        /// Replicas per partition; the broker's default.replication.factor when absent.
        #[arg(long)]
        replication_factor: Option<i16>,
        /// A topic config as key=value (repeatable).
        #[arg(long = "config", value_name = "KEY=VALUE")]
        configs: Vec<String>,
    },
    /// Delete a topic (asks first unless --yes).
    Delete {
        name: String,
        /// Delete without asking.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Set or remove topic configs (IncrementalAlterConfigs).
    AlterConfig {
        name: String,
        /// Set a config, key=value (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Remove a config so the default applies (repeatable).
        #[arg(long = "delete", value_name = "KEY")]
        delete: Vec<String>,
    },
    /// Grow a topic to a total number of partitions.
    AddPartitions {
        name: String,
        /// The new total partition count.
        #[arg(long)]
        total: i32,
    },
}

pub(super) async fn run(args: TopicsArgs) -> anyhow::Result<()> {
    let connect = &args.connect;
    match args.command {
        TopicsCommand::List { internal, filter } => {
            list(connect, internal, filter.as_deref()).await
        }
        TopicsCommand::Describe { topic, report } => match topic {
            _ if report.any() => partition_report::report(connect, topic.as_deref(), report).await,
            Some(topic) => describe(connect, &topic).await,
            None => anyhow::bail!("name the TOPIC to describe"),
        },
        TopicsCommand::Create {
            name,
            partitions,
            replication_factor,
            configs,
        } => create(connect, &name, partitions, replication_factor, &configs).await,
        TopicsCommand::Delete { name, yes } => delete(connect, &name, yes).await,
        TopicsCommand::AlterConfig { name, set, delete } => {
            alter_config(connect, &name, &set, &delete).await
        }
        TopicsCommand::AddPartitions { name, total } => {
            let cluster = connect.connect().await?;
            admin::add_partitions(&cluster, &name, total).await?;
            let json = serde_json::json!({"topic": name, "partitions": total});
            report(
                connect.output,
                &json,
                &format!("topic '{name}' now has {total} partitions"),
            )
        }
    }
}

async fn create(
    connect: &ConnectArgs,
    name: &str,
    partitions: Option<i32>,
    replication_factor: Option<i16>,
    configs: &[String],
) -> anyhow::Result<()> {
    let configs = configs
        .iter()
        .map(|c| output::key_value("--config", c))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let cluster = connect.connect().await?;
    let (partitions, replication_factor) =
        (partitions.unwrap_or(-1), replication_factor.unwrap_or(-1));
    let created =
        admin::create_topic_reporting(&cluster, name, partitions, replication_factor, &configs)
            .await?;
    // Reported from the CreateTopics answer: metadata may not list a new topic at once.
    let row = TopicRow {
        name: name.to_string(),
        partitions: usize::try_from(created.partitions).unwrap_or(0),
        replication_factor: usize::try_from(created.replication_factor).unwrap_or(0),
        internal: false,
    };
    let text = format!(
        "created topic '{name}' with {} partitions, replication factor {}",
        row.partitions, row.replication_factor
    );
    report(connect.output, &row, &text)
}

async fn delete(connect: &ConnectArgs, name: &str, yes: bool) -> anyhow::Result<()> {
    if !yes && !output::confirm(&format!("delete topic '{name}' and all its records?"))? {
        anyhow::bail!("not deleted: pass --yes to delete topic '{name}' without being asked");
    }
    let cluster = connect.connect().await?;
    admin::delete_topic(&cluster, name).await?;
    let json = serde_json::json!({"topic": name, "deleted": true});
    report(connect.output, &json, &format!("deleted topic '{name}'"))
}

async fn alter_config(
    connect: &ConnectArgs,
    name: &str,
    set: &[String],
    delete: &[String],
) -> anyhow::Result<()> {
    if set.is_empty() && delete.is_empty() {
        anyhow::bail!("nothing to change: pass --set KEY=VALUE or --delete KEY");
    }
    let set = set
        .iter()
        .map(|c| output::key_value("--set", c))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let cluster = connect.connect().await?;
    admin::alter_topic_config(&cluster, name, &set, delete).await?;
    let json = serde_json::json!({
        "topic": name,
        "set": set.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
        "deleted": delete,
    });
    report(
        connect.output,
        &json,
        &format!("altered configs of topic '{name}'"),
    )
}

fn report<T: Serialize>(format: Format, json: &T, text: &str) -> anyhow::Result<()> {
    match format {
        Format::Json => output::print_json(json),
        Format::Table => output::print_text(&format!("{text}\n")),
    }
}

/// One topic in `topics list -o json`.
#[derive(Debug, Serialize)]
struct TopicRow {
    name: String,
    partitions: usize,
    replication_factor: usize,
    internal: bool,
}

fn list_row(t: &TopicInfo) -> TopicRow {
    TopicRow {
        name: t.name.clone(),
        partitions: t.partitions.len(),
        replication_factor: t.partitions.first().map_or(0, |p| p.replicas.len()),
        internal: t.internal,
    }
}

async fn list(connect: &ConnectArgs, internal: bool, filter: Option<&str>) -> anyhow::Result<()> {
    let pattern = filter
        .map(regex::Regex::new)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--filter is not a valid regular expression: {e}"))?;
    let cluster = connect.connect().await?;
    let metadata = cluster.metadata().await?;
    let rows: Vec<TopicRow> = metadata
        .topics
        .values()
        .filter(|t| internal || !t.internal)
        .filter(|t| pattern.as_ref().is_none_or(|p| p.is_match(&t.name)))
        .map(list_row)
        .collect();
    match connect.output {
        Format::Json => output::print_json(&rows),
        Format::Table => {
            let mut table = Table::new(&["TOPIC", "PARTITIONS", "REPLICATION"]);
            for r in &rows {
                table.row(vec![
                    r.name.clone(),
                    r.partitions.to_string(),
                    r.replication_factor.to_string(),
                ]);
            }
            table.print()
        }
    }
}

/// One partition in `topics describe -o json`.
#[derive(Debug, Serialize)]
struct PartitionRow {
    partition: i32,
    leader: i32,
    replicas: Vec<i32>,
    isr: Vec<i32>,
    offline: Vec<i32>,
    low_watermark: Option<i64>,
    high_watermark: Option<i64>,
    messages: Option<i64>,
}

/// `topics describe -o json`.
#[derive(Debug, Serialize)]
struct TopicDescription {
    name: String,
    id: String,
    internal: bool,
    partitions: Vec<PartitionRow>,
    configs: Vec<ConfigEntry>,
}

async fn describe(connect: &ConnectArgs, topic: &str) -> anyhow::Result<()> {
    let cluster = connect.connect().await?;
    let info = cluster.topic(topic).await?;
    let tps: Vec<_> = info
        .partitions
        .iter()
        .map(|p| (topic.to_string(), p.id))
        .collect();
    let low = admin::list_offsets(&cluster, &tps, admin::EARLIEST).await?;
    let high = admin::list_offsets(&cluster, &tps, admin::LATEST).await?;
    let configs = admin::describe_topic_configs(&cluster, topic).await?;
    let partitions = info
        .partitions
        .iter()
        .map(|p| {
            let key = (topic.to_string(), p.id);
            let lo = low.get(&key).map(|o| o.offset);
            let hi = high.get(&key).map(|o| o.offset);
            PartitionRow {
                partition: p.id,
                leader: p.leader,
                replicas: p.replicas.clone(),
                isr: p.isr.clone(),
                offline: p.offline.clone(),
                low_watermark: lo,
                high_watermark: hi,
                messages: lo.zip(hi).map(|(l, h)| h - l),
            }
        })
        .collect();
    let d = TopicDescription {
        name: info.name.clone(),
        id: info.id.clone(),
        internal: info.internal,
        partitions,
        configs,
    };
    match connect.output {
        Format::Json => output::print_json(&d),
        Format::Table => print_description(&d),
    }
}

fn print_description(d: &TopicDescription) -> anyhow::Result<()> {
    let ids = |v: &[i32]| v.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    output::print_text(&format!(
        "Topic: {}  Id: {}  Partitions: {}\n\n",
        d.name,
        d.id,
        d.partitions.len()
    ))?;
    let mut table = Table::new(&[
        "PARTITION",
        "LEADER",
        "REPLICAS",
        "ISR",
        "OFFLINE",
        "LOW",
        "HIGH",
        "MESSAGES",
    ]);
    for p in &d.partitions {
        table.row(vec![
            p.partition.to_string(),
            p.leader.to_string(),
            ids(&p.replicas),
            ids(&p.isr),
            ids(&p.offline),
            output::or_dash(p.low_watermark),
            output::or_dash(p.high_watermark),
            output::or_dash(p.messages),
        ]);
    }
    table.print()?;
    let mut configs = Table::new(&["CONFIG", "VALUE", "SOURCE"]);
    for c in d.configs.iter().filter(|c| c.source != "DEFAULT_CONFIG") {
        let value = if c.sensitive {
            Some("(sensitive)".to_string())
        } else {
            c.value.clone()
        };
        configs.row(vec![
            c.name.clone(),
            output::or_dash(value),
            c.source.clone(),
        ]);
    }
    output::print_text("\n")?;
    configs.print()
}
