//! `ktui consume TOPIC`: prints records as they arrive, like kafka-console-consumer.sh (the
//! value, one per line, by default) or in a kcat-style `--format`, or as JSON Lines with
//! `-o json`. With `--group` it starts from the group's committed offsets and commits what it
//! printed when it stops, as a consumer using assign() and commitSync() does (no group
//! membership, so the group must have no active members).

use std::collections::BTreeMap;
use std::io::Write;
use std::time::SystemTime;

use base64::Engine;
use clap::Args;
use kafka_protocol::records::Record;
use serde::Serialize;

use super::connect::ConnectArgs;
use super::output::{Format, Progress};
use crate::client::tail::{self, StartAt, TailEvent};
use crate::client::{groups, Cluster};

/// Flags of `ktui consume`.
#[derive(Debug, Args)]
pub(super) struct ConsumeArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    /// The topic to read.
    topic: String,
    /// Start at the earliest offset (default: the latest, as Kafka's console consumer).
    #[arg(long, conflicts_with_all = ["offset", "from"])]
    from_beginning: bool,
    /// Start at this offset (with --partition, or in every partition).
    #[arg(long, conflicts_with = "from")]
    offset: Option<i64>,
    /// Start at a time: a duration ago (15m, 2h, 1day) or an RFC 3339 time (2026-11-25T10:00:00Z).
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// Read only this partition.
    #[arg(long)]
    partition: Option<i32>,
    /// Stop after this many records.
    #[arg(long)]
    max_messages: Option<u64>,
    /// Stop when every partition reaches the end it had at the start.
    #[arg(long, short = 'e')]
    exit_at_end: bool,
    /// Start from this group's committed offsets and commit the consumed ones on exit.
    #[arg(long)]
    group: Option<String>,
    /// Per record: %t topic, %p partition, %o offset, %k key, %v value, %T timestamp (ms),
    /// %h headers, %K key length, %S value length, %% and \n \t escapes.
    #[arg(long, default_value = "%v")]
    format: String,
}

/// `-o json`: one of these per line.
#[derive(Debug, Serialize)]
struct JsonRecord<'a> {
    topic: &'a str,
    partition: i32,
    offset: i64,
    timestamp: i64,
    key: Option<Data<'a>>,
    value: Option<Data<'a>>,
    headers: BTreeMap<&'a str, Option<Data<'a>>>,
}

/// Bytes in JSON: a string when they are UTF-8, else `{"base64": "..."}`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Data<'a> {
    Text(&'a str),
    Binary { base64: String },
}

impl<'a> Data<'a> {
    fn of(bytes: &'a [u8]) -> Data<'a> {
        match std::str::from_utf8(bytes) {
            Ok(s) => Data::Text(s),
            Err(_) => Data::Binary {
                base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            },
        }
    }
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
    fn start_at(&self) -> anyhow::Result<StartAt> {
        Ok(match (&self.from, self.offset, self.from_beginning) {
            (Some(from), _, _) => StartAt::Timestamp(parse_from(from)?),
            (None, Some(o), _) if o < 0 => anyhow::bail!(
                "--offset {o} is negative; use --from-beginning or a time with --from"
            ),
            (None, Some(o), _) => StartAt::Offset(o),
            (None, None, true) => StartAt::Earliest,
            (None, None, false) => StartAt::Latest,
        })
    }
}

pub(super) async fn run(args: ConsumeArgs) -> anyhow::Result<()> {
    let start_at = args.start_at()?;
    let template = Template::parse(&args.format);
    let cluster = args.connect.connect().await?;
    let partitions = args.partition.map(|p| vec![p]);
    let (topic, end) = (&args.topic, args.exit_at_end);
    let tail = match &args.group {
        Some(g) => start_from_group(&cluster, topic, partitions, start_at, end, g).await?,
        None => tail::start(&cluster, topic, partitions, start_at, end).await?,
    };
    let mut printer = Printer {
        format: args.connect.output,
        template,
        topic,
        out: std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock()),
        count: 0,
    };
    let limit = args.max_messages.unwrap_or(u64::MAX);
    let (positions, failure) = pump(tail, &mut printer, limit).await?;
    let _ = printer.flush()?;
    if let Some(group) = &args.group {
        commit(&cluster, group, topic, &positions).await?;
    }
    failure.map_or(Ok(()), Err)
}

/// Prints records as they arrive until every partition ended, `limit` records were printed,
/// stdout closed, a partition failed or Ctrl-C; returns the next offset of each partition read
/// and the failure, if any.
async fn pump<W: Write>(
    mut tail: tail::Tail,
    printer: &mut Printer<'_, W>,
    limit: u64,
) -> anyhow::Result<(BTreeMap<i32, i64>, Option<anyhow::Error>)> {
    let mut open = tail.partitions.len();
    let mut positions = BTreeMap::new();
    let mut progress = Progress::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut failure = None;
    while open > 0 && printer.count < limit {
        let event = tokio::select! {
            event = tail.events.recv() => event,
            _ = &mut ctrl_c => None,
        };
        match event {
            Some(TailEvent::Records { partition, records }) => {
                let left = usize::try_from(limit - printer.count).unwrap_or(usize::MAX);
                let taken = &records[..records.len().min(left)];
                if let Some(last) = taken.last() {
                    let _ = positions.insert(partition, last.offset + 1);
                }
                // Flush whenever nothing else is waiting, so a live tail shows records at once
                // while a backlog is still written in large blocks.
                let flush = tail.events.is_empty();
                if !printer.print(partition, taken)? || (flush && !printer.flush()?) {
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

/// Starts from `group`'s committed offsets where it has them, else from `start_at`.
async fn start_from_group(
    cluster: &std::sync::Arc<Cluster>,
    topic: &str,
    partitions: Option<Vec<i32>>,
    start_at: StartAt,
    exit_at_end: bool,
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
        return Ok(tail::start(cluster, topic, partitions, start_at, exit_at_end).await?);
    }
    tail::start_each(cluster, topic, partitions, start_at, exit_at_end, &mine)
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

/// A parsed `--format`.
struct Template {
    parts: Vec<Part>,
    /// `%v` alone: written without going through the parts.
    value_only: bool,
}

enum Part {
    Text(Vec<u8>),
    Topic,
    Partition,
    Offset,
    Key,
    Value,
    Timestamp,
    Headers,
    KeyLength,
    ValueLength,
}

impl Template {
    fn parse(format: &str) -> Template {
        let mut parts = Vec::new();
        let mut text = Vec::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            let part = match (c, chars.clone().next()) {
                ('%', Some(n)) => match n {
                    't' => Some(Part::Topic),
                    'p' => Some(Part::Partition),
                    'o' => Some(Part::Offset),
                    'k' => Some(Part::Key),
                    'v' => Some(Part::Value),
                    'T' => Some(Part::Timestamp),
                    'h' => Some(Part::Headers),
                    'K' => Some(Part::KeyLength),
                    'S' => Some(Part::ValueLength),
                    '%' => Some(Part::Text(b"%".to_vec())),
                    _ => None,
                },
                ('\\', Some('n')) => Some(Part::Text(b"\n".to_vec())),
                ('\\', Some('t')) => Some(Part::Text(b"\t".to_vec())),
                _ => None,
            };
            match part {
                Some(part) => {
                    let _ = chars.next();
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(part);
                }
                None => {
                    let mut buf = [0u8; 4];
                    text.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        let value_only = matches!(parts.as_slice(), [Part::Value]);
        Template { parts, value_only }
    }

    fn write<W: Write>(
        &self,
        out: &mut W,
        topic: &str,
        partition: i32,
        r: &Record,
    ) -> std::io::Result<()> {
        if self.value_only {
            out.write_all(r.value.as_deref().unwrap_or_default())?;
            return out.write_all(b"\n");
        }
        for part in &self.parts {
            match part {
                Part::Text(t) => out.write_all(t)?,
                Part::Topic => out.write_all(topic.as_bytes())?,
                Part::Partition => write!(out, "{partition}")?,
                Part::Offset => write!(out, "{}", r.offset)?,
                Part::Key => out.write_all(r.key.as_deref().unwrap_or_default())?,
                Part::Value => out.write_all(r.value.as_deref().unwrap_or_default())?,
                Part::Timestamp => write!(out, "{}", r.timestamp)?,
                Part::Headers => write_headers(out, r)?,
                Part::KeyLength => {
                    write!(out, "{}", r.key.as_ref().map_or(-1, |k| k.len() as i64))?
                }
                Part::ValueLength => {
                    write!(out, "{}", r.value.as_ref().map_or(-1, |v| v.len() as i64))?
                }
            }
        }
        out.write_all(b"\n")
    }
}

fn write_headers<W: Write>(out: &mut W, r: &Record) -> std::io::Result<()> {
    for (i, (k, v)) in r.headers.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(k.as_bytes())?;
        out.write_all(b"=")?;
        out.write_all(v.as_deref().unwrap_or_default())?;
    }
    Ok(())
}

struct Printer<'a, W: Write> {
    format: Format,
    template: Template,
    topic: &'a str,
    out: W,
    count: u64,
}

impl<W: Write> Printer<'_, W> {
    /// Writes out what is buffered; false when stdout has closed.
    fn flush(&mut self) -> anyhow::Result<bool> {
        match self.out.flush() {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Prints `records`; false when stdout has closed.
    fn print(&mut self, partition: i32, records: &[Record]) -> anyhow::Result<bool> {
        let result = records.iter().try_for_each(|r| match self.format {
            Format::Table => self.template.write(&mut self.out, self.topic, partition, r),
            Format::Json => self.write_json(partition, r),
        });
        self.count += records.len() as u64;
        match result {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn write_json(&mut self, partition: i32, r: &Record) -> std::io::Result<()> {
        let record = JsonRecord {
            topic: self.topic,
            partition,
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key.as_deref().map(Data::of),
            value: r.value.as_deref().map(Data::of),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref().map(Data::of)))
                .collect(),
        };
        serde_json::to_writer(&mut self.out, &record)?;
        self.out.write_all(b"\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_strings_and_times_parse() {
        let t = Template::parse("%p %o %k=%v\\t%%");
        assert_eq!(t.parts.len(), 9);
        assert!(Template::parse("%v").value_only);
        assert!(parse_from("15m").is_ok());
        assert_eq!(parse_from("1970-01-01T00:00:01Z").expect("time"), 1000);
        assert!(parse_from("yesterday-ish").is_err());
    }
}
