//! One client connection: read a frame, dispatch it, write the response, in order.
//!
//! Kafka answers the requests of one connection in the order they were sent; clients pipeline
//! several requests and match responses by correlation id and order. Requests are handled one
//! at a time here, as Kafka's network layer does (it mutes a connection while a request is in
//! flight). A malformed or oversized frame closes this connection only.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::dispatch::{self, RequestContext};
use crate::wire::frame::check_request_length;
use crate::wire::header::{decode_request_header, encode_response};
use crate::Broker;

const READ_BUFFER_BYTES: usize = 64 * 1024;

pub(super) struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    broker: Arc<Broker>,
    token: CancellationToken,
}

impl Connection {
    pub(super) fn new(
        stream: TcpStream,
        peer: SocketAddr,
        broker: Arc<Broker>,
        token: CancellationToken,
    ) -> Self {
        Connection {
            stream,
            peer,
            broker,
            token,
        }
    }

    pub(super) async fn serve(self) {
        let _ = self.stream.set_nodelay(true);
        let peer = self.peer;
        let (read, mut write) = self.stream.into_split();
        let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, read);
        let max = self.broker.config.socket_request_max_bytes;
        loop {
            let frame = tokio::select! {
                _ = self.token.cancelled() => break,
                frame = read_frame(&mut reader, max) => frame,
            };
            let frame = match frame {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(reason) => {
                    tracing::debug!(%peer, %reason, "closing connection");
                    break;
                }
            };
            let started = std::time::Instant::now();
            match handle_frame(&self.broker, peer, frame).await {
                Ok(Some(response)) => {
                    let handled_us = started.elapsed().as_micros() as u64;
                    if let Err(e) = write.write_all(&response).await {
                        tracing::debug!(%peer, error = %e, "write failed");
                        break;
                    }
                    let written_us = started.elapsed().as_micros() as u64;
                    let bytes = response.len();
                    tracing::trace!(%peer, bytes, handled_us, written_us, "response written");
                }
                Ok(None) => {}
                Err(reason) => {
                    tracing::debug!(%peer, %reason, "closing connection");
                    break;
                }
            }
        }
    }
}

/// Reads one frame; `Ok(None)` on a clean close between frames.
async fn read_frame(
    reader: &mut BufReader<OwnedReadHalf>,
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

/// Decodes, dispatches and encodes one request; `Ok(None)` when no response is due.
async fn handle_frame(
    broker: &Broker,
    peer: SocketAddr,
    mut frame: Bytes,
) -> Result<Option<BytesMut>, String> {
    let (api_key, header) = decode_request_header(&mut frame).map_err(|e| e.to_string())?;
    let ctx = RequestContext {
        api_key,
        version: header.request_api_version,
        correlation_id: header.correlation_id,
        client_id: header.client_id.as_ref().map(|s| s.to_string()),
        peer,
        principal: crate::authorizer::Principal::anonymous(),
    };
    let reply = dispatch::dispatch(broker, &ctx, frame)
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
