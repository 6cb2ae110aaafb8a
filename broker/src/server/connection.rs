//! One client connection: read a frame, dispatch it, write the response, in order.
//!
//! Kafka answers the requests of one connection in the order they were sent; clients pipeline
//! several requests and match responses by correlation id and order. Requests are handled one
//! at a time here, as Kafka's network layer does (it mutes a connection while a request is in
//! flight). A malformed or oversized frame closes this connection only.
//!
//! On a SASL listener the connection authenticates first (`security::sasl` decides, this loop
//! reads and writes): until then frames are bounded by `sasl.server.max.receive.size` and the
//! exchange must be over within `AUTHENTICATION_MS_MAX` of the accept. A session that
//! `connections.max.reauth.ms` ended is closed at its next request unless that request starts a
//! re-authentication (KIP-368). Any connection that sends nothing for `connections.max.idle.ms`
//! is closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::dispatch::{self, RequestContext};
use crate::authorizer::Principal;
use crate::limits::AUTHENTICATION_MS_MAX;
use crate::limits::REQUEST_HEADER_BYTES_MIN;
use crate::security::sasl::{Authenticator, Step};
use crate::security::{principal, ListenerSecurity};
use crate::wire::frame::check_frame_length;
use crate::wire::header::{decode_request_header, encode_response};
use crate::Broker;

const READ_BUFFER_BYTES: usize = 64 * 1024;

/// The content type of a TLS handshake record, which a TLS client's first byte is.
const TLS_HANDSHAKE_RECORD: u8 = 22;

/// A connection just accepted on a listener.
pub(super) struct Accepted {
    pub(super) stream: TcpStream,
    pub(super) peer: SocketAddr,
    pub(super) security: Arc<ListenerSecurity>,
    pub(super) broker: Arc<Broker>,
    pub(super) token: CancellationToken,
}

impl Accepted {
    /// Serves the connection until the client closes it, it fails, or the broker stops: TLS
    /// first on a TLS listener (within the authentication deadline).
    pub(super) async fn serve(self) {
        let _ = self.stream.set_nodelay(true);
        let deadline = Instant::now() + Duration::from_millis(AUTHENTICATION_MS_MAX);
        let Some(tls) = self.security.tls.clone() else {
            let (stream, principal) = (self.stream, Principal::anonymous());
            let connection = Connection::new(
                stream,
                self.peer,
                self.security,
                self.broker,
                self.token,
                principal,
                deadline,
            );
            return connection.serve().await;
        };
        let (peer, listener) = (self.peer, self.security.name.clone());
        // A TLS client speaks first, with a handshake record (type 22): anything else (a
        // plaintext Kafka request) is closed at once rather than read as a record header.
        let mut first = [0u8; 1];
        let peeked = tokio::time::timeout_at(deadline, self.stream.peek(&mut first)).await;
        if !matches!(peeked, Ok(Ok(1))) || first[0] != TLS_HANDSHAKE_RECORD {
            tracing::debug!(%peer, %listener, "a client that does not start with a TLS handshake; closing");
            return;
        }
        let accept = tokio_rustls::TlsAcceptor::from(tls).accept(self.stream);
        let stream = tokio::select! {
            _ = self.token.cancelled() => return,
            accepted = tokio::time::timeout_at(deadline, accept) => match accepted {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, %listener, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::info!(%peer, %listener, "closing a connection whose TLS handshake did not finish in time");
                    return;
                }
            },
        };
        let certificate = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first());
        let principal = match (&self.security.certificate_principal, certificate) {
            (Some(mapper), Some(der)) => {
                let dn = principal::subject_dn(der.as_ref());
                let Some(principal) = dn.and_then(|dn| mapper.principal(&dn)) else {
                    tracing::info!(%peer, %listener, "no ssl.principal.mapping.rules rule applies to the client certificate; closing");
                    return;
                };
                principal
            }
            _ => Principal::anonymous(),
        };
        let connection = Connection::new(
            stream,
            peer,
            self.security,
            self.broker,
            self.token,
            principal,
            deadline,
        );
        connection.serve().await;
    }
}

/// A connection ready for requests, over a plain or a TLS stream.
struct Connection<S> {
    /// The stream, read through a buffer; responses are written through it to the stream.
    reader: BufReader<S>,
    peer: SocketAddr,
    security: Arc<ListenerSecurity>,
    broker: Arc<Broker>,
    token: CancellationToken,
    /// Who the requests are from.
    principal: Principal,
    /// The SASL exchange, on a SASL listener.
    auth: Option<Authenticator>,
    /// When a connection that has not authenticated yet is dropped.
    authentication_deadline: Option<Instant>,
    /// When the SASL session ends (`connections.max.reauth.ms`).
    session_end: Option<Instant>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    fn new(
        stream: S,
        peer: SocketAddr,
        security: Arc<ListenerSecurity>,
        broker: Arc<Broker>,
        token: CancellationToken,
        principal: Principal,
        deadline: Instant,
    ) -> Self {
        let auth = security.sasl.clone().map(Authenticator::new);
        Connection {
            reader: BufReader::with_capacity(READ_BUFFER_BYTES, stream),
            peer,
            security,
            broker,
            token,
            principal,
            authentication_deadline: auth.as_ref().map(|_| deadline),
            auth,
            session_end: None,
        }
    }

    async fn serve(mut self) {
        let peer = self.peer;
        let listener = self.security.name.clone();
        let max = self.broker.config.socket_request_max_bytes;
        loop {
            let authenticating = self.auth.as_ref().is_some_and(|a| !a.is_complete());
            let read = async {
                if authenticating {
                    let max = self
                        .auth
                        .as_ref()
                        .map_or(0, Authenticator::receive_bytes_max);
                    read_frame(&mut self.reader, 0, max).await
                } else {
                    read_frame(&mut self.reader, REQUEST_HEADER_BYTES_MIN, max).await
                }
            };
            let deadline = self.authentication_deadline;
            let idle = self.security.idle;
            let frame = tokio::select! {
                _ = self.token.cancelled() => break,
                _ = sleep_until(deadline) => {
                    tracing::info!(%peer, %listener, "closing a connection that did not authenticate in time");
                    break;
                }
                _ = tokio::time::sleep(idle) => {
                    tracing::debug!(%peer, %listener, "closing a connection idle for connections.max.idle.ms");
                    break;
                }
                frame = read => frame,
            };
            let frame = match frame {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(reason) => {
                    tracing::debug!(%peer, %listener, %reason, "closing connection");
                    break;
                }
            };
            let handled = if authenticating {
                self.authenticate(frame).await
            } else {
                self.request(frame).await
            };
            if let Err(reason) = handled {
                tracing::debug!(%peer, %listener, %reason, "closing connection");
                break;
            }
        }
    }

    /// One frame of the SASL exchange.
    async fn authenticate(&mut self, frame: Bytes) -> Result<(), String> {
        let Some(auth) = self.auth.as_mut() else {
            return Err("no SASL exchange on this listener".into());
        };
        let delay = auth.failed_delay();
        let broker = self.broker.clone();
        let lookup = move |user: &str, mechanism| {
            broker
                .cluster
                .read(|image| image.scram_credential(user, mechanism))
        };
        match auth.on_frame(frame, &lookup) {
            Step::Dispatch(frame) => self.dispatch_and_write(frame).await,
            Step::Reply(reply) => self.write(&reply).await,
            Step::Authenticated {
                reply,
                principal,
                session_lifetime_ms,
            } => {
                if let Some(reply) = reply {
                    self.write(&reply).await?;
                }
                tracing::debug!(peer = %self.peer, listener = %self.security.name, %principal, "authenticated");
                self.principal = principal;
                self.authentication_deadline = None;
                self.session_end = (session_lifetime_ms > 0)
                    .then(|| Instant::now() + Duration::from_millis(session_lifetime_ms as u64));
                Ok(())
            }
            Step::Failed { reply, reason } => {
                tracing::info!(peer = %self.peer, listener = %self.security.name, %reason, "failed authentication");
                tokio::select! {
                    _ = self.token.cancelled() => {}
                    _ = tokio::time::sleep(delay) => {}
                }
                if let Some(reply) = reply {
                    let _ = self.write(&reply).await;
                }
                Err(reason)
            }
        }
    }

    /// A request on a connection that may serve requests: a SaslHandshake starts a
    /// re-authentication where the client does them; past the session's end anything else
    /// closes the connection, as Kafka closes it.
    async fn request(&mut self, frame: Bytes) -> Result<(), String> {
        if self.auth.is_some() {
            let key = frame.get(..2).map(|k| i16::from_be_bytes([k[0], k[1]]));
            let handshake = key == Some(ApiKey::SaslHandshake as i16);
            if handshake
                && self
                    .auth
                    .as_mut()
                    .is_some_and(|a| a.begin_reauthentication())
            {
                return self.authenticate(frame).await;
            }
            if self.session_end.is_some_and(|end| Instant::now() >= end) {
                return Err("the SASL session expired (connections.max.reauth.ms)".into());
            }
        }
        self.dispatch_and_write(frame).await
    }

    /// Handles one request and writes its response.
    async fn dispatch_and_write(&mut self, frame: Bytes) -> Result<(), String> {
        let started = std::time::Instant::now();
        let Some(response) = self.handle_frame(frame).await? else {
            return Ok(());
        };
        let handled_us = started.elapsed().as_micros() as u64;
        self.write(&response).await?;
        let written_us = started.elapsed().as_micros() as u64;
        let bytes = response.len();
        tracing::trace!(peer = %self.peer, bytes, handled_us, written_us, "response written");
        Ok(())
    }

    /// Writes a whole response and flushes it (a TLS stream holds written bytes until then).
    async fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        let stream = self.reader.get_mut();
        stream
            .write_all(bytes)
            .await
            .map_err(|e| format!("write failed: {e}"))?;
        stream
            .flush()
            .await
            .map_err(|e| format!("write failed: {e}"))
    }

    /// Decodes, dispatches and encodes one request; `Ok(None)` when no response is due.
    async fn handle_frame(&self, mut frame: Bytes) -> Result<Option<BytesMut>, String> {
        let (api_key, header) = decode_request_header(&mut frame).map_err(|e| e.to_string())?;
        let ctx = RequestContext {
            api_key,
            version: header.request_api_version,
            correlation_id: header.correlation_id,
            client_id: header.client_id.as_ref().map(|s| s.to_string()),
            peer: self.peer,
            principal: self.principal.clone(),
            listener: self.security.name.clone(),
        };
        let reply = dispatch::dispatch(&self.broker, &ctx, frame)
            .await
            .map_err(|e| e.to_string())?;
        let Some((version, body)) = reply else {
            return Ok(None);
        };
        let encoded = encode_response(api_key, version, ctx.correlation_id, &body);
        encoded.map(Some).map_err(|e| {
            tracing::error!(api = ?api_key, version, error = %e, "response encoding failed");
            e
        })
    }
}

/// Sleeps until `deadline`, or for ever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Reads one frame of `min..=max` bytes; `Ok(None)` on a clean close between frames.
async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    min: usize,
    max: usize,
) -> Result<Option<Bytes>, String> {
    let mut prefix = [0u8; 4];
    match reader.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.to_string()),
    }
    let size = check_frame_length(prefix, min, max).map_err(|e| e.to_string())?;
    let mut body = BytesMut::zeroed(size);
    reader
        .read_exact(&mut body)
        .await
        .map_err(|e| format!("reading a {size}-byte frame: {e}"))?;
    Ok(Some(body.freeze()))
}
