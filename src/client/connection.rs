//! One connection to one broker: Kafka's framing (4-byte length, then the frame), correlation
//! ids, pipelined requests and a request timeout, over any byte transport (TCP, or TLS over TCP,
//! [`super::tls`]). After connecting it negotiates versions with ApiVersions
//! and, when configured, authenticates ([`super::sasl`]) before any other request.
//!
//! A writer task owns the socket's write half and a reader task its read half; callers never
//! touch the socket. A request registers a oneshot in the pending map under its correlation id,
//! queues its encoded frame to the writer and waits on the oneshot; the reader routes each
//! response frame by its correlation id. Decoding happens in the caller's task, so a slow
//! decode never holds up other requests; it skips tagged fields outside their versions, as
//! Kafka's rule says readers do ([`super::lenient`]). Leader routing and retries belong to
//! [`super::cluster`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, RequestHeader};
use kafka_protocol::protocol::{Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use super::versions::Versions;
use crate::config::{ClientConfig, SecurityProtocol};
use crate::error::{Error, Result};

/// Largest response frame accepted; a larger length prefix closes the connection before any
/// buffer is allocated. Kafka's fetch.max.bytes default is 50 MiB, so 100 MiB leaves room.
pub const RESPONSE_BYTES_MAX: usize = 100 * 1024 * 1024;

/// Frames queued to the writer before callers wait: bounds memory when a broker is slow.
const WRITE_QUEUE_FRAMES_MAX: usize = 256;

/// A byte stream to a broker: TCP, or TLS over TCP.
pub trait Transport: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Transport for T {}

type Pending = Arc<Mutex<HashMap<i32, oneshot::Sender<Result<Bytes>>>>>;

/// A frame for the writer, and for a request with no response (acks=0), who to tell once it
/// has been written to the socket.
type Outgoing = (BytesMut, Option<oneshot::Sender<()>>);

/// A live connection to one broker, shared by every task that talks to it.
pub struct Connection {
    addr: String,
    client_id: StrBytes,
    request_timeout: Duration,
    writer: mpsc::Sender<Outgoing>,
    pending: Pending,
    next_correlation_id: AtomicI32,
    /// Set by the reader when the socket fails or closes; the cluster then reconnects.
    closed: Arc<AtomicBool>,
    /// Versions the broker advertised, intersected with the ones ktui speaks.
    versions: Versions,
}

impl Connection {
    /// Connects to `addr`, negotiates API versions and authenticates if configured.
    pub async fn open(addr: &str, config: &ClientConfig) -> Result<Arc<Connection>> {
        let transport = connect_transport(addr, config).await?;
        let mut conn = Connection::start(addr, config, transport);
        conn.versions = negotiate(&conn).await?;
        super::sasl::authenticate(&conn, config).await?;
        Ok(Arc::new(conn))
    }

    fn start(addr: &str, config: &ClientConfig, transport: Box<dyn Transport>) -> Connection {
        let (read_half, write_half) = tokio::io::split(transport);
        let (tx, rx) = mpsc::channel(WRITE_QUEUE_FRAMES_MAX);
        let pending: Pending = Arc::default();
        let closed = Arc::new(AtomicBool::new(false));
        tokio::spawn(write_loop(write_half, rx, closed.clone()));
        tokio::spawn(read_loop(
            read_half,
            pending.clone(),
            closed.clone(),
            addr.to_string(),
        ));
        Connection {
            addr: addr.to_string(),
            client_id: StrBytes::from_string(config.client_id.clone()),
            request_timeout: config.request_timeout,
            writer: tx,
            pending,
            next_correlation_id: AtomicI32::new(1),
            closed,
            versions: Versions::default(),
        }
    }

    /// `host:port` of the broker.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Whether the socket has failed or closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The negotiated version table.
    pub fn versions(&self) -> &Versions {
        &self.versions
    }

    /// The version `R` will be sent at: the highest both sides support.
    pub fn version_of<R: Request>(&self) -> Result<i16> {
        self.versions.pick::<R>(&self.addr)
    }

    /// Sends `request` at the negotiated version and waits for its response.
    pub async fn send<R: Request>(&self, request: &R) -> Result<R::Response> {
        let version = self.version_of::<R>()?;
        self.send_at(request, version).await
    }

    /// Sends `request` at `version` and waits for its response.
    pub async fn send_at<R: Request>(&self, request: &R, version: i16) -> Result<R::Response> {
        let body = self
            .round_trip(request, version, self.request_timeout)
            .await?;
        self.decode::<R>(body, version)
    }

    /// As [`Connection::send`], waiting up to `timeout` instead of the request timeout: a
    /// coordinator answers JoinGroup and SyncGroup only once the rebalance completes.
    pub async fn send_within<R: Request>(
        &self,
        request: &R,
        timeout: Duration,
    ) -> Result<R::Response> {
        let version = self.version_of::<R>()?;
        let body = self.round_trip(request, version, timeout).await?;
        self.decode::<R>(body, version)
    }

    /// Sends `request` at `version` and returns the undecoded response frame.
    async fn round_trip<R: Request>(
        &self,
        request: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<Bytes> {
        let (id, frame) = self.encode(request, version)?;
        let (tx, rx) = oneshot::channel();
        self.lock_pending().insert(id, tx);
        // The reader marks the connection closed before it fails the waiters it finds: a
        // request registered after that would wait for its timeout (a TLS 1.3 server that
        // refuses the client's certificate closes right after the handshake).
        if self.is_closed() {
            self.lock_pending().remove(&id);
            return Err(self.disconnected("closed by the broker"));
        }
        if self.writer.send((frame, None)).await.is_err() {
            self.lock_pending().remove(&id);
            return Err(self.disconnected("writer stopped"));
        }
        let body = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(body)) => body?,
            Ok(Err(_)) => return Err(self.disconnected("reader stopped")),
            Err(_) => {
                self.lock_pending().remove(&id);
                return Err(Error::Timeout {
                    addr: self.addr.clone(),
                    what: api_name(R::KEY),
                    ms: timeout.as_millis(),
                });
            }
        };
        Ok(body)
    }

    /// Sends `request` at the negotiated version expecting no response (Produce with acks=0);
    /// returns once the frame is written to the socket, so a process that exits next loses
    /// nothing it sent.
    pub async fn send_oneway<R: Request>(&self, request: &R) -> Result<()> {
        let version = self.version_of::<R>()?;
        let (_, frame) = self.encode(request, version)?;
        let (tx, written) = oneshot::channel();
        self.writer
            .send((frame, Some(tx)))
            .await
            .map_err(|_| self.disconnected("writer stopped"))?;
        match tokio::time::timeout(self.request_timeout, written).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(self.disconnected("writer stopped before the write")),
            Err(_) => Err(Error::Timeout {
                addr: self.addr.clone(),
                what: format!("writing {}", api_name(R::KEY)),
                ms: self.request_timeout.as_millis(),
            }),
        }
    }

    fn encode<R: Request>(&self, request: &R, version: i16) -> Result<(i32, BytesMut)> {
        let id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(id)
            .with_client_id(Some(self.client_id.clone()));
        let header_version = R::header_version(version);
        let size = header.compute_size(header_version).unwrap_or(64)
            + request.compute_size(version).unwrap_or(256);
        let mut frame = BytesMut::with_capacity(4 + size);
        frame.put_i32(0);
        header
            .encode(&mut frame, header_version)
            .and_then(|()| request.encode(&mut frame, version))
            .map_err(|e| Error::Invalid(format!("cannot encode {}: {e}", api_name(R::KEY))))?;
        let len = i32::try_from(frame.len() - 4)
            .map_err(|_| Error::Invalid(format!("{} request too large", api_name(R::KEY))))?;
        frame[..4].copy_from_slice(&len.to_be_bytes());
        Ok((id, frame))
    }

    /// Every response the client reads is decoded here, through [`super::lenient`].
    fn decode<R: Request>(&self, body: Bytes, version: i16) -> Result<R::Response> {
        let header_version = <R::Response as HeaderVersion>::header_version(version);
        super::lenient::decode_response::<R::Response>(body, header_version, version).map_err(|e| {
            Error::Protocol {
                addr: self.addr.clone(),
                reason: format!("{} v{version} response: {e}", api_name(R::KEY)),
            }
        })
    }

    fn lock_pending(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<i32, oneshot::Sender<Result<Bytes>>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn disconnected(&self, reason: &str) -> Error {
        Error::Disconnected {
            addr: self.addr.clone(),
            reason: reason.to_string(),
        }
    }
}

/// `Produce`, `Fetch`, ...: an API's name for messages.
pub fn api_name(key: i16) -> String {
    ApiKey::try_from(key).map_or_else(|_| format!("api key {key}"), |k| format!("{k:?}"))
}

/// Opens the byte stream: TCP within the connection setup timeout, then TLS when configured.
async fn connect_transport(addr: &str, config: &ClientConfig) -> Result<Box<dyn Transport>> {
    let connect = TcpStream::connect(addr);
    let stream = match tokio::time::timeout(config.connect_timeout, connect).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            return Err(Error::Connect {
                addr: addr.to_string(),
                reason: e.to_string(),
            })
        }
        Err(_) => {
            return Err(Error::Connect {
                addr: addr.to_string(),
                reason: format!(
                    "no connection within {} ms (socket.connection.setup.timeout.ms)",
                    config.connect_timeout.as_millis()
                ),
            })
        }
    };
    let _ = stream.set_nodelay(true);
    match config.security.protocol {
        SecurityProtocol::Plaintext | SecurityProtocol::SaslPlaintext => Ok(Box::new(stream)),
        SecurityProtocol::Ssl | SecurityProtocol::SaslSsl => {
            let handshake = super::tls::wrap(stream, addr, &config.security.tls);
            match tokio::time::timeout(config.connect_timeout, handshake).await {
                Ok(result) => result,
                Err(_) => Err(Error::Connect {
                    addr: addr.to_string(),
                    reason: format!(
                        "no TLS handshake within {} ms (socket.connection.setup.timeout.ms)",
                        config.connect_timeout.as_millis()
                    ),
                }),
            }
        }
    }
}

/// ApiVersions: v3 first (flexible, KIP-511). A broker that does not know v3 answers in v0's
/// format with UNSUPPORTED_VERSION and its own range (Kafka's rule for this one API), so an
/// answer that does not decode at v3, or says UNSUPPORTED_VERSION, is read as v0, and the
/// request is sent again at the highest version the broker offers.
async fn negotiate(conn: &Connection) -> Result<Versions> {
    const FIRST: i16 = 3;
    let request = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("ktui"))
        .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
    let body = conn
        .round_trip(&request, FIRST, conn.request_timeout)
        .await?;
    let mut response = match conn.decode::<ApiVersionsRequest>(body.clone(), FIRST) {
        Ok(r) if r.error_code != crate::error::UNSUPPORTED_VERSION => r,
        _ => conn.decode::<ApiVersionsRequest>(body, 0)?,
    };
    if response.error_code == crate::error::UNSUPPORTED_VERSION {
        let theirs = response
            .api_keys
            .iter()
            .find(|k| k.api_key == ApiKey::ApiVersions as i16)
            .map_or(0, |k| k.max_version.clamp(0, FIRST - 1));
        response = conn.send_at(&request, theirs).await?;
    }
    Error::check(
        || format!("ApiVersions to {}", conn.addr),
        response.error_code,
        None,
    )?;
    Ok(Versions::from_response(&response))
}

async fn write_loop(
    write_half: tokio::io::WriteHalf<Box<dyn Transport>>,
    mut rx: mpsc::Receiver<Outgoing>,
    closed: Arc<AtomicBool>,
) {
    let mut out = BufWriter::with_capacity(64 * 1024, write_half);
    let mut written = Vec::new();
    while let Some(first) = rx.recv().await {
        // Write everything queued, then flush once, so pipelined requests share a write.
        let mut next = Some(first);
        let mut ok = true;
        while let Some((frame, done)) = next {
            ok = out.write_all(&frame).await.is_ok();
            written.extend(done);
            next = if ok { rx.try_recv().ok() } else { None };
        }
        if !ok || out.flush().await.is_err() {
            break;
        }
        for done in written.drain(..) {
            let _ = done.send(());
        }
    }
    closed.store(true, Ordering::Release);
    let _ = out.shutdown().await;
}

async fn read_loop(
    mut read_half: tokio::io::ReadHalf<Box<dyn Transport>>,
    pending: Pending,
    closed: Arc<AtomicBool>,
    addr: String,
) {
    let reason = loop {
        match read_frame(&mut read_half).await {
            Ok(Some(frame)) => {
                // The header (correlation id first) stays in the frame for the caller to decode.
                let id = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
                let waiter = pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
                if let Some(waiter) = waiter {
                    let _ = waiter.send(Ok(frame));
                }
            }
            Ok(None) => break "closed by the broker".to_string(),
            Err(e) => break e,
        }
    };
    closed.store(true, Ordering::Release);
    let waiters: Vec<_> = pending
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .drain()
        .collect();
    for (_, waiter) in waiters {
        let _ = waiter.send(Err(Error::Disconnected {
            addr: addr.clone(),
            reason: reason.clone(),
        }));
    }
}

/// One response frame (correlation id first), `None` on a clean close between frames.
async fn read_frame<R: AsyncRead + Unpin>(
    read: &mut R,
) -> std::result::Result<Option<Bytes>, String> {
    let mut prefix = [0u8; 4];
    match read.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.to_string()),
    }
    let len = i32::from_be_bytes(prefix);
    let size = usize::try_from(len).map_err(|_| format!("negative frame length {len}"))?;
    if !(4..=RESPONSE_BYTES_MAX).contains(&size) {
        return Err(format!(
            "response frame length {size} outside 4..={RESPONSE_BYTES_MAX}"
        ));
    }
    let mut frame = BytesMut::zeroed(size);
    read.read_exact(&mut frame)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(frame.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_are_bounded_and_split() {
        let mut data: &[u8] = &[0, 0, 0, 5, 0, 0, 0, 9, 42];
        let frame = read_frame(&mut data).await.expect("frame").expect("some");
        assert_eq!(&frame[..], &[0, 0, 0, 9, 42]);
        let mut empty: &[u8] = &[];
        assert_eq!(read_frame(&mut empty).await, Ok(None));
        let mut huge: &[u8] = &[0x7f, 0xff, 0xff, 0xff];
        assert!(read_frame(&mut huge).await.is_err());
        let mut negative: &[u8] = &[0xff, 0xff, 0xff, 0xff];
        assert!(read_frame(&mut negative).await.is_err());
    }
}
