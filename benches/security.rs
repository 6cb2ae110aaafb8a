//! The cost of transport security: throughput over SASL_SSL against PLAINTEXT in the same run,
//! and how many TLS + SCRAM-SHA-512 logins one core of the broker takes per second.
//!
//! Runs the release `ktui broker` as its own process with two listeners, PLAINTEXT and
//! SASL_SSL (SCRAM-SHA-512, a user made with `--add-scram`; certificates made here with
//! rcgen), then:
//! 1. produces BENCH_RECORDS records of 100 bytes (default 2,000,000) to one partition with
//!    librdkafka (acks=1), once over each listener, and reads them back over the same listener
//!    (`fetch.queue.backoff.ms=0`, twice each, alternately, the better run counting);
//! 2. opens BENCH_LOGINS connections (default 3,000), 8 at a time, each doing the TLS handshake,
//!    SaslHandshake and the two SaslAuthenticate rounds of SCRAM-SHA-512, then closing. The
//!    client keeps its salted password (as a client logging in again would), so the figure is
//!    the broker's: logins per second of wall clock, and per CPU-second of the broker (its CPU
//!    time read from /proc), which is what one core of it sustains.
//!
//! `cargo bench --bench security`.

#[path = "support/proc_stats.rs"]
mod proc_stats;

use proc_stats::cpu_seconds;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, RequestHeader, ResponseHeader, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use ktui_broker::security::scram::{salted_password, ScramClient};
use ktui_broker::security::{Mechanism, Secret};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const RECORD_BYTES: usize = 100;
const USER: &str = "bench";
const PASSWORD: &str = "bench-pw-0f1e2d";
/// The salt `--add-scram` is given ("saltsaltsalt"), so the client can salt once.
const SALT_B64: &str = "c2FsdHNhbHRzYWx0";
const ITERATIONS: i32 = 4096;
const LOGIN_CONCURRENCY: usize = 8;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Tls {
    dir: tempfile::TempDir,
    ca_der: Vec<u8>,
}

fn certificates() -> Tls {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let dir = tempfile::tempdir().expect("dir");
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "bench CA");
    let ca = ca.self_signed(&ca_key).expect("CA");
    let key = KeyPair::generate().expect("key");
    let broker = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("params")
        .signed_by(&key, &ca, &ca_key)
        .expect("certificate");
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write");
    let keystore = format!("{}{}", broker.pem(), key.serialize_pem());
    std::fs::write(dir.path().join("broker.pem"), keystore).expect("write");
    Tls {
        ca_der: ca.der().to_vec(),
        dir,
    }
}

struct Broker {
    child: std::process::Child,
    plain: String,
    secure: String,
    _data: tempfile::TempDir,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

fn start_broker(tls: &Tls) -> Broker {
    let data = tempfile::tempdir().expect("dir");
    let (plain, secure) = (free_port(), free_port());
    let certs = tls.dir.path();
    let overrides = [
        format!("log.dirs={}", data.path().display()),
        format!("listeners=PLAINTEXT://127.0.0.1:{plain},SASL_SSL://127.0.0.1:{secure}"),
        "sasl.enabled.mechanisms=SCRAM-SHA-512".to_string(),
        format!(
            "ssl.keystore.location={}",
            certs.join("broker.pem").display()
        ),
        format!("ssl.truststore.location={}", certs.join("ca.pem").display()),
    ];
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ktui"));
    command.arg("broker").arg("--add-scram").arg(format!(
        "SCRAM-SHA-512=[name={USER},password={PASSWORD},salt={SALT_B64},iterations={ITERATIONS}]"
    ));
    for o in &overrides {
        command.arg("--override").arg(o);
    }
    command
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let child = command.spawn().expect("ktui broker");
    let broker = Broker {
        child,
        plain: format!("127.0.0.1:{plain}"),
        secure: format!("127.0.0.1:{secure}"),
        _data: data,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(&broker.secure).is_err() {
        assert!(Instant::now() < deadline, "the broker did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    broker
}

fn client_settings(tls: &Tls, secure: bool) -> Vec<(&'static str, String)> {
    if !secure {
        return Vec::new();
    }
    vec![
        ("security.protocol", "SASL_SSL".into()),
        ("sasl.mechanism", "SCRAM-SHA-512".into()),
        ("sasl.username", USER.into()),
        ("sasl.password", PASSWORD.into()),
        (
            "ssl.ca.location",
            tls.dir.path().join("ca.pem").display().to_string(),
        ),
    ]
}

fn produce(bootstrap: &str, settings: &[(&str, String)], topic: &str, records: usize) -> Duration {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("acks", "1")
        .set("enable.idempotence", "false")
        .set("queue.buffering.max.messages", "2000000")
        .set("queue.buffering.max.kbytes", "2097151");
    for (k, v) in settings {
        c.set(*k, v);
    }
    let producer: rdkafka::producer::BaseProducer = c.create().expect("producer");
    let payload = vec![b'x'; RECORD_BYTES];
    let start = Instant::now();
    for _ in 0..records {
        while producer
            .send(BaseRecord::<(), _>::to(topic).payload(&payload))
            .is_err()
        {
            producer.poll(Duration::from_millis(1));
        }
    }
    producer.flush(Duration::from_secs(300)).expect("flush");
    start.elapsed()
}

fn consume(bootstrap: &str, settings: &[(&str, String)], topic: &str, records: usize) -> Duration {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("group.id", "bench")
        .set("enable.auto.commit", "false")
        // The client never idles on its own queue thresholds, so the broker's answers set the
        // pace (with the default, whichever listener fills the queue faster waits longer).
        .set("fetch.queue.backoff.ms", "0");
    for (k, v) in settings {
        c.set(*k, v);
    }
    let consumer: BaseConsumer = c.create().expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("tpl");
    consumer.assign(&tpl).expect("assign");
    let start = Instant::now();
    let mut n = 0;
    while n < records {
        if let Some(m) = consumer.poll(Duration::from_secs(10)) {
            assert_eq!(
                m.expect("message").payload().map_or(0, <[u8]>::len),
                RECORD_BYTES
            );
            n += 1;
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "consumed only {n}"
        );
    }
    start.elapsed()
}

fn rate(records: usize, elapsed: Duration) -> f64 {
    records as f64 / elapsed.as_secs_f64()
}

fn main() {
    let records = env_number("BENCH_RECORDS", 2_000_000);
    let logins = env_number("BENCH_LOGINS", 3_000);
    let tls = certificates();
    let broker = start_broker(&tls);
    let pid = broker.child.id();
    println!(
        "security: {records} records of {RECORD_BYTES} bytes, 1 partition, acks=1; {logins} logins"
    );
    let listeners = [
        (
            "PLAINTEXT",
            broker.plain.as_str(),
            "plain",
            client_settings(&tls, false),
        ),
        (
            "SASL_SSL (SCRAM-SHA-512)",
            broker.secure.as_str(),
            "secure",
            client_settings(&tls, true),
        ),
    ];
    let mut produce_rates = Vec::new();
    for (name, bootstrap, topic, settings) in &listeners {
        let cpu0 = cpu_seconds(pid);
        let produced = produce(bootstrap, settings, topic, records);
        let cpu = cpu_seconds(pid) - cpu0;
        println!(
            "{name}: produce {:.0} records/s (broker {cpu:.2} CPU-s)",
            rate(records, produced)
        );
        produce_rates.push(rate(records, produced));
    }
    // Each listener is read twice, alternately, and the better run counts: the page cache and
    // the kernel's writeback of what was just produced weigh on whichever reads first.
    let mut consume_rates = [0.0f64; 2];
    for round in 0..2 {
        for (i, (name, bootstrap, topic, settings)) in listeners.iter().enumerate() {
            let cpu0 = cpu_seconds(pid);
            let consumed = consume(bootstrap, settings, topic, records);
            let cpu = cpu_seconds(pid) - cpu0;
            println!(
                "{name}: consume {:.0} records/s (broker {cpu:.2} CPU-s), round {}",
                rate(records, consumed),
                round + 1
            );
            consume_rates[i] = consume_rates[i].max(rate(records, consumed));
        }
    }
    println!(
        "SASL_SSL / PLAINTEXT: produce {:.0}%, consume {:.0}% (best of two)",
        100.0 * produce_rates[1] / produce_rates[0],
        100.0 * consume_rates[1] / consume_rates[0]
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let cpu0 = cpu_seconds(pid);
    let elapsed = runtime.block_on(login_many(&broker.secure, &tls.ca_der, logins));
    let cpu = cpu_seconds(pid) - cpu0;
    println!(
        "TLS + SCRAM-SHA-512 logins: {:.0}/s wall clock ({LOGIN_CONCURRENCY} at a time); broker {cpu:.2} CPU-s = {:.0} logins per broker CPU-second",
        rate(logins, elapsed),
        logins as f64 / cpu.max(0.01)
    );
}

async fn login_many(addr: &str, ca: &[u8], logins: usize) -> Duration {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.to_vec().into()).expect("CA");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    use base64::Engine;
    let salt = base64::engine::general_purpose::STANDARD
        .decode(SALT_B64)
        .expect("salt");
    let salted = salted_password(
        Mechanism::ScramSha512,
        &Secret::from(PASSWORD),
        &salt,
        ITERATIONS,
    );
    let start = Instant::now();
    let per_task = logins / LOGIN_CONCURRENCY;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..LOGIN_CONCURRENCY {
        let (connector, addr, salt, salted) = (
            connector.clone(),
            addr.to_string(),
            salt.clone(),
            salted.clone(),
        );
        tasks.spawn(async move {
            for _ in 0..per_task {
                login(&connector, &addr, &salt, &salted).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("login task");
    }
    start.elapsed()
}

async fn login(connector: &tokio_rustls::TlsConnector, addr: &str, salt: &[u8], salted: &Secret) {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
    let mut stream = connector.connect(name, tcp).await.expect("TLS");
    let handshake =
        SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("SCRAM-SHA-512"));
    let answer: SaslHandshakeResponse =
        call(&mut stream, ApiKey::SaslHandshake, 1, 1, &handshake).await;
    assert_eq!(answer.error_code, 0);
    let mut scram = ScramClient::new(Mechanism::ScramSha512, USER, Secret::from(PASSWORD))
        .expect("scram")
        .with_salted_password(salt.to_vec(), ITERATIONS, salted.clone());
    let first = SaslAuthenticateRequest::default().with_auth_bytes(scram.first_message().into());
    let answer: SaslAuthenticateResponse =
        call(&mut stream, ApiKey::SaslAuthenticate, 2, 2, &first).await;
    assert_eq!(answer.error_code, 0, "{answer:?}");
    let last = scram.final_message(&answer.auth_bytes).expect("final");
    let last = SaslAuthenticateRequest::default().with_auth_bytes(last.into());
    let answer: SaslAuthenticateResponse =
        call(&mut stream, ApiKey::SaslAuthenticate, 2, 3, &last).await;
    assert_eq!(answer.error_code, 0, "{answer:?}");
    scram.verify(&answer.auth_bytes).expect("server signature");
}

async fn call<S, Q, R>(stream: &mut S, key: ApiKey, version: i16, correlation: i32, body: &Q) -> R
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    Q: Encodable,
    R: Decodable,
{
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation);
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header
        .encode(&mut buf, key.request_header_version(version))
        .expect("header");
    body.encode(&mut buf, version).expect("body");
    let len = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    stream.write_all(&buf).await.expect("write");
    stream.flush().await.expect("flush");
    let len = stream.read_i32().await.expect("length") as usize;
    let mut frame = vec![0u8; len];
    stream.read_exact(&mut frame).await.expect("frame");
    let mut frame = Bytes::from(frame);
    ResponseHeader::decode(&mut frame, key.response_header_version(version)).expect("header");
    R::decode(&mut frame, version).expect("response")
}
