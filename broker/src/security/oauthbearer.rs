//! OAUTHBEARER (KIP-255, RFC 7628) on the broker, as Kafka's `OAuthBearerValidatorCallbackHandler`
//! (KIP-768) checks a token: a JWT signed by one of the keys of a JWKS
//! (`sasl.oauthbearer.jwks.endpoint.url`, a `file://` URL here), unexpired (with
//! `sasl.oauthbearer.clock.skew.seconds`), of the expected audience and issuer when those are
//! set; the principal is the `sasl.oauthbearer.sub.claim.name` claim (`sub`).
//!
//! The client's first message is `n,,\x01auth=Bearer TOKEN\x01[key=value\x01]\x01`. A refused
//! token is answered with RFC 7628's error document; the client acknowledges it with `\x01`
//! and the exchange then fails with SASL_AUTHENTICATION_FAILED. The token is never logged:
//! refusals say why (expired, wrong key, wrong audience), not what was sent.

use std::path::{Path, PathBuf};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

/// Kafka's defaults.
pub const SUB_CLAIM_DEFAULT: &str = "sub";
pub const CLOCK_SKEW_SECONDS_DEFAULT: u64 = 30;

/// How tokens are checked.
#[derive(Debug, Clone)]
pub struct OAuthSettings {
    /// The JWKS file.
    pub jwks_file: PathBuf,
    /// `sasl.oauthbearer.expected.audience`: any of these; none checked when empty.
    pub audience: Vec<String>,
    /// `sasl.oauthbearer.expected.issuer`.
    pub issuer: Option<String>,
    /// `sasl.oauthbearer.sub.claim.name`.
    pub sub_claim: String,
    /// `sasl.oauthbearer.clock.skew.seconds`.
    pub clock_skew_seconds: u64,
}

/// A validator over the keys read from the JWKS file.
#[derive(Debug, Clone)]
pub struct Validator {
    settings: OAuthSettings,
    keys: JwkSet,
}

impl Validator {
    /// Reads the JWKS; an unreadable file or one without keys is an error naming it.
    pub fn new(settings: OAuthSettings) -> Result<Self, String> {
        let keys = read_jwks(&settings.jwks_file)?;
        Ok(Validator { settings, keys })
    }

    /// The principal name a client's first message proves, or why it does not.
    pub fn authenticate(&self, message: &[u8]) -> Result<String, String> {
        let token = bearer_token(message)?;
        self.validate(&token)
    }

    fn validate(&self, token: &str) -> Result<String, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| "not a JWT".to_string())?;
        if !matches!(
            header.alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::ES256
                | Algorithm::ES384
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
                | Algorithm::EdDSA
        ) {
            return Err(format!("algorithm {:?} is not accepted", header.alg));
        }
        let candidates: Vec<_> = match &header.kid {
            Some(kid) => self
                .keys
                .keys
                .iter()
                .filter(|k| k.common.key_id.as_deref() == Some(kid.as_str()))
                .collect(),
            None => self.keys.keys.iter().collect(),
        };
        if candidates.is_empty() {
            return Err("no key of the JWKS has the token's kid".into());
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.settings.clock_skew_seconds;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        if self.settings.audience.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&self.settings.audience);
        }
        if let Some(issuer) = &self.settings.issuer {
            validation.set_issuer(&[issuer]);
        }
        let mut last = String::from("no key verified the signature");
        for jwk in candidates {
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            match jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation) {
                Ok(data) => {
                    let sub = data
                        .claims
                        .get(&self.settings.sub_claim)
                        .and_then(|v| v.as_str())
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| format!("no '{}' claim", self.settings.sub_claim))?;
                    return Ok(sub.to_string());
                }
                Err(e) => last = refusal(e.kind()),
            }
        }
        Err(last)
    }
}

/// Why a token was refused, in words that quote nothing of it.
fn refusal(kind: &jsonwebtoken::errors::ErrorKind) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".into(),
        ErrorKind::InvalidAudience => "the token's audience is not the expected one".into(),
        ErrorKind::InvalidIssuer => "the token's issuer is not the expected one".into(),
        ErrorKind::InvalidSignature => "no key verified the signature".into(),
        ErrorKind::MissingRequiredClaim(c) => format!("no '{c}' claim"),
        ErrorKind::InvalidAlgorithm => "the key's algorithm is not the token's".into(),
        _ => "the token is malformed".into(),
    }
}

fn read_jwks(path: &Path) -> Result<JwkSet, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the JWKS {}: {e}", path.display()))?;
    let set: JwkSet = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a JWKS: {e}", path.display()))?;
    if set.keys.is_empty() {
        return Err(format!("the JWKS {} holds no key", path.display()));
    }
    Ok(set)
}

/// The token of RFC 7628's initial client response.
fn bearer_token(message: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(message).map_err(|_| "the message is not UTF-8".to_string())?;
    let (gs2, rest) = text
        .split_once('\u{1}')
        .ok_or_else(|| "the message has no key-value pairs".to_string())?;
    if !gs2.starts_with("n,") && !gs2.starts_with("y,") {
        return Err("the message's GS2 header is not n,, or y,,".into());
    }
    rest.split('\u{1}')
        .find_map(|pair| pair.strip_prefix("auth="))
        .and_then(|auth| {
            auth.strip_prefix("Bearer ")
                .or_else(|| auth.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "the message has no auth=Bearer token".into())
}

/// RFC 7628's error document a refused client is sent (it then answers `\x01`).
pub fn error_document() -> Vec<u8> {
    br#"{"status":"invalid_token"}"#.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_responses_are_parsed() {
        assert_eq!(
            bearer_token(b"n,,\x01auth=Bearer abc.def.ghi\x01traceId=1\x01\x01"),
            Ok("abc.def.ghi".to_string())
        );
        assert!(bearer_token(b"n,,\x01auth=Basic x\x01\x01").is_err());
        assert!(bearer_token(b"p=tls,,\x01auth=Bearer x\x01\x01").is_err());
        assert!(bearer_token(b"\xff").is_err());
        assert!(bearer_token(b"n,,").is_err());
    }
}
