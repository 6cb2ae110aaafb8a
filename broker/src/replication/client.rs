//! A broker's connection to another broker's inter-broker listener, for the requests a broker
//! makes itself (a follower's Fetch, OffsetForLeaderEpoch): Kafka's framing and headers, one
//! request at a time. On a secured listener the connection first does TLS and then SASL
//! (SaslHandshake v1 and SaslAuthenticate, PLAIN or SCRAM) as `InterBrokerSecurity` says.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, RequestHeader, ResponseHeader, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::security::inter_broker::{InterBrokerSecurity, SaslLogin};
use crate::security::plain;
use crate::security::scram::ScramClient;
use crate::security::Mechanism;

/// Largest response a broker reads from another.
const RESPONSE_BYTES_MAX: usize = 256 * 1024 * 1024;
/// SaslAuthenticate v2 (v1 adds the session lifetime, v2 is flexible).
const SASL_AUTHENTICATE_VERSION: i16 = 2;

/// A plain or TLS stream.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Stream for T {}

/// One connection to one broker.
#[derive(Debug)]
pub(crate) struct BrokerClient {
    addr: String,
    client_id: StrBytes,
    security: Arc<InterBrokerSecurity>,
    stream: Option<Box<dyn Stream>>,
    correlation: i32,
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

impl BrokerClient {
    pub(crate) fn new(addr: String, client_id: String, security: Arc<InterBrokerSecurity>) -> Self {
        BrokerClient {
            addr,
            client_id: StrBytes::from_string(client_id),
            security,
            stream: None,
            correlation: 0,
        }
    }

    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends `body` as `key` at `version` and decodes the answer, at most `timeout` in all
    /// (connecting and authenticating included); the connection is dropped after any error.
    pub(crate) async fn call<Q: Encodable, R: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        body: &Q,
        timeout: Duration,
    ) -> io::Result<R> {
        let exchange = async {
            if self.stream.is_none() {
                self.stream = Some(self.connect().await?);
            }
            self.exchange(key, version, body).await
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => {
                self.stream = None;
                Err(e)
            }
            Err(_) => {
                self.stream = None;
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{} did not answer", self.addr),
                ))
            }
        }
    }

    /// TCP, then TLS and SASL where the inter-broker listener has them.
    async fn connect(&mut self) -> io::Result<Box<dyn Stream>> {
        let tcp = TcpStream::connect(&self.addr).await?;
        tcp.set_nodelay(true)?;
        let stream: Box<dyn Stream> = match &self.security.tls {
            None => Box::new(tcp),
            Some(tls) => {
                let host = self
                    .addr
                    .rsplit_once(':')
                    .map_or(self.addr.as_str(), |(h, _)| h)
                    .trim_start_matches('[')
                    .trim_end_matches(']');
                let name = rustls::pki_types::ServerName::try_from(host.to_string())
                    .map_err(|_| invalid(format!("'{host}' is not a TLS server name")))?;
                let connector = tokio_rustls::TlsConnector::from(tls.clone());
                Box::new(connector.connect(name, tcp).await?)
            }
        };
        self.stream = Some(stream);
        if let Some(login) = self.security.sasl.clone() {
            self.authenticate(&login).await?;
        }
        self.stream
            .take()
            .ok_or_else(|| invalid("connection lost while authenticating"))
    }

    async fn authenticate(&mut self, login: &SaslLogin) -> io::Result<()> {
        let handshake = SaslHandshakeRequest::default()
            .with_mechanism(StrBytes::from_static_str(login.mechanism.name()));
        let answer: SaslHandshakeResponse =
            self.exchange(ApiKey::SaslHandshake, 1, &handshake).await?;
        if answer.error_code != 0 {
            return Err(invalid(format!(
                "{} refused SASL mechanism {} (error {})",
                self.addr,
                login.mechanism.name(),
                answer.error_code
            )));
        }
        match login.mechanism {
            Mechanism::Plain => {
                let token = plain::client_message(&login.user, &login.password);
                self.sasl_token(token).await.map(|_| ())
            }
            Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
                let mut scram =
                    ScramClient::new(login.mechanism, &login.user, login.password.clone())
                        .ok_or_else(|| invalid("not a SCRAM mechanism"))?;
                let server_first = self.sasl_token(scram.first_message()).await?;
                let last = scram
                    .final_message(&server_first)
                    .map_err(|e| invalid(e.to_string()))?;
                let server_final = self.sasl_token(last).await?;
                scram
                    .verify(&server_final)
                    .map_err(|e| invalid(e.to_string()))
            }
            // Refused when the configuration is read (inter_broker::sasl_login).
            Mechanism::OAuthBearer => Err(invalid("OAUTHBEARER between brokers is not supported")),
        }
    }

    /// One SaslAuthenticate round; the server's bytes, or its error (never our token).
    async fn sasl_token(&mut self, token: Vec<u8>) -> io::Result<Bytes> {
        let request = SaslAuthenticateRequest::default().with_auth_bytes(token.into());
        let answer: SaslAuthenticateResponse = self
            .exchange(
                ApiKey::SaslAuthenticate,
                SASL_AUTHENTICATE_VERSION,
                &request,
            )
            .await?;
        if answer.error_code != 0 {
            let message = answer
                .error_message
                .map(|m| m.to_string())
                .unwrap_or_default();
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{} refused the broker's SASL login: {message}", self.addr),
            ));
        }
        Ok(answer.auth_bytes)
    }

    async fn exchange<Q: Encodable, R: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        body: &Q,
    ) -> io::Result<R> {
        self.correlation = self.correlation.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(self.client_id.clone()));
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header
            .encode(&mut buf, key.request_header_version(version))
            .map_err(io::Error::other)?;
        body.encode(&mut buf, version).map_err(io::Error::other)?;
        let len = i32::try_from(buf.len() - 4).map_err(io::Error::other)?;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        let stream = self
            .stream
            .as_mut()
            .ok_or_else(|| invalid("not connected"))?;
        stream.write_all(&buf).await?;
        stream.flush().await?;
        let mut len = [0u8; 4];
        stream.read_exact(&mut len).await?;
        let len = usize::try_from(i32::from_be_bytes(len)).map_err(io::Error::other)?;
        if len > RESPONSE_BYTES_MAX {
            return Err(invalid("response too large"));
        }
        let mut frame = vec![0u8; len];
        stream.read_exact(&mut frame).await?;
        let mut frame = Bytes::from(frame);
        let header = ResponseHeader::decode(&mut frame, key.response_header_version(version))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if header.correlation_id != self.correlation {
            return Err(invalid("correlation id mismatch"));
        }
        R::decode(&mut frame, version).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

/// Connections to other brokers by id, for a broker's own requests to them (markers,
/// transaction verification): each made on first use and again when the broker's address
/// changes; one request at a time per broker.
#[derive(Debug)]
pub(crate) struct BrokerPool {
    client_id: String,
    security: Arc<InterBrokerSecurity>,
    clients:
        tokio::sync::Mutex<std::collections::HashMap<i32, Arc<tokio::sync::Mutex<BrokerClient>>>>,
}

impl BrokerPool {
    pub(crate) fn new(client_id: String, security: Arc<InterBrokerSecurity>) -> Self {
        BrokerPool {
            client_id,
            security,
            clients: tokio::sync::Mutex::default(),
        }
    }

    /// The connection to broker `id` at `addr`.
    pub(crate) async fn get(&self, id: i32, addr: &str) -> Arc<tokio::sync::Mutex<BrokerClient>> {
        let new = || {
            let client = BrokerClient::new(
                addr.to_string(),
                self.client_id.clone(),
                self.security.clone(),
            );
            Arc::new(tokio::sync::Mutex::new(client))
        };
        let mut clients = self.clients.lock().await;
        let entry = clients.entry(id).or_insert_with(new);
        if entry.try_lock().is_ok_and(|c| c.addr() != addr) {
            *entry = new();
        }
        entry.clone()
    }
}
