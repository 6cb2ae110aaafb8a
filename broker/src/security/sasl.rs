//! A connection's SASL authentication as Kafka's `SaslServerAuthenticator` runs it: a state
//! machine fed whole frames, returning what to write and what became of the connection. It
//! never touches a socket or a clock.
//!
//! Before the handshake only ApiVersions (passed back to be answered as usual) and
//! SaslHandshake are accepted. A v1 handshake (KIP-152) is followed by SaslAuthenticate
//! requests carrying the tokens; a v0 handshake by the bare tokens in size-prefixed frames, as
//! old clients send them. Any other request closes the connection, as in Kafka. A failed
//! exchange answers SASL_AUTHENTICATION_FAILED with Kafka's message (never a password) and the
//! connection is closed. Re-authentication (KIP-368) starts again from the handshake on an
//! authenticated connection, with the same mechanism, and must end with the same principal.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ResponseKind, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
    SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use kafka_protocol::ResponseError;

use super::mechanism::Mechanism;
use super::scram::{ScramCredential, ScramRefusal, ScramServer, ScramStep};
use super::{plain, Secret};
use crate::authorizer::Principal;
use crate::wire::header::{decode_request_header, encode_response};

/// SaslHandshake versions served: v1 announces SaslAuthenticate requests.
const HANDSHAKE_VERSION_MAX: i16 = 1;
/// SaslAuthenticate versions served: v1 adds the session lifetime (KIP-368).
const AUTHENTICATE_VERSION_MAX: i16 = 2;

/// A SASL listener's settings.
#[derive(Debug, Clone)]
pub struct SaslSettings {
    /// `sasl.enabled.mechanisms`, in the order the handshake lists them.
    pub mechanisms: Vec<Mechanism>,
    /// PLAIN's users and passwords (`user_<name>` of the listener's `PlainLoginModule`).
    pub plain_users: BTreeMap<String, Secret>,
    /// `connections.max.reauth.ms` per mechanism; 0 (or absent) is no limit.
    pub reauth_ms: BTreeMap<Mechanism, i64>,
    /// `connection.failed.authentication.delay.ms`: how long a failed connection waits before
    /// it is answered and closed (slows down password guessing).
    pub failed_delay: Duration,
    /// `sasl.server.max.receive.size`: the largest frame read before authentication.
    pub receive_bytes_max: usize,
    /// OAUTHBEARER's token checks, when the listener enables it.
    pub oauth: Option<std::sync::Arc<super::oauthbearer::Validator>>,
}

/// What became of one frame.
#[derive(Debug)]
pub enum Step {
    /// An ApiVersions request: answer it as any request, for an anonymous client.
    Dispatch(Bytes),
    /// Write this and read the next frame.
    Reply(BytesMut),
    /// Authenticated: write the reply (if any); the connection now serves `principal`.
    Authenticated {
        reply: Option<BytesMut>,
        principal: Principal,
        /// How long the session lasts (0: for ever), as the client was told.
        session_lifetime_ms: i64,
    },
    /// Refused: after the failed-authentication delay, write the reply (if any) and close.
    Failed {
        reply: Option<BytesMut>,
        /// Why, for the log: Kafka's message, never a secret.
        reason: String,
    },
}

#[derive(Debug)]
enum State {
    /// ApiVersions or SaslHandshake expected.
    Handshake,
    /// The tokens of `mechanism`, in SaslAuthenticate requests when `framed`, else bare.
    Tokens {
        mechanism: Mechanism,
        framed: bool,
        /// The SCRAM exchange in progress (SCRAM takes two tokens).
        scram: Option<Box<ScramServer>>,
    },
    /// Authenticated; requests go to the dispatcher.
    Complete,
}

/// The authenticated session a re-authentication must keep.
#[derive(Debug, Clone)]
struct Session {
    mechanism: Mechanism,
    principal: Principal,
}

/// One connection's authentication.
#[derive(Debug)]
pub struct Authenticator {
    settings: std::sync::Arc<SaslSettings>,
    state: State,
    /// Set once authenticated: what a re-authentication must match.
    session: Option<Session>,
    /// Whether the client used SaslAuthenticate v1+, and so knows about re-authentication.
    supports_reauth: bool,
    /// An OAUTHBEARER refusal sent as an error document, reported once the client answers.
    oauth_refusal: Option<String>,
}

impl Authenticator {
    pub fn new(settings: std::sync::Arc<SaslSettings>) -> Self {
        Authenticator {
            settings,
            state: State::Handshake,
            session: None,
            supports_reauth: false,
            oauth_refusal: None,
        }
    }

    /// Whether requests may be served (authenticated, and not re-authenticating).
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Complete)
    }

    /// The largest frame to read while authenticating.
    pub fn receive_bytes_max(&self) -> usize {
        self.settings.receive_bytes_max
    }

    /// The delay before a failed connection is answered and closed.
    pub fn failed_delay(&self) -> Duration {
        self.settings.failed_delay
    }

    /// Starts a re-authentication on an authenticated connection, when a SaslHandshake came;
    /// `false` when the client does not do KIP-368 (the handshake is then an ordinary request,
    /// refused with ILLEGAL_SASL_STATE as Kafka refuses it).
    pub fn begin_reauthentication(&mut self) -> bool {
        if !self.is_complete() || !self.supports_reauth {
            return false;
        }
        self.state = State::Handshake;
        true
    }

    /// Handles one frame received while not complete; `lookup` finds a user's stored SCRAM
    /// credential for a mechanism.
    pub fn on_frame(&mut self, frame: Bytes, lookup: &Lookup<'_>) -> Step {
        assert!(
            !self.is_complete(),
            "an authenticated connection dispatches"
        );
        match self.state {
            State::Handshake => self.handshake_phase(frame),
            State::Tokens { framed: true, .. } => self.authenticate_request(frame, lookup),
            State::Tokens { framed: false, .. } => self.bare_token(&frame, lookup),
            State::Complete => unreachable!("checked above"),
        }
    }

    fn handshake_phase(&mut self, frame: Bytes) -> Step {
        let mut body = frame.clone();
        let Ok((api_key, header)) = decode_request_header(&mut body) else {
            return failed(None, "the first frame is not a Kafka request".into());
        };
        match api_key {
            ApiKey::ApiVersions if self.session.is_none() => Step::Dispatch(frame),
            ApiKey::SaslHandshake => {
                let version = header.request_api_version;
                if !(0..=HANDSHAKE_VERSION_MAX).contains(&version) {
                    return failed(None, format!("SaslHandshake v{version} is not supported"));
                }
                let Ok(request) = SaslHandshakeRequest::decode(&mut body, version) else {
                    return failed(None, "malformed SaslHandshake request".into());
                };
                self.handshake(version, header.correlation_id, &request)
            }
            other => failed(
                None,
                format!("unexpected {other:?} request during SASL handshake"),
            ),
        }
    }

    fn handshake(
        &mut self,
        version: i16,
        correlation_id: i32,
        request: &SaslHandshakeRequest,
    ) -> Step {
        let names = self
            .settings
            .mechanisms
            .iter()
            .map(|m| StrBytes::from_static_str(m.name()))
            .collect();
        let wanted = Mechanism::parse(request.mechanism.as_str())
            .filter(|m| self.settings.mechanisms.contains(m));
        let same_as_before = |m: Mechanism| self.session.as_ref().is_none_or(|s| s.mechanism == m);
        let Some(mechanism) = wanted.filter(|m| same_as_before(*m)) else {
            let response = SaslHandshakeResponse::default()
                .with_error_code(ResponseError::UnsupportedSaslMechanism.code())
                .with_mechanisms(names);
            let reply = encode(
                ApiKey::SaslHandshake,
                version,
                correlation_id,
                response.into(),
            );
            let reason = match &self.session {
                Some(s) => format!(
                    "SASL mechanism '{}' requested by client is not supported for re-authentication of mechanism '{}'",
                    request.mechanism.as_str(),
                    s.mechanism.name()
                ),
                None => format!("Unsupported SASL mechanism {}", request.mechanism.as_str()),
            };
            return failed(reply, reason);
        };
        self.state = State::Tokens {
            mechanism,
            framed: version >= 1,
            scram: ScramServer::new(mechanism).map(Box::new),
        };
        let response = SaslHandshakeResponse::default().with_mechanisms(names);
        match encode(
            ApiKey::SaslHandshake,
            version,
            correlation_id,
            response.into(),
        ) {
            Some(reply) => Step::Reply(reply),
            None => failed(None, "SaslHandshake response encoding failed".into()),
        }
    }

    fn authenticate_request(&mut self, frame: Bytes, lookup: &Lookup<'_>) -> Step {
        let mut body = frame;
        let Ok((api_key, header)) = decode_request_header(&mut body) else {
            return failed(None, "malformed request during SASL authentication".into());
        };
        if api_key != ApiKey::SaslAuthenticate {
            return failed(
                None,
                format!("unexpected {api_key:?} request during SASL authentication"),
            );
        }
        let version = header.request_api_version;
        if !(0..=AUTHENTICATE_VERSION_MAX).contains(&version) {
            return failed(
                None,
                format!("SaslAuthenticate v{version} is not supported"),
            );
        }
        let Ok(request) = SaslAuthenticateRequest::decode(&mut body, version) else {
            return failed(None, "malformed SaslAuthenticate request".into());
        };
        self.supports_reauth |= version > 0;
        let answer = |response: SaslAuthenticateResponse| {
            encode(
                ApiKey::SaslAuthenticate,
                version,
                header.correlation_id,
                response.into(),
            )
        };
        match self.evaluate(&request.auth_bytes, lookup) {
            Exchange::Challenge(bytes) => {
                let response = SaslAuthenticateResponse::default().with_auth_bytes(bytes.into());
                match answer(response) {
                    Some(reply) => Step::Reply(reply),
                    None => failed(None, "SaslAuthenticate response encoding failed".into()),
                }
            }
            Exchange::Done(mechanism, user, bytes) => {
                let refusal = |message: String| {
                    let response = SaslAuthenticateResponse::default()
                        .with_error_code(ResponseError::SaslAuthenticationFailed.code())
                        .with_error_message(Some(StrBytes::from_string(message.clone())));
                    failed(answer(response), message)
                };
                match self.complete(mechanism, user) {
                    Ok((principal, session_lifetime_ms)) => {
                        let response = SaslAuthenticateResponse::default()
                            .with_auth_bytes(bytes.into())
                            .with_session_lifetime_ms(session_lifetime_ms);
                        Step::Authenticated {
                            reply: answer(response),
                            principal,
                            session_lifetime_ms,
                        }
                    }
                    Err(message) => refusal(message),
                }
            }
            Exchange::Refused(message) => {
                let response = SaslAuthenticateResponse::default()
                    .with_error_code(ResponseError::SaslAuthenticationFailed.code())
                    .with_error_message(Some(StrBytes::from_string(message.clone())));
                failed(answer(response), message)
            }
        }
    }

    fn bare_token(&mut self, token: &[u8], lookup: &Lookup<'_>) -> Step {
        match self.evaluate(token, lookup) {
            Exchange::Challenge(bytes) => Step::Reply(size_prefixed(&bytes)),
            Exchange::Done(mechanism, user, bytes) => match self.complete(mechanism, user) {
                Ok((principal, session_lifetime_ms)) => Step::Authenticated {
                    reply: Some(size_prefixed(&bytes)),
                    principal,
                    session_lifetime_ms,
                },
                Err(message) => failed(None, message),
            },
            Exchange::Refused(message) => failed(None, message),
        }
    }

    /// The exchange is over for `user`: checks a re-authentication kept its principal, and
    /// returns the principal and the session lifetime.
    fn complete(&mut self, mechanism: Mechanism, user: String) -> Result<(Principal, i64), String> {
        let principal = Principal::user(user);
        if let Some(before) = &self.session {
            if before.principal != principal {
                return Err(format!(
                    "Cannot change principals during re-authentication from {}.{}: {}.{}",
                    before.principal.kind, before.principal.name, principal.kind, principal.name
                ));
            }
        }
        self.session = Some(Session {
            mechanism,
            principal: principal.clone(),
        });
        self.state = State::Complete;
        let lifetime = self
            .settings
            .reauth_ms
            .get(&mechanism)
            .copied()
            .unwrap_or(0)
            .max(0);
        Ok((principal, lifetime))
    }

    fn evaluate(&mut self, token: &[u8], lookup: &Lookup<'_>) -> Exchange {
        let State::Tokens {
            mechanism, scram, ..
        } = &mut self.state
        else {
            return Exchange::Refused("no SASL exchange in progress".into());
        };
        let mechanism = *mechanism;
        if mechanism == Mechanism::OAuthBearer {
            return self.oauth(token);
        }
        let Some(scram) = scram else {
            return match plain::authenticate(token, &self.settings.plain_users) {
                Ok(user) => Exchange::Done(mechanism, user, Vec::new()),
                Err(refusal) => Exchange::Refused(refusal.0.to_string()),
            };
        };
        let find = |user: &str| lookup(user, mechanism);
        match scram.evaluate(token, &find) {
            Ok(ScramStep::Challenge(bytes)) => Exchange::Challenge(bytes),
            Ok(ScramStep::Done { user, reply }) => Exchange::Done(mechanism, user, reply),
            Err(ScramRefusal::AuthorizationId) => Exchange::Refused(
                "Authentication failed: Client requested an authorization id that is different from username".into(),
            ),
            Err(ScramRefusal::InvalidCredentials) => Exchange::Refused(format!(
                "Authentication failed during {} due to invalid credentials with SASL mechanism {}",
                if self.session.is_some() { "re-authentication" } else { "authentication" },
                mechanism.name()
            )),
        }
    }
}

impl Authenticator {
    /// OAUTHBEARER: a valid token authenticates at once; a refused one is answered with the
    /// error document, and the client's acknowledgement (`\x01`) ends the exchange refused.
    fn oauth(&mut self, token: &[u8]) -> Exchange {
        if let Some(reason) = self.oauth_refusal.take() {
            return Exchange::Refused(reason);
        }
        let Some(validator) = &self.settings.oauth else {
            return Exchange::Refused("OAUTHBEARER is not configured on this listener".into());
        };
        match validator.authenticate(token) {
            Ok(user) => Exchange::Done(Mechanism::OAuthBearer, user, Vec::new()),
            Err(why) => {
                self.oauth_refusal = Some(format!(
                    "Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER ({why})"
                ));
                Exchange::Challenge(super::oauthbearer::error_document())
            }
        }
    }
}

/// Finds a user's stored SCRAM credential for a mechanism (from the metadata image).
pub type Lookup<'a> = dyn Fn(&str, Mechanism) -> Option<ScramCredential> + 'a;

/// A mechanism's answer to one token.
enum Exchange {
    /// Send this and wait for the next token.
    Challenge(Vec<u8>),
    /// Authenticated as this user with this mechanism; send the final bytes.
    Done(Mechanism, String, Vec<u8>),
    /// Refused, with the message for the client.
    Refused(String),
}

fn failed(reply: Option<BytesMut>, reason: String) -> Step {
    Step::Failed { reply, reason }
}

fn encode(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    response: ResponseKind,
) -> Option<BytesMut> {
    encode_response(key, version, correlation_id, &response).ok()
}

/// A bare token as v0 clients read it: a 4-byte length and the bytes.
fn size_prefixed(bytes: &[u8]) -> BytesMut {
    let mut out = BytesMut::with_capacity(4 + bytes.len());
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
    out
}
