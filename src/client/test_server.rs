//! Test only: a stand-in Kafka server that speaks just enough (ApiVersions, SaslHandshake,
//! SaslAuthenticate with PLAIN and SCRAM's server side, an empty Metadata) to test the client's
//! authentication step, because the workspace broker serves no SASL yet. Framing and headers
//! come from the broker's `wire` module, so only the SASL logic is written here.

use base64::Engine;
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, FindCoordinatorRequest, MetadataResponse, OffsetFetchRequest,
    ResponseKind, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
    SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use ktui_broker::wire::header::{decode_request_header, encode_response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::scram::ScramHash;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const SALT: &[u8] = b"stand-in salt";
const ITERATIONS: u32 = 4096;

/// Starts the server on a free loopback port; returns its address.
pub(crate) async fn start(user: &'static str, password: &'static str) -> String {
    start_with(user, password, 3).await
}

/// As [`start`], for a broker whose ApiVersions goes up to `api_versions_max` only (Kafka
/// before 2.4 stops at v2): newer requests get v0's format with UNSUPPORTED_VERSION.
pub(crate) async fn start_with(
    user: &'static str,
    password: &'static str,
    api_versions_max: i16,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, user, password, api_versions_max));
        }
    });
    addr
}

#[derive(Default)]
struct Session {
    mechanism: String,
    /// SCRAM after client-first: the bare client-first message and our server-first.
    scram: Option<(String, String)>,
}

async fn serve(mut stream: TcpStream, user: &str, password: &str, api_versions_max: i16) {
    let mut session = Session::default();
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
        let (key, header) = decode_request_header(&mut frame).expect("header");
        let mut version = header.request_api_version;
        let body = match key {
            ApiKey::ApiVersions if version > api_versions_max => {
                version = 0;
                let old = versions(api_versions_max).with_error_code(35);
                ResponseKind::ApiVersions(old)
            }
            ApiKey::ApiVersions => ResponseKind::ApiVersions(versions(api_versions_max)),
            ApiKey::SaslHandshake => {
                let request = SaslHandshakeRequest::decode(&mut frame, version).expect("handshake");
                session.mechanism = request.mechanism.to_string();
                ResponseKind::SaslHandshake(handshake(&session.mechanism))
            }
            ApiKey::SaslAuthenticate => {
                let request = SaslAuthenticateRequest::decode(&mut frame, version).expect("auth");
                let answer = authenticate(&mut session, &request.auth_bytes, user, password);
                ResponseKind::SaslAuthenticate(answer)
            }
            _ => ResponseKind::Metadata(MetadataResponse::default()),
        };
        let out = encode_response(key, version, header.correlation_id, &body).expect("encode");
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}

fn versions(api_versions_max: i16) -> ApiVersionsResponse {
    let entry = |key: ApiKey, max: i16| {
        ApiVersion::default()
            .with_api_key(key as i16)
            .with_min_version(0)
            .with_max_version(max)
    };
    ApiVersionsResponse::default().with_api_keys(vec![
        entry(ApiKey::ApiVersions, api_versions_max),
        entry(ApiKey::SaslHandshake, 1),
        entry(ApiKey::SaslAuthenticate, 2),
        entry(ApiKey::Metadata, 12),
    ])
}

fn handshake(mechanism: &str) -> SaslHandshakeResponse {
    let offered = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];
    SaslHandshakeResponse::default()
        .with_error_code(if offered.contains(&mechanism) { 0 } else { 33 })
        .with_mechanisms(
            offered
                .iter()
                .map(|m| StrBytes::from_static_str(m))
                .collect(),
        )
}

fn authenticate(
    session: &mut Session,
    bytes: &[u8],
    user: &str,
    password: &str,
) -> SaslAuthenticateResponse {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let reply = match session.mechanism.as_str() {
        "PLAIN" => (text == format!("\0{user}\0{password}")).then(Bytes::new),
        "SCRAM-SHA-256" => scram(session, &text, ScramHash::Sha256, user, password),
        _ => scram(session, &text, ScramHash::Sha512, user, password),
    };
    match reply {
        Some(auth_bytes) => SaslAuthenticateResponse::default().with_auth_bytes(auth_bytes),
        None => SaslAuthenticateResponse::default()
            .with_error_code(58)
            .with_error_message(Some(StrBytes::from_static_str(
                "Authentication failed: Invalid username or password",
            ))),
    }
}

/// SCRAM's server side: answer client-first, then check client-final's proof.
fn scram(
    session: &mut Session,
    text: &str,
    hash: ScramHash,
    user: &str,
    password: &str,
) -> Option<Bytes> {
    match session.scram.take() {
        None => {
            let bare = text.strip_prefix("n,,")?.to_string();
            let nonce = bare.strip_prefix(&format!("n={user},r="))?;
            let server_first = format!("r={nonce}server,s={},i={ITERATIONS}", B64.encode(SALT));
            session.scram = Some((bare, server_first.clone()));
            Some(Bytes::from(server_first))
        }
        Some((bare, server_first)) => {
            let (without_proof, proof) = text.rsplit_once(",p=")?;
            let proof = B64.decode(proof).ok()?;
            let salted = hash.salted_password(password.as_bytes(), SALT, ITERATIONS);
            let stored_key = hash.hash(&hash.hmac(&salted, b"Client Key"));
            let auth_message = format!("{bare},{server_first},{without_proof}");
            let signature = hash.hmac(&stored_key, auth_message.as_bytes());
            let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
            if hash.hash(&client_key) != stored_key {
                return None;
            }
            let server_key = hash.hmac(&salted, b"Server Key");
            let server_signature = hash.hmac(&server_key, auth_message.as_bytes());
            Some(Bytes::from(format!("v={}", B64.encode(server_signature))))
        }
    }
}

/// Requests a [`start_flaky_leader`] server has answered, by kind.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) metadata: std::sync::atomic::AtomicUsize,
    pub(crate) list_offsets: std::sync::atomic::AtomicUsize,
    pub(crate) find_coordinator: std::sync::atomic::AtomicUsize,
    pub(crate) offset_fetch: std::sync::atomic::AtomicUsize,
}

/// A one-broker cluster (node 1, itself) with topic `t` of one partition, whose ListOffsets
/// answers `code` to the first `failures` requests and offset 42 afterwards; it coordinates
/// every group, each of which has committed offset 40 on `t`-0.
pub(crate) async fn start_flaky_leader(
    failures: usize,
    code: i16,
) -> (String, std::sync::Arc<Counts>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let counts = std::sync::Arc::new(Counts::default());
    let shared = counts.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_cluster(
                stream,
                addr.port(),
                failures,
                code,
                shared.clone(),
            ));
        }
    });
    (addr.to_string(), counts)
}

async fn serve_cluster(
    mut stream: TcpStream,
    port: u16,
    failures: usize,
    code: i16,
    counts: std::sync::Arc<Counts>,
) {
    use kafka_protocol::messages::list_offsets_response::{
        ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
    };
    use kafka_protocol::messages::metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };
    use kafka_protocol::messages::{ListOffsetsResponse, TopicName};
    use std::sync::atomic::Ordering;
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
        let (key, header) = decode_request_header(&mut frame).expect("header");
        let version = header.request_api_version;
        let body = match key {
            ApiKey::ApiVersions => {
                let entry = |key: ApiKey, max: i16| {
                    ApiVersion::default()
                        .with_api_key(key as i16)
                        .with_min_version(0)
                        .with_max_version(max)
                };
                ResponseKind::ApiVersions(ApiVersionsResponse::default().with_api_keys(vec![
                    entry(ApiKey::ApiVersions, 3),
                    entry(ApiKey::Metadata, 12),
                    entry(ApiKey::ListOffsets, 9),
                    entry(ApiKey::FindCoordinator, 6),
                    entry(ApiKey::OffsetFetch, 9),
                ]))
            }
            ApiKey::FindCoordinator => {
                let _ = counts.find_coordinator.fetch_add(1, Ordering::SeqCst);
                let request = FindCoordinatorRequest::decode(&mut frame, version).expect("find");
                ResponseKind::FindCoordinator(coordinators(&request, port))
            }
            ApiKey::OffsetFetch => {
                let _ = counts.offset_fetch.fetch_add(1, Ordering::SeqCst);
                let request = OffsetFetchRequest::decode(&mut frame, version).expect("fetch");
                ResponseKind::OffsetFetch(committed(&request))
            }
            ApiKey::Metadata => {
                let _ = counts.metadata.fetch_add(1, Ordering::SeqCst);
                let partition = MetadataResponsePartition::default()
                    .with_leader_id(1.into())
                    .with_replica_nodes(vec![1.into()])
                    .with_isr_nodes(vec![1.into()]);
                let topic = MetadataResponseTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_static_str("t"))))
                    .with_partitions(vec![partition]);
                let broker = MetadataResponseBroker::default()
                    .with_node_id(1.into())
                    .with_host(StrBytes::from_static_str("127.0.0.1"))
                    .with_port(i32::from(port));
                ResponseKind::Metadata(
                    MetadataResponse::default()
                        .with_brokers(vec![broker])
                        .with_controller_id(1.into())
                        .with_topics(vec![topic]),
                )
            }
            _ => {
                let n = counts.list_offsets.fetch_add(1, Ordering::SeqCst);
                let p = if n < failures {
                    ListOffsetsPartitionResponse::default().with_error_code(code)
                } else {
                    ListOffsetsPartitionResponse::default()
                        .with_offset(42)
                        .with_timestamp(-1)
                };
                let t = ListOffsetsTopicResponse::default()
                    .with_name(TopicName(StrBytes::from_static_str("t")))
                    .with_partitions(vec![p]);
                ResponseKind::ListOffsets(ListOffsetsResponse::default().with_topics(vec![t]))
            }
        };
        let out = encode_response(key, version, header.correlation_id, &body).expect("encode");
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// A broker that answers ApiVersions properly and every other request with `garbage(n)`
/// as the body, `n` counting requests: for tests that bad answers are errors, not panics.
pub(crate) async fn start_hostile(garbage: fn(usize) -> Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
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
                    let (key, header) = decode_request_header(&mut frame).expect("header");
                    let out = if key == ApiKey::ApiVersions {
                        let body = ResponseKind::ApiVersions(versions(3).with_api_keys(vec![
                                ApiVersion::default()
                                    .with_api_key(ApiKey::ApiVersions as i16)
                                    .with_max_version(3),
                                ApiVersion::default()
                                    .with_api_key(ApiKey::Metadata as i16)
                                    .with_max_version(12),
                            ]));
                        encode_response(
                            key,
                            header.request_api_version,
                            header.correlation_id,
                            &body,
                        )
                        .expect("encode")
                    } else {
                        let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let body = garbage(n);
                        let mut out = BytesMut::new();
                        out.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
                        out.extend_from_slice(&header.correlation_id.to_be_bytes());
                        out.extend_from_slice(&body);
                        out
                    };
                    if stream.write_all(&out).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// FindCoordinator v4+: this broker, node 1, for every key.
fn coordinators(
    request: &kafka_protocol::messages::FindCoordinatorRequest,
    port: u16,
) -> kafka_protocol::messages::FindCoordinatorResponse {
    use kafka_protocol::messages::find_coordinator_response::Coordinator;
    let found = request
        .coordinator_keys
        .iter()
        .map(|key| {
            Coordinator::default()
                .with_key(key.clone())
                .with_node_id(1.into())
                .with_host(StrBytes::from_static_str("127.0.0.1"))
                .with_port(i32::from(port))
        })
        .collect();
    kafka_protocol::messages::FindCoordinatorResponse::default().with_coordinators(found)
}

/// OffsetFetch v8+: offset 40 on `t`-0 for every group asked about.
fn committed(
    request: &kafka_protocol::messages::OffsetFetchRequest,
) -> kafka_protocol::messages::OffsetFetchResponse {
    use kafka_protocol::messages::offset_fetch_response::{
        OffsetFetchResponseGroup, OffsetFetchResponsePartitions, OffsetFetchResponseTopics,
    };
    let groups = request
        .groups
        .iter()
        .map(|g| {
            let partition = OffsetFetchResponsePartitions::default().with_committed_offset(40);
            let topic = OffsetFetchResponseTopics::default()
                .with_name(kafka_protocol::messages::TopicName(
                    StrBytes::from_static_str("t"),
                ))
                .with_partitions(vec![partition]);
            OffsetFetchResponseGroup::default()
                .with_group_id(g.group_id.clone())
                .with_topics(vec![topic])
        })
        .collect();
    kafka_protocol::messages::OffsetFetchResponse::default().with_groups(groups)
}
