//! `ktui perf produce|consume`, after kafka-producer-perf-test.sh and
//! kafka-consumer-perf-test.sh. Produce sends `--num-records` records of `--record-size` bytes
//! (one random upper-case payload, null keys, as Kafka's tool) through the client's producer,
//! optionally throttled to `--throughput` records/s, and reports records/s, MB/s and the
//! latency from send to acknowledgement (avg, max, p50, p95, p99, p99.9). Consume reads
//! `--messages` records from the earliest offsets and reports records/s and MB/s.

use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Args, Subcommand};
use serde::Serialize;

use super::connect::ConnectArgs;
use super::output::{self, Format, Progress};
use super::produce::parse_acks;
use crate::client::produce::{self, BatchAck, ProduceOptions, Producer, ProducerRecord};
use crate::client::tail::{self, StartAt, TailEvent};

/// Records sent between checks of the throttle, progress and acknowledgements.
const RECORDS_PER_CHECK: u64 = 1024;
/// `perf consume` gives up after this long without a record, as Kafka's tool's --timeout.
const CONSUME_IDLE_MAX: Duration = Duration::from_secs(10);
const MB: f64 = 1024.0 * 1024.0;
/// Largest `--record-size`: a record must fit a batch under Kafka's 1 MiB message.max.bytes
/// default with room to spare, and the payload is held in memory.
const RECORD_BYTES_MAX: usize = 100 * 1024 * 1024;
/// Latency samples kept up front; more are added as they come.
const LATENCY_SAMPLES_PREALLOCATED_MAX: usize = 10_000_000;

/// Flags of `ktui perf`.
#[derive(Debug, Args)]
pub(super) struct PerfArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    #[command(subcommand)]
    command: PerfCommand,
}

impl PerfArgs {
    /// The write this command makes, for `--read-only` to refuse.
    pub(super) fn writes(&self) -> Option<&'static str> {
        match self.command {
            PerfCommand::Produce { .. } => Some("perf produce"),
            PerfCommand::Consume { .. } => None,
        }
    }
}

#[derive(Debug, Subcommand)]
enum PerfCommand {
    /// Produce records as fast as possible (or at --throughput) and report rate and latency.
    Produce {
        topic: String,
        /// How many records to send.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        num_records: u64,
        /// Bytes per record value.
        #[arg(long)]
        record_size: usize,
        /// Records per second at most; unlimited when absent or -1.
        #[arg(long, allow_hyphen_values = true)]
        throughput: Option<i64>,
        /// 0, 1 or all.
        #[arg(long, default_value = "all", value_parser = parse_acks)]
        acks: i16,
        /// none, gzip, snappy, lz4 or zstd.
        #[arg(long, default_value = "none", value_parser = produce::parse_compression)]
        compression: kafka_protocol::records::Compression,
    },
    /// Consume records from the earliest offsets and report the rate.
    Consume {
        topic: String,
        /// How many records to read.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        messages: u64,
    },
}

pub(super) async fn run(args: PerfArgs) -> anyhow::Result<()> {
    let format = args.connect.output;
    match args.command {
        PerfCommand::Produce {
            topic,
            num_records,
            record_size,
            throughput,
            acks,
            compression,
        } => {
            let options = ProduceOptions {
                acks,
                compression,
                track_latency: acks != 0,
                ..ProduceOptions::default()
            };
            let rate = throughput.filter(|r| *r > 0).map(|r| r as f64);
            let report = produce_run(
                &args.connect,
                &topic,
                num_records,
                record_size,
                rate,
                options,
            )
            .await?;
            print_produce(format, &report)
        }
        PerfCommand::Consume { topic, messages } => {
            let report = consume_run(&args.connect, &topic, messages).await?;
            print_consume(format, &report)
        }
    }
}

/// `perf produce -o json`.
#[derive(Debug, Serialize)]
struct ProduceReport {
    records: u64,
    record_size: usize,
    seconds: f64,
    records_per_sec: f64,
    mb_per_sec: f64,
    /// Send to acknowledgement, in milliseconds; absent with acks=0.
    latency_ms: Option<Latency>,
}

#[derive(Debug, Serialize)]
struct Latency {
    avg: f64,
    max: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    p999: f64,
}

async fn produce_run(
    connect: &ConnectArgs,
    topic: &str,
    count: u64,
    size: usize,
    rate: Option<f64>,
    options: ProduceOptions,
) -> anyhow::Result<ProduceReport> {
    anyhow::ensure!(
        size <= RECORD_BYTES_MAX,
        "--record-size {size} is over {RECORD_BYTES_MAX} bytes; use a smaller record"
    );
    let payload = Bytes::from(
        (0..size)
            .map(|_| fastrand::u8(b'A'..=b'Z'))
            .collect::<Vec<u8>>(),
    );
    let cluster = connect.connect().await?;
    let mut producer = Producer::new(cluster, topic, options).await?;
    let preallocated =
        usize::try_from(count).map_or(0, |c| c.min(LATENCY_SAMPLES_PREALLOCATED_MAX));
    let mut latencies_us: Vec<u32> = Vec::with_capacity(preallocated);
    let mut progress = Progress::new();
    let start = Instant::now();
    for i in 0..count {
        if let Some(rate) = rate {
            throttle(&mut producer, start, i, rate).await?;
        }
        if i % RECORDS_PER_CHECK == 0 {
            record_latencies(&mut latencies_us, producer.take_acks());
            progress.tick(|| {
                format!(
                    "{i} records sent, {:.1} records/sec",
                    i as f64 / start.elapsed().as_secs_f64()
                )
            });
        }
        let record = ProducerRecord {
            value: Some(payload.clone()),
            ..ProducerRecord::default()
        };
        producer.send(record).await?;
    }
    producer.flush().await?;
    let seconds = start.elapsed().as_secs_f64();
    record_latencies(&mut latencies_us, producer.take_acks());
    progress.done();
    Ok(ProduceReport {
        records: count,
        record_size: size,
        seconds,
        records_per_sec: count as f64 / seconds,
        mb_per_sec: count as f64 * size as f64 / MB / seconds,
        latency_ms: summarize(&mut latencies_us),
    })
}

/// Waits until sending record `sent` keeps to `rate`, sending lingering batches meanwhile.
async fn throttle(
    producer: &mut Producer,
    start: Instant,
    sent: u64,
    rate: f64,
) -> anyhow::Result<()> {
    let due = start + Duration::from_secs_f64(sent as f64 / rate);
    if Instant::now() >= due {
        return Ok(());
    }
    loop {
        producer.dispatch_lingering().await?;
        let now = Instant::now();
        if now >= due {
            return Ok(());
        }
        tokio::time::sleep((due - now).min(produce::LINGER_DEFAULT)).await;
    }
}

fn record_latencies(out: &mut Vec<u32>, acks: Vec<BatchAck>) {
    for ack in acks {
        out.extend(ack.enqueued.iter().map(|t| {
            u32::try_from(ack.acked_at.saturating_duration_since(*t).as_micros())
                .unwrap_or(u32::MAX)
        }));
    }
}

fn summarize(us: &mut [u32]) -> Option<Latency> {
    if us.is_empty() {
        return None;
    }
    us.sort_unstable();
    let at = |q: f64| f64::from(us[((us.len() as f64 * q) as usize).min(us.len() - 1)]) / 1000.0;
    let sum: f64 = us.iter().map(|v| f64::from(*v)).sum();
    Some(Latency {
        avg: sum / us.len() as f64 / 1000.0,
        max: f64::from(us[us.len() - 1]) / 1000.0,
        p50: at(0.5),
        p95: at(0.95),
        p99: at(0.99),
        p999: at(0.999),
    })
}

fn print_produce(format: Format, r: &ProduceReport) -> anyhow::Result<()> {
    if format == Format::Json {
        return output::print_json(r);
    }
    let mut line = format!(
        "{} records sent, {:.1} records/sec ({:.2} MB/sec)",
        r.records, r.records_per_sec, r.mb_per_sec
    );
    if let Some(l) = &r.latency_ms {
        line.push_str(&format!(
            ", {:.2} ms avg latency, {:.2} ms max latency, {:.2} ms 50th, {:.2} ms 95th, {:.2} ms 99th, {:.2} ms 99.9th.",
            l.avg, l.max, l.p50, l.p95, l.p99, l.p999
        ));
    }
    output::print_text(&format!("{line}\n"))
}

/// `perf consume -o json`.
#[derive(Debug, Serialize)]
struct ConsumeReport {
    records: u64,
    /// Key and value bytes, as Kafka's tool counts them.
    bytes: u64,
    seconds: f64,
    records_per_sec: f64,
    mb_per_sec: f64,
}

async fn consume_run(
    connect: &ConnectArgs,
    topic: &str,
    wanted: u64,
) -> anyhow::Result<ConsumeReport> {
    let cluster = connect.connect().await?;
    let start = Instant::now();
    let reading = tail::Reading::default();
    let mut tail = tail::start(&cluster, topic, None, StartAt::Earliest, false, reading).await?;
    let (mut records, mut bytes) = (0u64, 0u64);
    let mut progress = Progress::new();
    while records < wanted {
        let event = tokio::time::timeout(CONSUME_IDLE_MAX, tail.events.recv()).await;
        match event {
            Ok(Some(TailEvent::Records { records: batch, .. })) => {
                let take = batch.len().min(usize::try_from(wanted - records).unwrap_or(usize::MAX));
                for r in &batch[..take] {
                    bytes += (r.key.as_ref().map_or(0, Bytes::len) + r.value.as_ref().map_or(0, Bytes::len)) as u64;
                }
                records += take as u64;
                progress.tick(|| format!("{records} records consumed"));
            }
            Ok(Some(TailEvent::Error { partition, error })) => anyhow::bail!("partition {partition}: {error}"),
            Ok(Some(TailEvent::End { .. })) => {}
            Ok(None) | Err(_) => anyhow::bail!(
                "only {records} of {wanted} records arrived (none for {} s); produce more or lower --messages",
                CONSUME_IDLE_MAX.as_secs()
            ),
        }
    }
    progress.done();
    let seconds = start.elapsed().as_secs_f64();
    Ok(ConsumeReport {
        records,
        bytes,
        seconds,
        records_per_sec: records as f64 / seconds,
        mb_per_sec: bytes as f64 / MB / seconds,
    })
}

fn print_consume(format: Format, r: &ConsumeReport) -> anyhow::Result<()> {
    if format == Format::Json {
        return output::print_json(r);
    }
    output::print_text(&format!(
        "{} records consumed, {:.2} MB, {:.3} s, {:.1} records/sec ({:.2} MB/sec)\n",
        r.records,
        r.bytes as f64 / MB,
        r.seconds,
        r.records_per_sec,
        r.mb_per_sec
    ))
}
