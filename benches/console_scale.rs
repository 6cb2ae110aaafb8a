//! The console's first screen on a cluster of 10,000 topics and 30,000 partitions, over a real
//! loopback connection.
//!
//! The workspace broker cannot hold 30,000 partitions on this machine (three open files per
//! partition against a hard open-file limit of 20,000 that the container does not let us
//! raise), so a stand-in broker serves the cluster from memory: ApiVersions, Metadata (10,000
//! topics of 3 partitions, with topic ids) and ListOffsets (every partition's earliest and
//! latest offset), framed by the broker's own `wire` module and encoded with kafka-protocol.
//! Everything on the console's side is the real path: `Cluster::connect`, `calls::cluster`
//! (Metadata, both watermarks of every partition in batched ListOffsets, broker reachability),
//! the app applying the snapshot, and one 200x50 frame. Five runs, each on a new connection.
//! A sixth part types a filter into the 10,000-topic list, timing each keystroke with its redraw.
//! Last, the real `ktui --bootstrap` binary runs in tmux on the stand-in for 70 s, and its idle
//! CPU is read from /proc (Topics, then Brokers screen, `--refresh 2s`).
//!
//! `cargo bench --bench console_scale` (BENCH_TOPICS changes the topic count).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::BytesMut;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, ListOffsetsRequest, ListOffsetsResponse,
    MetadataResponse, ResponseKind, TopicName,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use ktui::config::ClientConfig;
use ktui_broker::wire::header::{decode_request_header, encode_response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[path = "support/idle.rs"]
mod idle;
#[path = "support/screen.rs"]
mod screen;

use screen::{first_screen, slowest_filter_keystroke};

/// Requests the stand-in answered, and connections it accepted (the idle part reports them).
static REQUESTS: AtomicUsize = AtomicUsize::new(0);
static CONNECTIONS: AtomicUsize = AtomicUsize::new(0);

const PARTITIONS: i32 = 3;
/// Every partition holds offsets 100..1,100 in the stand-in cluster.
const LOW: i64 = 100;
const HIGH: i64 = 1_100;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// The Metadata answer for the whole cluster, built once.
fn metadata(topics: usize, port: u16) -> MetadataResponse {
    let broker = MetadataResponseBroker::default()
        .with_node_id(BrokerId(1))
        .with_host(s("127.0.0.1"))
        .with_port(i32::from(port));
    let topics = (0..topics)
        .map(|i| {
            MetadataResponseTopic::default()
                .with_name(Some(TopicName(s(&format!("topic-{i:05}")))))
                .with_topic_id(uuid::Uuid::from_u128(i as u128 + 1))
                .with_partitions(
                    (0..PARTITIONS)
                        .map(|p| {
                            MetadataResponsePartition::default()
                                .with_partition_index(p)
                                .with_leader_id(BrokerId(1))
                                .with_replica_nodes(vec![BrokerId(1)])
                                .with_isr_nodes(vec![BrokerId(1)])
                        })
                        .collect(),
                )
        })
        .collect();
    MetadataResponse::default()
        .with_brokers(vec![broker])
        .with_cluster_id(Some(s("stand-in")))
        .with_controller_id(BrokerId(1))
        .with_topics(topics)
}

fn versions() -> ApiVersionsResponse {
    let entry = |key: ApiKey, min: i16, max: i16| {
        ApiVersion::default()
            .with_api_key(key as i16)
            .with_min_version(min)
            .with_max_version(max)
    };
    ApiVersionsResponse::default().with_api_keys(vec![
        entry(ApiKey::ApiVersions, 0, 3),
        entry(ApiKey::Metadata, 0, 12),
        entry(ApiKey::ListOffsets, 1, 7),
    ])
}

fn list_offsets(request: &ListOffsetsRequest) -> ListOffsetsResponse {
    let topics = request
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let offset = if p.timestamp == -2 { LOW } else { HIGH };
                    ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_offset(offset)
                        .with_timestamp(-1)
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

async fn serve(mut stream: TcpStream, metadata: Arc<MetadataResponse>) {
    loop {
        let mut prefix = [0u8; 4];
        if stream.read_exact(&mut prefix).await.is_err() {
            return;
        }
        let mut frame = BytesMut::zeroed(u32::from_be_bytes(prefix) as usize);
        if stream.read_exact(&mut frame).await.is_err() {
            return;
        }
        let mut frame = frame.freeze();
        let Ok((key, header)) = decode_request_header(&mut frame) else {
            return;
        };
        let version = header.request_api_version;
        REQUESTS.fetch_add(1, Ordering::Relaxed);
        let body = match key {
            ApiKey::ApiVersions => ResponseKind::ApiVersions(versions()),
            ApiKey::Metadata => ResponseKind::Metadata((*metadata).clone()),
            ApiKey::ListOffsets => {
                let Ok(request) = ListOffsetsRequest::decode(&mut frame, version) else {
                    return;
                };
                ResponseKind::ListOffsets(list_offsets(&request))
            }
            other => {
                eprintln!("stand-in: {other:?} is not served; closing the connection");
                return;
            }
        };
        let Ok(out) = encode_response(key, version, header.correlation_id, &body) else {
            return;
        };
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}

async fn stand_in(topics: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let metadata = Arc::new(metadata(topics, addr.port()));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            CONNECTIONS.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(serve(stream, metadata.clone()));
        }
    });
    addr.to_string()
}

/// The first screen on the stand-in, checked to list the topics and their count.
async fn checked_first_screen(bootstrap: &str, topics: usize) -> screen::FirstScreen {
    let config = ClientConfig {
        bootstrap: vec![bootstrap.to_string()],
        ..ClientConfig::default()
    };
    let first = first_screen(&config, "stand-in").await;
    let text: String = first
        .terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(
        text.contains("topic-00000") && text.contains(&format!("{topics}")),
        "the first screen lists the topics and their count"
    );
    first
}

fn main() {
    let topics: usize = std::env::var("BENCH_TOPICS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let bootstrap = stand_in(topics).await;
        println!(
            "console_scale: {topics} topics, {} partitions, stand-in broker at {bootstrap}",
            topics * PARTITIONS as usize
        );
        let mut last = None;
        for run in 1..=5 {
            let first = checked_first_screen(&bootstrap, topics).await;
            let (fetched, screen) = (first.fetched, first.total);
            println!(
                "run {run}: first full screen {:.0} ms after connecting (metadata and watermarks: {:.0} ms)",
                screen.as_secs_f64() * 1000.0,
                fetched.as_secs_f64() * 1000.0
            );
            last = Some(first);
        }
        if let Some(mut first) = last {
            let slowest =
                slowest_filter_keystroke(&mut first.app, &mut first.terminal, "topic-0999");
            println!(
                "filter as you type over {topics} topics: slowest keystroke with redraw {:.2} ms",
                slowest.as_secs_f64() * 1000.0
            );
        }
        let (requests, connections) = (
            REQUESTS.load(Ordering::Relaxed),
            CONNECTIONS.load(Ordering::Relaxed),
        );
        let b = bootstrap.clone();
        tokio::task::spawn_blocking(move || idle::idle_cpu(&b, "2s"))
            .await
            .expect("idle");
        println!(
            "while idle (70 s): the console sent {} requests on {} new connections",
            REQUESTS.load(Ordering::Relaxed) - requests,
            CONNECTIONS.load(Ordering::Relaxed) - connections
        );
    });
}
