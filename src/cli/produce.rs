//! `ktui produce TOPIC`: one record per line of stdin (or `-f FILE`), like
//! kafka-console-producer.sh: the line ending (`\n` or `\r\n`) is dropped, an empty line is an
//! empty value, `--key-separator` splits key from value at the first separator (Kafka's
//! `parse.key`). Lines are read on a blocking thread and handed over in chunks, so a pipe is
//! read as fast as it fills and a person typing sees each line sent within `linger`.
//! `--broker-list HOST:PORT`, the console producer's name for the bootstrap servers before
//! Kafka 2.5, is taken as `--bootstrap` here only (elsewhere `--broker-list` lists broker ids).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use bytes::Bytes;
use clap::Args;
use serde::Serialize;
use tokio::sync::mpsc;

use super::connect::ConnectArgs;
use super::output::{self, Format};
use crate::client::produce::{self, BatchAck, ProduceOptions, Producer, ProducerRecord};

/// Lines handed from the reading thread to the producer at once, at most.
const LINES_PER_CHUNK_MAX: usize = 4096;

/// Flags of `ktui produce`.
#[derive(Debug, Args)]
pub(super) struct ProduceArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    /// Brokers to bootstrap from: the old name of --bootstrap-server, kept for
    /// kafka-console-producer.sh's users.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "bootstrap")]
    broker_list: Option<String>,
    /// The topic to write to.
    topic: String,
    /// The key of every record.
    #[arg(long, conflicts_with = "key_separator")]
    key: Option<String>,
    /// A header for every record, key=value (repeatable).
    #[arg(long = "header", value_name = "KEY=VALUE")]
    headers: Vec<String>,
    /// Write every record to this partition instead of using the default partitioner.
    #[arg(long)]
    partition: Option<i32>,
    /// Acknowledgements to wait for: 0, 1 or all.
    #[arg(long, default_value = "all", value_parser = parse_acks)]
    acks: i16,
    /// none, gzip, snappy, lz4 or zstd.
    #[arg(long, default_value = "none", value_parser = produce::parse_compression)]
    compression: kafka_protocol::records::Compression,
    /// Each line is KEY<SEP>VALUE, split at the first SEP.
    #[arg(long, value_name = "SEP")]
    key_separator: Option<String>,
    /// Read records from this file instead of stdin.
    #[arg(long = "file", short = 'f')]
    file: Option<PathBuf>,
}

impl ProduceArgs {
    /// The connection flags, with `--broker-list` taken as `--bootstrap`.
    pub(super) fn connect_mut(&mut self) -> &mut ConnectArgs {
        if let Some(list) = self.broker_list.take() {
            self.connect.bootstrap = Some(list);
        }
        &mut self.connect
    }
}

/// `0|1|all|-1` → Kafka's acks value.
pub(super) fn parse_acks(value: &str) -> Result<i16, String> {
    match value {
        "0" => Ok(0),
        "1" => Ok(1),
        "all" | "-1" => Ok(-1),
        _ => Err(format!("acks '{value}' is not one of 0, 1, all")),
    }
}

/// A partition's share of what was produced, in `-o json`.
#[derive(Debug, Serialize)]
struct PartitionSummary {
    partition: i32,
    records: usize,
    /// The first and last offsets written; absent with acks=0.
    first_offset: Option<i64>,
    last_offset: Option<i64>,
}

/// `ktui produce -o json`.
#[derive(Debug, Serialize)]
struct Summary {
    topic: String,
    records: usize,
    partitions: Vec<PartitionSummary>,
}

pub(super) async fn run(args: ProduceArgs) -> anyhow::Result<()> {
    if args.key_separator.as_deref() == Some("") {
        anyhow::bail!("--key-separator '' is empty; give the text that separates key from value");
    }
    let headers: Vec<(String, Option<Bytes>)> = args
        .headers
        .iter()
        .map(|h| output::key_value("--header", h).map(|(k, v)| (k, Some(Bytes::from(v)))))
        .collect::<anyhow::Result<_>>()?;
    let input: Box<dyn Read + Send> = match &args.file {
        Some(path) => Box::new(
            std::fs::File::open(path)
                .map_err(|e| anyhow::anyhow!("cannot read -f '{}': {e}", path.display()))?,
        ),
        None => Box::new(std::io::stdin()),
    };
    let cluster = args.connect.connect().await?;
    let options = ProduceOptions {
        acks: args.acks,
        compression: args.compression,
        ..ProduceOptions::default()
    };
    let mut producer = Producer::new(cluster, &args.topic, options).await?;
    let (tx, mut rx) = mpsc::channel::<std::io::Result<Vec<Vec<u8>>>>(4);
    let reader = std::thread::spawn(move || read_lines(input, &tx));
    let mut acks = Vec::new();
    let template = RecordTemplate {
        key: args.key.map(Bytes::from),
        separator: args.key_separator,
        headers,
        partition: args.partition,
    };
    loop {
        tokio::select! {
            chunk = rx.recv() => match chunk {
                Some(lines) => {
                    for line in lines? {
                        producer.send(template.record(line)?).await?;
                    }
                }
                None => break,
            },
            () = tokio::time::sleep(produce::LINGER_DEFAULT), if !producer.is_idle() => {
                producer.dispatch_lingering().await?;
            }
        }
        acks.extend(producer.take_acks());
    }
    producer.flush().await?;
    acks.extend(producer.take_acks());
    let _ = reader.join();
    print_summary(args.connect.output, &args.topic, &acks)
}

/// What every record shares, and how a line becomes one.
struct RecordTemplate {
    key: Option<Bytes>,
    separator: Option<String>,
    headers: Vec<(String, Option<Bytes>)>,
    partition: Option<i32>,
}

impl RecordTemplate {
    fn record(&self, line: Vec<u8>) -> anyhow::Result<ProducerRecord> {
        let (key, value) = match &self.separator {
            None => (self.key.clone(), Bytes::from(line)),
            Some(sep) => {
                let at = find(&line, sep.as_bytes()).ok_or_else(|| {
                    anyhow::anyhow!(
                        "no key separator '{sep}' in line '{}'",
                        String::from_utf8_lossy(&line)
                    )
                })?;
                let line = Bytes::from(line);
                (Some(line.slice(..at)), line.slice(at + sep.len()..))
            }
        };
        Ok(ProducerRecord {
            key,
            value: Some(value),
            headers: self.headers.clone(),
            partition: self.partition,
            timestamp: None,
        })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads lines on a blocking thread; a chunk is sent when full or when the next read would block.
fn read_lines(input: Box<dyn Read + Send>, tx: &mpsc::Sender<std::io::Result<Vec<Vec<u8>>>>) {
    let mut reader = BufReader::with_capacity(256 * 1024, input);
    let mut chunk = Vec::new();
    loop {
        let mut line = Vec::new();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {
                if line.last() == Some(&b'\n') {
                    line.pop();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                }
                chunk.push(line);
                let full = chunk.len() >= LINES_PER_CHUNK_MAX || reader.buffer().is_empty();
                if full && tx.blocking_send(Ok(std::mem::take(&mut chunk))).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        }
    }
    if !chunk.is_empty() {
        let _ = tx.blocking_send(Ok(chunk));
    }
}

fn print_summary(format: Format, topic: &str, acks: &[BatchAck]) -> anyhow::Result<()> {
    let mut by_partition: BTreeMap<i32, PartitionSummary> = BTreeMap::new();
    for a in acks {
        let s = by_partition.entry(a.partition).or_insert(PartitionSummary {
            partition: a.partition,
            records: 0,
            first_offset: None,
            last_offset: None,
        });
        s.records += a.records;
        if a.base_offset >= 0 {
            let last = a.base_offset + a.records as i64 - 1;
            s.first_offset = Some(
                s.first_offset
                    .map_or(a.base_offset, |f| f.min(a.base_offset)),
            );
            s.last_offset = Some(s.last_offset.map_or(last, |l| l.max(last)));
        }
    }
    let summary = Summary {
        topic: topic.to_string(),
        records: by_partition.values().map(|p| p.records).sum(),
        partitions: by_partition.into_values().collect(),
    };
    match format {
        Format::Json => output::print_json(&summary),
        Format::Table => {
            let text = format!(
                "produced {} records to '{}' ({} partitions)\n",
                summary.records,
                topic,
                summary.partitions.len()
            );
            eprint!("{text}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_at_the_first_separator() {
        let t = RecordTemplate {
            key: None,
            separator: Some("::".into()),
            headers: vec![],
            partition: None,
        };
        let r = t.record(b"k::v::w".to_vec()).expect("record");
        assert_eq!(r.key.as_deref(), Some(&b"k"[..]));
        assert_eq!(r.value.as_deref(), Some(&b"v::w"[..]));
        assert!(t.record(b"none".to_vec()).is_err());
        assert_eq!(parse_acks("all"), Ok(-1));
        assert!(parse_acks("2").is_err());
    }
}
