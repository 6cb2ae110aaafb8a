//! One client connection: read a frame, dispatch it, write the response, in order.
//!
//! Kafka answers the requests of one connection in the order they were sent; clients pipeline
//! several requests and match responses by correlation id and order. Requests are handled one
//! at a time here, as Kafka's network layer does (it mutes a connection while a request is in
//! flight). A malformed or oversized frame closes this connection only.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::dispatch::{self, RequestContext};
use crate::authorizer::Principal;
use crate::security::ListenerSecurity;
use crate::wire::frame::check_request_length;
use crate::wire::header::{decode_request_header, encode_response};
use crate::Broker;

const READ_BUFFER_BYTES: usize = 64 * 1024;

/// A connection just accepted on a listener.
pub(super) struct Accepted {
    pub(super) stream: TcpStream,
    pub(super) peer: SocketAddr,
    pub(super) security: Arc<ListenerSecurity>,
    pub(super) broker: Arc<Broker>,
    pub(super) token: CancellationToken,
}

impl Accepted {
    /// Serves the connection until the client closes it, it fails, or the broker stops.
    pub(super) async fn serve(self) {
        let _ = self.stream.set_nodelay(true);
        let connection = Connection {
            reader: BufReader::with_capacity(READ_BUFFER_BYTES, self.stream),
            peer: self.peer,
            security: self.security,
            broker: self.broker,
            token: self.token,
            principal: Principal::anonymous(),
        };
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
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    async fn serve(mut self) {
        let peer = self.peer;
        let max = self.broker.config.socket_request_max_bytes;
        loop {
            let frame = tokio::select! {
                _ = self.token.cancelled() => break,
                frame = read_frame(&mut self.reader, max) => frame,
            };
            let frame = match frame {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(reason) => {
                    tracing::debug!(%peer, %reason, "closing connection");
                    break;
                }
            };
            if let Err(reason) = self.request(frame).await {
                tracing::debug!(%peer, %reason, "closing connection");
                break;
            }
        }
    }

    /// Handles one request and writes its response.
    async fn request(&mut self, frame: Bytes) -> Result<(), String> {
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

/// Reads one frame; `Ok(None)` on a clean close between frames.
async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> Result<Option<Bytes>, String> {
    let mut prefix = [0u8; 4];
    match reader.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.to_string()),
    }
    let size = check_request_length(prefix, max).map_err(|e| e.to_string())?;
    let mut body = BytesMut::zeroed(size);
    reader
        .read_exact(&mut body)
        .await
        .map_err(|e| format!("reading a {size}-byte frame: {e}"))?;
    Ok(Some(body.freeze()))
}
