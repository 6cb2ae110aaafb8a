//! Test only: the workspace broker behind a TCP proxy that reads every frame passing through.
//! The broker advertises the proxy's address, so every connection the client opens (bootstrap,
//! leaders, coordinators) goes through it. The proxy counts requests and responses by API and
//! version (how a test sees Fetch requests stop), decodes every request with kafka-protocol's
//! strict decoders (a tagged field sent outside the versions defining it fails there), and on
//! request rewrites responses the way Kafka's rules allow a broker to write them: unknown
//! tagged fields, and Fetch v12 with NodeEndpoints (tag 0, defined from v16), as another
//! Kafka-compatible broker wrote it. Framing is written here, not taken from the client, so
//! the proxy does not share the code it checks; messages are the crate's.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::fetch_response::NodeEndpoint;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, FetchResponse, MetadataResponse, RequestHeader,
    RequestKind, ResponseHeader, ResponseKind,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use ktui_broker::{BrokerConfig, RunningBroker};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Largest frame the proxy passes either way: the client's own bound on responses.
const FRAME_BYTES_MAX: usize = super::connection::RESPONSE_BYTES_MAX;
/// How long a test waits for a condition the client or the proxy must reach.
pub(crate) const WAIT: Duration = Duration::from_secs(10);
/// How often a waiting test looks again.
const POLL: Duration = Duration::from_millis(10);
/// Fetch's highest version in the ApiVersions the client gets: the last one without
/// NodeEndpoints, so the tag added to Fetch responses is outside its versions.
const FETCH_VERSION_MAX: i16 = 12;
/// Where Fetch's NodeEndpoints (tag 0) starts being defined.
const FETCH_NODE_ENDPOINTS_FROM: i16 = 16;
/// Tag numbers no version of the message defines: one byte, and two (as a varint).
const UNKNOWN_TAG: i32 = 99;
const UNKNOWN_TAG_WIDE: i32 = 1000;
const UNKNOWN_VALUE: &[u8] = b"a field from a newer Kafka";
/// The tag Fetch's NodeEndpoints is encoded under, then renamed 0: the crate's encoders
/// count an unknown field whose tag the message defines, but do not write it.
const PLACEHOLDER: u8 = 127;

/// What the proxy does to responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Responses {
    /// Passes them on byte for byte.
    Forward,
    /// Re-encodes ApiVersions (Fetch capped at v12, an unknown tag), Metadata (unknown tags at
    /// the top level and in each topic) and Fetch v12-v15 (NodeEndpoints as tag 0 at the top
    /// level, an unknown two-byte tag in each partition).
    AddTags,
}

/// What the proxy has seen, keyed by `(api key, version)`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seen {
    pub(crate) requests: BTreeMap<(i16, i16), usize>,
    pub(crate) responses: BTreeMap<(i16, i16), usize>,
    /// Responses re-encoded with tags added.
    pub(crate) rewritten: BTreeMap<(i16, i16), usize>,
    /// Requests the crate's strict decoders refused or did not consume whole, and why.
    pub(crate) refused_requests: Vec<String>,
    /// Responses the proxy could not rewrite: a fault of the test, not of the client.
    pub(crate) faults: Vec<String>,
}

impl Seen {
    /// Messages of `api` in `counts`, at any version.
    pub(crate) fn of(counts: &BTreeMap<(i16, i16), usize>, api: ApiKey) -> usize {
        counts
            .iter()
            .filter(|((key, _), _)| *key == api as i16)
            .map(|(_, n)| n)
            .sum()
    }

    pub(crate) fn fetch_requests(&self) -> usize {
        Seen::of(&self.requests, ApiKey::Fetch)
    }

    /// Fetch requests the broker has not answered yet (a long poll waits up to its max wait).
    pub(crate) fn fetches_in_flight(&self) -> usize {
        self.fetch_requests() - Seen::of(&self.responses, ApiKey::Fetch)
    }
}

/// A running broker and the proxy in front of it.
pub(crate) struct ProxiedBroker {
    broker: RunningBroker,
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    stop: CancellationToken,
    tasks: TaskTracker,
    _dir: tempfile::TempDir,
}

impl ProxiedBroker {
    /// Binds the proxy, starts a broker advertising the proxy's address, and starts relaying.
    /// The proxy's tasks run on the calling runtime.
    pub(crate) async fn start(responses: Responses) -> ProxiedBroker {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
        let addr = listener.local_addr().expect("proxy address");
        let dir = tempfile::tempdir().expect("log dir");
        let overrides = [
            ("log.dirs", dir.path().display().to_string()),
            ("listeners", "PLAINTEXT://127.0.0.1:0".to_string()),
            ("advertised.listeners", format!("PLAINTEXT://{addr}")),
        ]
        .map(|(k, v)| (k.to_string(), v));
        let config = BrokerConfig::from_properties("", &overrides).expect("broker config");
        let broker = RunningBroker::start(config).await.expect("broker");
        let relay = Relay {
            upstream: broker.local_addr(),
            responses,
            seen: Arc::default(),
        };
        let (stop, tasks) = (CancellationToken::new(), TaskTracker::new());
        let seen = relay.seen.clone();
        tasks.spawn(accept(listener, relay, stop.clone(), tasks.clone()));
        ProxiedBroker {
            broker,
            addr,
            seen,
            stop,
            tasks,
            _dir: dir,
        }
    }

    /// The proxy's `host:port`, which is also the broker's advertised address.
    pub(crate) fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// A copy of what the proxy has seen so far.
    pub(crate) fn seen(&self) -> Seen {
        lock(&self.seen).clone()
    }

    /// Closes the proxy's connections, then stops the broker.
    pub(crate) async fn shutdown(self) {
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        self.broker.shutdown().await;
    }
}

/// Polls `done` until it holds; fails the test naming `what` after [`WAIT`].
pub(crate) async fn wait_until(what: impl Fn() -> String, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "not within {WAIT:?}: {}", what());
        tokio::time::sleep(POLL).await;
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What every proxied connection shares.
#[derive(Clone)]
struct Relay {
    upstream: SocketAddr,
    responses: Responses,
    seen: Arc<Mutex<Seen>>,
}

async fn accept(listener: TcpListener, relay: Relay, stop: CancellationToken, tasks: TaskTracker) {
    loop {
        let client = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => client,
                Err(_) => return,
            },
        };
        let (relay, stop) = (relay.clone(), stop.clone());
        tasks.spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = relay.serve(client) => {}
            }
        });
    }
}

/// Correlation id -> (api key, version) of the requests a connection has forwarded.
type Asked = Mutex<HashMap<i32, (i16, i16)>>;

impl Relay {
    /// Relays one client connection to its own broker connection until either side closes.
    async fn serve(&self, client: TcpStream) {
        let Ok(broker) = TcpStream::connect(self.upstream).await else {
            return;
        };
        let _ = (client.set_nodelay(true), broker.set_nodelay(true));
        let (from_client, to_client) = client.into_split();
        let (from_broker, to_broker) = broker.into_split();
        let asked = Asked::default();
        tokio::join!(
            self.requests(from_client, to_broker, &asked),
            self.responses(from_broker, to_client, &asked),
        );
    }

    /// Notes and checks each request before forwarding it, so a response the client gets
    /// means every request it wrote before on that connection has been counted.
    async fn requests(&self, mut from: OwnedReadHalf, mut to: OwnedWriteHalf, asked: &Asked) {
        while let Some(frame) = read_frame(&mut from).await {
            self.note_request(&frame, asked);
            if write_frame(&mut to, &frame).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    }

    fn note_request(&self, frame: &Bytes, asked: &Asked) {
        let Some((key, version, id)) = request_ids(frame) else {
            let why = format!("a {}-byte request frame", frame.len());
            lock(&self.seen).refused_requests.push(why);
            return;
        };
        let _ = lock(asked).insert(id, (key, version));
        let refused = strict_decode(frame, key, version).err();
        let mut seen = lock(&self.seen);
        *seen.requests.entry((key, version)).or_default() += 1;
        seen.refused_requests.extend(refused);
    }

    async fn responses(&self, mut from: OwnedReadHalf, mut to: OwnedWriteHalf, asked: &Asked) {
        while let Some(frame) = read_frame(&mut from).await {
            let id = frame
                .get(..4)
                .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            let call = id.and_then(|id| lock(asked).remove(&id));
            let frame = match call {
                Some(call) => self.answer(frame, call),
                None => frame,
            };
            if write_frame(&mut to, &frame).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    }

    /// Counts a response to `(key, version)` and rewrites it when asked to.
    fn answer(&self, frame: Bytes, (key, version): (i16, i16)) -> Bytes {
        *lock(&self.seen)
            .responses
            .entry((key, version))
            .or_default() += 1;
        if self.responses == Responses::Forward {
            return frame;
        }
        match add_tags(&frame, key, version) {
            Ok(Some(rewritten)) => {
                *lock(&self.seen)
                    .rewritten
                    .entry((key, version))
                    .or_default() += 1;
                rewritten
            }
            Ok(None) => frame,
            Err(e) => {
                let why = format!("{} v{version} response: {e:#}", api_name(key));
                lock(&self.seen).faults.push(why);
                frame
            }
        }
    }
}

fn api_name(key: i16) -> String {
    super::connection::api_name(key)
}

/// `(api key, version, correlation id)` from a request frame's first eight bytes.
fn request_ids(frame: &Bytes) -> Option<(i16, i16, i32)> {
    let b = frame.get(..8)?;
    Some((
        i16::from_be_bytes([b[0], b[1]]),
        i16::from_be_bytes([b[2], b[3]]),
        i32::from_be_bytes([b[4], b[5], b[6], b[7]]),
    ))
}

/// Decodes a request with the crate's strict decoders, which must read it whole.
fn strict_decode(frame: &Bytes, key: i16, version: i16) -> Result<(), String> {
    let refused = |why: String| format!("{} v{version}: {why}", api_name(key));
    let api = ApiKey::try_from(key).map_err(|()| refused("unknown api key".into()))?;
    let mut buf = frame.clone();
    RequestHeader::decode(&mut buf, api.request_header_version(version))
        .and_then(|_| RequestKind::decode(api, &mut buf, version))
        .map_err(|e| refused(format!("{e:#}")))?;
    if buf.has_remaining() {
        return Err(refused(format!("{} bytes after the body", buf.remaining())));
    }
    Ok(())
}

/// The response re-encoded with tags added, or `None` for one left as it is.
fn add_tags(frame: &Bytes, key: i16, version: i16) -> anyhow::Result<Option<Bytes>> {
    let Ok(api) = ApiKey::try_from(key) else {
        return Ok(None);
    };
    // Tagged fields exist from each message's first flexible version.
    let flexible = match api {
        ApiKey::ApiVersions => version >= 3,
        ApiKey::Metadata => version >= 9,
        ApiKey::Fetch => (12..FETCH_NODE_ENDPOINTS_FROM).contains(&version),
        _ => false,
    };
    if !flexible {
        return Ok(None);
    }
    let header_version = api.response_header_version(version);
    let mut buf = frame.clone();
    let header = ResponseHeader::decode(&mut buf, header_version)?;
    let mut body = ResponseKind::decode(api, &mut buf, version)?;
    let tag_0_bytes = match &mut body {
        ResponseKind::ApiVersions(r) => tag_api_versions(r),
        ResponseKind::Metadata(r) => tag_metadata(r),
        ResponseKind::Fetch(r) => Some(tag_fetch(r)?),
        _ => return Ok(None),
    };
    let mut out = BytesMut::new();
    header.encode(&mut out, header_version)?;
    body.encode(&mut out, version)?;
    if let Some(len) = tag_0_bytes {
        retag_last_as_0(&mut out, len)?;
    }
    Ok(Some(out.freeze()))
}

/// Re-tags 0 the field the crate wrote under [`PLACEHOLDER`]: the top-level tagged fields
/// end the body, the placeholder (the highest one-byte tag) last, as `[tag][size][value]`.
fn retag_last_as_0(out: &mut BytesMut, len: usize) -> anyhow::Result<()> {
    anyhow::ensure!(len < 0x80, "a {len}-byte field needs a wider size varint");
    let at = out.len() - len - 2;
    anyhow::ensure!(
        out[at] == PLACEHOLDER && usize::from(out[at + 1]) == len,
        "the placeholder field does not end the frame"
    );
    out[at] = 0;
    Ok(())
}

fn unknown_value() -> Bytes {
    Bytes::from_static(UNKNOWN_VALUE)
}

fn tag_api_versions(r: &mut ApiVersionsResponse) -> Option<usize> {
    for k in &mut r.api_keys {
        if k.api_key == ApiKey::Fetch as i16 {
            k.max_version = k.max_version.min(FETCH_VERSION_MAX);
        }
    }
    let _ = r.unknown_tagged_fields.insert(UNKNOWN_TAG, unknown_value());
    None
}

fn tag_metadata(r: &mut MetadataResponse) -> Option<usize> {
    let _ = r.unknown_tagged_fields.insert(UNKNOWN_TAG, unknown_value());
    for t in &mut r.topics {
        let _ = t
            .unknown_tagged_fields
            .insert(UNKNOWN_TAG_WIDE, unknown_value());
    }
    None
}

/// NodeEndpoints as v16 writes it (a compact array of one endpoint), to be re-tagged 0, and
/// an unknown tag in every partition. Returns the NodeEndpoints' length.
fn tag_fetch(r: &mut FetchResponse) -> anyhow::Result<usize> {
    let endpoint = NodeEndpoint::default()
        .with_node_id(BrokerId(1))
        .with_host(StrBytes::from_static_str("127.0.0.1"))
        .with_port(9092);
    // A compact array's length is its count plus one, as an unsigned varint: 2 is one byte.
    let mut endpoints = BytesMut::from(&[2u8][..]);
    endpoint.encode(&mut endpoints, FETCH_NODE_ENDPOINTS_FROM)?;
    let len = endpoints.len();
    let _ = r
        .unknown_tagged_fields
        .insert(i32::from(PLACEHOLDER), endpoints.freeze());
    for p in r.responses.iter_mut().flat_map(|t| t.partitions.iter_mut()) {
        let _ = p
            .unknown_tagged_fields
            .insert(UNKNOWN_TAG_WIDE, unknown_value());
    }
    Ok(len)
}

/// One frame without its length prefix; `None` at a close, an error or a length out of bounds.
async fn read_frame(from: &mut OwnedReadHalf) -> Option<Bytes> {
    let mut prefix = [0u8; 4];
    from.read_exact(&mut prefix).await.ok()?;
    let len = usize::try_from(i32::from_be_bytes(prefix)).ok()?;
    if len > FRAME_BYTES_MAX {
        return None;
    }
    let mut frame = BytesMut::zeroed(len);
    from.read_exact(&mut frame).await.ok()?;
    Some(frame.freeze())
}

async fn write_frame(to: &mut OwnedWriteHalf, frame: &Bytes) -> std::io::Result<()> {
    let len = i32::try_from(frame.len()).map_err(std::io::Error::other)?;
    let prefix = len.to_be_bytes();
    let mut out = Buf::chain(&prefix[..], &frame[..]);
    to.write_all_buf(&mut out).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::messages::{FetchRequest, TopicName};
    use kafka_protocol::protocol::HeaderVersion;

    /// A Fetch v12 request frame whose partition carries `tag` (written under the placeholder
    /// and renamed, since the crate does not write a tag number the message defines).
    fn fetch_v12_with(tag: Option<u8>) -> Bytes {
        let value = Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 42]);
        let mut partition = FetchPartition::default().with_partition(0);
        if tag.is_some() {
            let _ = partition
                .unknown_tagged_fields
                .insert(i32::from(PLACEHOLDER), value.clone());
        }
        let request = FetchRequest::default().with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str("t")))
            .with_partitions(vec![partition])]);
        let header = RequestHeader::default()
            .with_request_api_key(ApiKey::Fetch as i16)
            .with_request_api_version(12);
        let mut out = BytesMut::new();
        header
            .encode(&mut out, FetchRequest::header_version(12))
            .expect("header");
        request.encode(&mut out, 12).expect("body");
        let mut field = vec![PLACEHOLDER, 8];
        field.extend_from_slice(&value);
        if let Some(tag) = tag {
            let at = out.windows(field.len()).position(|w| w == field);
            out[at.expect("placeholder field")] = tag;
        }
        out.freeze()
    }

    /// The request check refuses a tag the message defines only in later versions
    /// (HighWatermark, tag 1, from Fetch v18) and passes unknown tags and clean requests.
    #[test]
    fn requests_with_tags_outside_their_versions_are_refused() {
        let fetch = ApiKey::Fetch as i16;
        assert_eq!(strict_decode(&fetch_v12_with(None), fetch, 12), Ok(()));
        assert_eq!(strict_decode(&fetch_v12_with(Some(99)), fetch, 12), Ok(()));
        let refused = strict_decode(&fetch_v12_with(Some(1)), fetch, 12).expect_err("tag 1");
        assert!(
            refused.contains("Tag 1 is not valid for version 12"),
            "{refused}"
        );
    }
}
