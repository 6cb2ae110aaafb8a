//! `ktui consume TOPIC`: prints records as they arrive, like kafka-console-consumer.sh (the
//! value, one per line, by default) or in a kcat-style `--format`, or as JSON Lines with
//! `-o json` ([`print`]). Three ways to read:
//!
//! - without a group, every partition (or `--partition`) from the start position
//!   (`--from-beginning`, `--offset`, `--from`; the latest by default);
//! - with `--group G`, as a member of the group ([`member`]): the partitions the group assigns,
//!   from its committed offsets, committing as it goes and when it stops;
//! - with `--group G --assign` (or `--partition`), as kafka-console-consumer.sh does with a
//!   partition: every partition (or the one) from the group's committed offsets, committing
//!   when it stops as a consumer outside the group (assign() and commitSync()), which Kafka
//!   allows only while the group has no members.
//!
//! `--isolation-level read_committed` reads as Kafka's consumer does at that level: up to the
//! last stable offset, without the records of aborted transactions. Control records
//! (transaction markers) are never printed.

mod member;
mod print;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, SystemTime};

use clap::Args;
use tokio::time::Instant;

use super::connect::ConnectArgs;
use super::output::Progress;
use crate::client::isolation::IsolationLevel;
use crate::client::tail::{self, Reading, StartAt, TailEvent};
use crate::client::{groups, Cluster};
use print::{Printer, Template};

/// Kafka's GROUP_ID_NOT_FOUND: a group nobody has used yet.
const GROUP_ID_NOT_FOUND: i16 = 69;

/// Flags of `ktui consume`.
#[derive(Debug, Args)]
pub(super) struct ConsumeArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    /// The topic to read.
    #[arg(value_name = "TOPIC", required_unless_present = "topic_flag")]
    topic: Option<String>,
    /// The topic to read, named as kafka-console-consumer.sh names it.
    #[arg(
        long = "topic",
        id = "topic_flag",
        value_name = "TOPIC",
        conflicts_with = "topic"
    )]
    topic_flag: Option<String>,
    /// Start at the earliest offset (default: the latest, as Kafka's console consumer).
    #[arg(long, conflicts_with_all = ["offset", "from"])]
    from_beginning: bool,
    /// Start at this offset (with --partition, or in every partition).
    #[arg(long, conflicts_with = "from")]
    offset: Option<i64>,
    /// Start at a time: a duration ago (15m, 2h, 1day) or an RFC 3339 time (2026-11-25T10:00:00Z).
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// Read only this partition (with --group: without joining it, as --assign).
    #[arg(long)]
    partition: Option<i32>,
    /// Stop after this many records.
    #[arg(long)]
    max_messages: Option<u64>,
    /// Stop when every partition reaches the end it had at the start.
    #[arg(long, short = 'e')]
    exit_at_end: bool,
    /// Stop when no record arrives for this many milliseconds.
    #[arg(long, value_name = "MS")]
    timeout_ms: Option<u64>,
    /// Read as a member of this consumer group: the partitions it assigns, from its committed
    /// offsets (the start flags apply where it has none), committing as it goes and on exit.
    #[arg(long)]
    group: Option<String>,
    /// The group protocol: classic (JoinGroup and SyncGroup; the default) or consumer (KIP-848).
    #[arg(long, value_name = "NAME", requires = "group")]
    group_protocol: Option<String>,
    /// With --group: read every partition from the group's committed offsets without joining
    /// it, and commit on exit (Kafka allows that only while the group has no members).
    #[arg(long, requires = "group")]
    assign: bool,
    /// A consumer setting as KEY=VALUE (session.timeout.ms, heartbeat.interval.ms,
    /// max.poll.interval.ms, partition.assignment.strategy, group.instance.id,
    /// group.remote.assignor, enable.auto.commit, auto.commit.interval.ms,
    /// auto.offset.reset); repeatable; read after the --command-config file.
    #[arg(long = "consumer-property", value_name = "KEY=VALUE")]
    consumer_properties: Vec<String>,
    /// read_uncommitted (every record, as Kafka's default) or read_committed (up to the last
    /// stable offset, without aborted transactions' records); else the consumer property
    /// isolation.level (--consumer-property, then --command-config).
    #[arg(long, value_name = "LEVEL")]
    isolation_level: Option<String>,
    /// Per record: %t topic, %p partition, %o offset, %k key, %v value, %T timestamp (ms),
    /// %h headers, %K key length, %S value length, %% and \n \t escapes.
    #[arg(long, default_value = "%v")]
    format: String,
}

/// Parses `--from`: a duration ago, or an RFC 3339 time; milliseconds since the epoch.
pub(super) fn parse_from(value: &str) -> anyhow::Result<i64> {
    let at = if let Ok(ago) = humantime::parse_duration(value) {
        SystemTime::now()
            .checked_sub(ago)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    } else {
        humantime::parse_rfc3339_weak(value).map_err(|_| {
            anyhow::anyhow!("--from '{value}' is neither a duration (15m, 2h) nor an RFC 3339 time (2026-11-25T10:00:00Z)")
        })?
    };
    let ms = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Ok(i64::try_from(ms).unwrap_or(i64::MAX))
}

impl ConsumeArgs {
    fn topic(&self) -> &str {
        self.topic
            .as_deref()
            .or(self.topic_flag.as_deref())
            .unwrap_or_default()
    }

    /// The start the flags ask for, if any.
    fn start_flag(&self) -> anyhow::Result<Option<StartAt>> {
        Ok(match (&self.from, self.offset, self.from_beginning) {
            (Some(from), _, _) => Some(StartAt::Timestamp(parse_from(from)?)),
            (None, Some(o), _) if o < 0 => anyhow::bail!(
                "--offset {o} is negative; use --from-beginning or a time with --from"
            ),
            (None, Some(o), _) => Some(StartAt::Offset(o)),
            (None, None, true) => Some(StartAt::Earliest),
            (None, None, false) => None,
        })
    }

    /// How long without a record ends the command.
    fn idle(&self) -> Option<Duration> {
        self.timeout_ms.map(Duration::from_millis)
    }

    /// How to read: `--isolation-level`, else `isolation.level` from `--consumer-property`,
    /// else from the `--command-config` file, else read_uncommitted; never control records.
    fn reading(&self) -> anyhow::Result<Reading> {
        const KEY: &str = "isolation.level";
        let from_properties = || -> anyhow::Result<Option<String>> {
            let given = self.consumer_properties.iter().rev().find_map(|p| {
                let (k, v) = p.split_once('=')?;
                (k.trim() == KEY).then(|| v.trim().to_string())
            });
            if given.is_some() {
                return Ok(given);
            }
            let file = match &self.connect.command_config {
                Some(path) => crate::config::read_properties(path)?,
                None => Vec::new(),
            };
            Ok(file
                .into_iter()
                .rev()
                .find(|(k, _)| k == KEY)
                .map(|(_, v)| v))
        };
        let isolation = match &self.isolation_level {
            Some(level) => IsolationLevel::parse(level)?,
            None => match from_properties()? {
                Some(level) => IsolationLevel::parse(&level)?,
                None => IsolationLevel::ReadUncommitted,
            },
        };
        Ok(Reading {
            isolation,
            control_records: false,
        })
    }
}

pub(super) async fn run(args: ConsumeArgs) -> anyhow::Result<()> {
    let start_flag = args.start_flag()?;
    let start_at = start_flag.unwrap_or(StartAt::Latest);
    let reading = args.reading()?;
    let joins = args.group.is_some() && !args.assign && args.partition.is_none();
    let settings = if joins {
        Some(member::Settings::from_args(&args, start_flag)?)
    } else {
        None
    };
    let topic = args.topic();
    let cluster = args.connect.connect().await?;
    let mut printer = Printer {
        format: args.connect.output,
        template: Template::parse(&args.format),
        topic,
        out: std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock()),
        count: 0,
    };
    let (group, limit) = (&args.group, args.max_messages.unwrap_or(u64::MAX));
    if let (Some(group), Some(settings)) = (group, settings) {
        return member::consume(&cluster, group, &args, settings, &mut printer).await;
    }
    let partitions = args.partition.map(|p| vec![p]);
    let end = args.exit_at_end;
    let tail = match group {
        Some(g) => {
            refuse_active_group(&cluster, g).await?;
            let from = (start_at, end, reading);
            start_from_group(&cluster, topic, partitions, from, g).await?
        }
        None => tail::start(&cluster, topic, partitions, start_at, end, reading).await?,
    };
    let (positions, failure) = pump(tail, &mut printer, limit, args.idle()).await?;
    let _ = printer.flush()?;
    if let Some(group) = group {
        commit(&cluster, group, topic, &positions).await?;
    }
    failure.map_or(Ok(()), Err)
}

/// Prints records as they arrive until every partition ended, `limit` records were printed,
/// none came for `idle`, stdout closed, a partition failed or Ctrl-C; returns the next offset
/// of each partition read and the failure, if any.
async fn pump<W: Write>(
    mut tail: tail::Tail,
    printer: &mut Printer<'_, W>,
    limit: u64,
    idle: Option<Duration>,
) -> anyhow::Result<(BTreeMap<i32, i64>, Option<anyhow::Error>)> {
    let mut open = tail.partitions.len();
    let mut positions = BTreeMap::new();
    let mut progress = Progress::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut failure = None;
    let mut quiet_until = idle.map(|d| Instant::now() + d);
    while open > 0 && printer.count < limit {
        let event = tokio::select! {
            event = tail.events.recv() => event,
            _ = &mut ctrl_c => None,
            () = sleep_until(quiet_until) => None,
        };
        match event {
            Some(TailEvent::Records { partition, records }) => {
                quiet_until = idle.map(|d| Instant::now() + d);
                // Flush whenever nothing else is waiting, so a live tail shows records at once
                // while a backlog is still written in large blocks.
                let flush = tail.events.is_empty();
                let (next, open) = printer.deliver(partition, &records, limit, flush)?;
                if let Some(next) = next {
                    let _ = positions.insert(partition, next);
                }
                if !open {
                    break;
                }
                progress.tick(|| format!("consumed {} records", printer.count));
            }
            Some(TailEvent::End { .. }) => open -= 1,
            Some(TailEvent::Error { partition, error }) => {
                failure = Some(anyhow::anyhow!("partition {partition}: {error}"));
                break;
            }
            None => break,
        }
    }
    progress.done();
    Ok((positions, failure))
}

/// Waits until `at`, or forever without one.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// `--assign` commits outside the group, which the coordinator refuses while the group has
/// members: say so before reading anything.
async fn refuse_active_group(cluster: &Cluster, group: &str) -> anyhow::Result<()> {
    let described = match groups::describe_groups(cluster, &[group.to_string()]).await {
        Ok(d) => d,
        Err(e) if e.code() == Some(GROUP_ID_NOT_FOUND) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if let Some(d) = described.iter().find(|d| !d.members.is_empty()) {
        let (members, state) = (d.members.len(), &d.state);
        anyhow::bail!("group '{group}' has {members} active members (state {state}); --assign and --partition commit outside the group, which Kafka refuses while it has members: drop them to join the group, or stop its consumers");
    }
    Ok(())
}

/// Starts from `group`'s committed offsets where it has them, else from `start_at` (`from`:
/// the start, whether to stop at the end, how to read).
async fn start_from_group(
    cluster: &std::sync::Arc<Cluster>,
    topic: &str,
    partitions: Option<Vec<i32>>,
    (start_at, exit_at_end, reading): (StartAt, bool, Reading),
    group: &str,
) -> anyhow::Result<tail::Tail> {
    let committed = groups::fetch_offsets(cluster, &[group.to_string()]).await?;
    let mine: BTreeMap<i32, i64> = committed
        .get(group)
        .map(|c| {
            c.iter()
                .filter(|((t, _), _)| t == topic)
                .map(|((_, p), o)| (*p, *o))
                .collect()
        })
        .unwrap_or_default();
    if mine.is_empty() {
        let tail = tail::start(cluster, topic, partitions, start_at, exit_at_end, reading);
        return Ok(tail.await?);
    }
    let chosen = (partitions, &mine);
    tail::start_each(cluster, topic, chosen, start_at, exit_at_end, reading)
        .await
        .map_err(Into::into)
}

async fn commit(
    cluster: &Cluster,
    group: &str,
    topic: &str,
    positions: &BTreeMap<i32, i64>,
) -> anyhow::Result<()> {
    if positions.is_empty() {
        return Ok(());
    }
    let offsets = positions
        .iter()
        .map(|(p, o)| ((topic.to_string(), *p), *o))
        .collect();
    groups::commit_offsets(cluster, group, &offsets).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        assert!(parse_from("15m").is_ok());
        assert_eq!(parse_from("1970-01-01T00:00:01Z").expect("time"), 1000);
        assert!(parse_from("yesterday-ish").is_err());
    }
}
