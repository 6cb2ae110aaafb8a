//! `ktui consume --group G`: reads as a member of the group, as kafka-console-consumer.sh
//! does. The member (`client::membership`) joins with the classic protocol or KIP-848's; each
//! time the assignment changes the tail is started again for the partitions given, from the
//! offsets this process has reached in partitions it keeps, else the group's committed offset,
//! else the start flags (`auto.offset.reset`). Partitions taken away are released with their
//! offsets, which the member commits before it rebalances further; the offsets are committed
//! every `auto.commit.interval.ms` and when the command stops (`--max-messages`,
//! `--timeout-ms`, `-e`, Ctrl-C), before the member leaves the group.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::print::Printer;
use super::{sleep_until, ConsumeArgs};
use crate::cli::output::Progress;
use crate::client::admin::{self, TopicPartition};
use crate::client::groups::Committed;
use crate::client::membership::{Assignment, GroupMember, GroupProtocol, MemberConfig};
use crate::client::tail::{self, Reading, StartAt, Tail, TailEvent};
use crate::client::Cluster;

/// Kafka's `auto.commit.interval.ms` default.
const AUTO_COMMIT_INTERVAL_MS_DEFAULT: u64 = 5_000;

/// How the member joins, commits and starts.
pub(super) struct Settings {
    member: MemberConfig,
    /// `auto.commit.interval.ms`; `None` with `enable.auto.commit=false`, which commits nothing.
    auto_commit: Option<Duration>,
    /// Where a partition without a committed offset starts: the flags, else
    /// `auto.offset.reset`, else the latest offset.
    reset: StartAt,
}

impl Settings {
    /// From the `--command-config` file, then `--consumer-property`, then the flags.
    pub(super) fn from_args(args: &ConsumeArgs, start: Option<StartAt>) -> anyhow::Result<Self> {
        let mut props = match &args.connect.command_config {
            Some(path) => crate::config::read_properties(path)?,
            None => Vec::new(),
        };
        for prop in &args.consumer_properties {
            let (key, value) = prop
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("--consumer-property '{prop}' is not KEY=VALUE"))?;
            props.push((key.trim().to_string(), value.trim().to_string()));
        }
        let mut member = MemberConfig::from_properties(&props)?;
        if let Some(name) = &args.group_protocol {
            member.protocol = GroupProtocol::parse(name).map_err(|_| {
                anyhow::anyhow!("--group-protocol '{name}' is not a group protocol; use classic (the default) or consumer (KIP-848)")
            })?;
        }
        let (mut enabled, mut interval) = (true, AUTO_COMMIT_INTERVAL_MS_DEFAULT);
        let mut reset = None;
        for (key, value) in &props {
            match key.as_str() {
                "enable.auto.commit" => enabled = parse_bool(key, value)?,
                "auto.commit.interval.ms" => interval = parse_millis(key, value)?,
                "auto.offset.reset" => reset = Some(parse_reset(value)?),
                _ => {}
            }
        }
        Ok(Settings {
            member,
            auto_commit: enabled.then(|| Duration::from_millis(interval)),
            reset: start.or(reset).unwrap_or(StartAt::Latest),
        })
    }
}

fn parse_bool(key: &str, value: &str) -> anyhow::Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => anyhow::bail!("{key} '{value}' is neither true nor false"),
    }
}

fn parse_millis(key: &str, value: &str) -> anyhow::Result<u64> {
    match value.parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(ms),
        _ => anyhow::bail!("{key} '{value}' is not a positive number of milliseconds"),
    }
}

fn parse_reset(value: &str) -> anyhow::Result<StartAt> {
    match value {
        "earliest" => Ok(StartAt::Earliest),
        "latest" => Ok(StartAt::Latest),
        _ => anyhow::bail!("auto.offset.reset '{value}' is not earliest or latest"),
    }
}

/// Why reading stopped.
enum Ending {
    /// A limit, the end (-e), the idle timeout, a closed stdout or Ctrl-C.
    Done,
    /// The member's task ended; `leave()` returns its error.
    MemberStopped,
}

/// Reads as `group`'s member until the command stops, commits, and leaves the group.
pub(super) async fn consume<W: Write>(
    cluster: &Arc<Cluster>,
    group: &str,
    args: &ConsumeArgs,
    settings: Settings,
    printer: &mut Printer<'_, W>,
) -> anyhow::Result<()> {
    let topic = args.topic().to_string();
    // An unknown topic is named now, not after joining a group that cannot assign it.
    let _ = cluster.topic(&topic).await?;
    let member = GroupMember::join(
        cluster,
        group,
        std::slice::from_ref(&topic),
        settings.member,
    )
    .await?;
    let mut reader = Reader {
        cluster,
        topic,
        reset: settings.reset,
        reading: args.reading()?,
        exit_at_end: args.exit_at_end,
        positions: BTreeMap::new(),
        committed: BTreeMap::new(),
        tail: None,
        open: None,
    };
    let limits = Limits {
        messages: args.max_messages.unwrap_or(u64::MAX),
        idle: args.idle(),
        auto_commit: settings.auto_commit,
    };
    let ending = reader.read(&member, printer, &limits).await;
    let flushed = printer.flush();
    reader.tail = None;
    let committed = match (&ending, limits.auto_commit) {
        (Ok(Ending::MemberStopped), _) | (_, None) => Ok(()),
        _ => reader.commit(&member).await,
    };
    let left = member.leave().await;
    ending?;
    flushed?;
    left?;
    committed.map_err(Into::into)
}

/// When reading stops, and how often it commits.
struct Limits {
    messages: u64,
    idle: Option<Duration>,
    auto_commit: Option<Duration>,
}

/// What woke the reader.
enum Wake {
    Assignment,
    Event(Option<TailEvent>),
    Commit,
}

/// The partitions the group gave, read through one tail.
struct Reader<'a> {
    cluster: &'a Arc<Cluster>,
    topic: String,
    reset: StartAt,
    /// The isolation level the tail reads at (and resets to the latest offset at).
    reading: Reading,
    exit_at_end: bool,
    /// The next offset to read in each partition the group gave this member.
    positions: BTreeMap<i32, i64>,
    /// The positions last committed: unchanged ones are not committed again.
    committed: BTreeMap<i32, i64>,
    tail: Option<Tail>,
    /// The tail's partitions that have not reached their end (`-e`).
    open: Option<usize>,
}

impl Reader<'_> {
    async fn read<W: Write>(
        &mut self,
        member: &GroupMember,
        printer: &mut Printer<'_, W>,
        limits: &Limits,
    ) -> anyhow::Result<Ending> {
        let mut assignment = member.assignment();
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        let after = |d: Option<Duration>| d.map(|d| Instant::now() + d);
        let (mut quiet_until, mut commit_at) = (after(limits.idle), after(limits.auto_commit));
        let mut progress = Progress::new();
        while printer.count < limits.messages && !(self.exit_at_end && self.open == Some(0)) {
            let wake = tokio::select! {
                biased;
                _ = &mut ctrl_c => break,
                changed = assignment.changed() => match changed {
                    Ok(()) => Wake::Assignment,
                    Err(_) => return Ok(Ending::MemberStopped),
                },
                // Before the records, so a backlog does not hold commits back.
                () = sleep_until(commit_at) => Wake::Commit,
                event = next_event(&mut self.tail) => Wake::Event(event),
                () = sleep_until(quiet_until) => break,
            };
            match wake {
                Wake::Assignment => {
                    let given = assignment.borrow_and_update().clone();
                    self.reassign(member, &given).await?;
                }
                Wake::Commit => {
                    commit_at = after(limits.auto_commit);
                    if let Err(e) = self.commit(member).await {
                        log_commit_failure("periodic commit", &e);
                    }
                }
                Wake::Event(Some(TailEvent::Records { partition, records })) => {
                    quiet_until = after(limits.idle);
                    let flush = self.tail.as_ref().is_none_or(|t| t.events.is_empty());
                    let (next, open) =
                        printer.deliver(partition, &records, limits.messages, flush)?;
                    if let Some(next) = next {
                        let _ = self.positions.insert(partition, next);
                    }
                    if !open {
                        break;
                    }
                    progress.tick(|| format!("consumed {} records", printer.count));
                }
                Wake::Event(Some(TailEvent::End { .. })) => {
                    self.open = self.open.map(|n| n.saturating_sub(1));
                }
                Wake::Event(Some(TailEvent::Error { partition, error })) => {
                    anyhow::bail!("partition {partition}: {error}")
                }
                Wake::Event(None) => self.tail = None,
            }
        }
        progress.done();
        Ok(Ending::Done)
    }

    /// Follows a new assignment: releases the partitions taken away (with their offsets),
    /// and reads the partitions given from where this process, or the group, got to.
    async fn reassign(&mut self, member: &GroupMember, given: &Assignment) -> anyhow::Result<()> {
        let given: BTreeMap<i32, Option<i64>> = given
            .partitions
            .iter()
            .filter(|((t, _), _)| *t == self.topic)
            .map(|((_, p), o)| (*p, *o))
            .collect();
        let removed: Vec<i32> = (self.positions.keys())
            .filter(|p| !given.contains_key(p))
            .copied()
            .collect();
        let added = given.keys().any(|p| !self.positions.contains_key(p));
        if removed.is_empty() && !added {
            // Nothing this reader holds was taken away, but the member waits for the word.
            return self.release(member, Committed::new()).await;
        }
        self.tail = None;
        self.open = None;
        let released: Committed = removed
            .iter()
            .filter_map(|p| {
                self.positions
                    .remove(p)
                    .map(|o| ((self.topic.clone(), *p), o))
            })
            .collect();
        self.committed.retain(|p, _| given.contains_key(p));
        if !removed.is_empty() {
            self.release(member, released).await?;
        }
        if given.is_empty() {
            return Ok(());
        }
        let fresh: Vec<i32> = (given.iter())
            .filter(|(p, o)| o.is_none() && !self.positions.contains_key(p))
            .map(|(p, _)| *p)
            .collect();
        let reset = self.reset_offsets(&fresh).await?;
        for (p, committed) in &given {
            let start = committed.or_else(|| reset.get(p).copied());
            if let (false, Some(start)) = (self.positions.contains_key(p), start) {
                let _ = self.positions.insert(*p, start);
            }
        }
        let partitions: Vec<i32> = given.keys().copied().collect();
        let (topic, end) = (&self.topic, self.exit_at_end);
        let tail = tail::start_each(
            self.cluster,
            topic,
            (Some(partitions), &self.positions),
            self.reset,
            end,
            self.reading,
        )
        .await?;
        self.open = Some(tail.partitions.len());
        self.tail = Some(tail);
        Ok(())
    }

    async fn release(&mut self, member: &GroupMember, offsets: Committed) -> anyhow::Result<()> {
        // A commit the coordinator refuses here (the generation moved on) is its call:
        // another member reads the partition from the last commit; reading goes on.
        if let Err(e) = member.release(offsets).await {
            log_commit_failure("commit on releasing partitions", &e);
        }
        Ok(())
    }

    /// Where partitions without a committed offset start, by the reset position. These are
    /// resolved here rather than left to the tail so that they can be committed before any
    /// record is read, as Kafka's consumer commits its positions: the next owner of the
    /// partition then starts there, not at a later latest offset.
    async fn reset_offsets(&self, partitions: &[i32]) -> anyhow::Result<HashMap<i32, i64>> {
        let tps: Vec<TopicPartition> = partitions
            .iter()
            .map(|p| (self.topic.clone(), *p))
            .collect();
        let spec = match self.reset {
            _ if tps.is_empty() => return Ok(HashMap::new()),
            StartAt::Offset(o) => return Ok(partitions.iter().map(|p| (*p, o)).collect()),
            StartAt::Earliest => admin::EARLIEST,
            StartAt::Latest => admin::LATEST,
            StartAt::Timestamp(ms) => ms,
        };
        let isolation = self.reading.isolation;
        let found = admin::list_offsets_isolated(self.cluster, &tps, spec, isolation).await?;
        let mut out: HashMap<i32, i64> = HashMap::with_capacity(found.len());
        let mut none_after = Vec::new();
        for (tp, o) in found {
            if o.offset < 0 {
                none_after.push(tp);
            } else {
                let _ = out.insert(tp.1, o.offset);
            }
        }
        // No record at or after the time: start at the end, as Kafka's consumer does.
        if !none_after.is_empty() {
            let latest = admin::LATEST;
            let found = admin::list_offsets_isolated(self.cluster, &none_after, latest, isolation);
            for (tp, o) in found.await? {
                let _ = out.insert(tp.1, o.offset);
            }
        }
        Ok(out)
    }

    /// Commits the positions that moved since the last commit.
    async fn commit(&mut self, member: &GroupMember) -> crate::error::Result<()> {
        if self.positions.is_empty() || self.positions == self.committed {
            return Ok(());
        }
        let offsets: Committed = (self.positions.iter())
            .map(|(p, o)| ((self.topic.clone(), *p), *o))
            .collect();
        member.commit(offsets).await?;
        self.committed = self.positions.clone();
        Ok(())
    }
}

/// A commit refused because the group moved on (a rebalance, a new generation or epoch, a
/// fenced member) is the member's to handle, and only logged at debug level; others warn.
fn log_commit_failure(what: &str, e: &crate::error::Error) {
    const MEMBERSHIP_CODES: [i16; 6] = [22, 25, 27, 82, 110, 113];
    if e.code().is_some_and(|c| MEMBERSHIP_CODES.contains(&c)) {
        tracing::debug!("{what}: {e}");
    } else {
        tracing::warn!("{what}: {e}");
    }
}

/// The tail's next event; never, while there is no tail.
async fn next_event(tail: &mut Option<Tail>) -> Option<TailEvent> {
    match tail {
        Some(t) => t.events.recv().await,
        None => std::future::pending().await,
    }
}
