//! OAUTHBEARER tokens for SASL (KIP-255, KIP-768): from an OIDC token endpoint with the
//! client credentials grant (`sasl.oauthbearer.token.endpoint.url`, client id and secret sent
//! as HTTP Basic authentication, as Kafka's HTTP token retriever does), from a `file://` URL
//! (a token obtained elsewhere), or given directly (`sasl.oauthbearer.token`). Tokens from an
//! endpoint are kept for the process until shortly before they expire, so the cluster's
//! connections share one. The initial client response is RFC 7628's
//! `n,,\x01auth=Bearer TOKEN\x01[key=value\x01]\x01`.
//!
//! No token, secret or response body is ever written to a log line or an error message.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;

use crate::config::OAuthBearerSettings;
use crate::error::{Error, Result};

/// A token is fetched again this long before it expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// The longest a token endpoint may take to answer.
const ENDPOINT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a token without `expires_in` (or a `exp` claim) is reused.
const LIFETIME_UNKNOWN: Duration = Duration::from_secs(300);

/// Tokens by endpoint and client id, with the instant they stop being reused.
type Tokens = Mutex<HashMap<(String, String), (String, Instant)>>;

fn cache() -> &'static Tokens {
    static CACHE: OnceLock<Tokens> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The token to send.
pub async fn token(settings: &OAuthBearerSettings) -> Result<String> {
    if let Some(token) = &settings.token {
        return Ok(token.trim().to_string());
    }
    let Some(url) = settings.token_endpoint_url.clone() else {
        return Err(Error::Config(
            "sasl.mechanism OAUTHBEARER needs sasl.oauthbearer.token.endpoint.url (https://… or \
             file://…) or sasl.oauthbearer.token"
                .into(),
        ));
    };
    if let Some(path) = url.strip_prefix("file://") {
        return std::fs::read_to_string(path)
            .map(|t| t.trim().to_string())
            .map_err(|e| {
                Error::Config(format!(
                    "cannot read the OAUTHBEARER token file {path}: {e}"
                ))
            });
    }
    let key = (url.clone(), settings.client_id.clone());
    if let Some((token, until)) = cache().lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        if Instant::now() < *until {
            return Ok(token.clone());
        }
    }
    let settings = settings.clone();
    let (token, lifetime) = tokio::task::spawn_blocking(move || fetch(&url, &settings))
        .await
        .map_err(|e| Error::Config(format!("the token request stopped: {e}")))??;
    let until = Instant::now() + lifetime.saturating_sub(REFRESH_MARGIN);
    let _ = cache()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, (token.clone(), until));
    Ok(token)
}

/// POSTs the client credentials grant to `url`; the access token and how long it lives.
fn fetch(url: &str, settings: &OAuthBearerSettings) -> Result<(String, Duration)> {
    if settings.client_id.is_empty() {
        return Err(Error::Config(
            "sasl.oauthbearer.client.id (or clientId in sasl.jaas.config) is empty".into(),
        ));
    }
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        form_encode(&settings.client_id),
        form_encode(&settings.client_secret)
    ));
    let mut body = "grant_type=client_credentials".to_string();
    if let Some(scope) = &settings.scope {
        body.push_str("&scope=");
        body.push_str(&form_encode(scope));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(ENDPOINT_TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let failed = |reason: String| Error::Config(format!("token endpoint {url}: {reason}"));
    let mut response = agent
        .post(url)
        .header("Authorization", &format!("Basic {basic}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .send(body.as_str())
        .map_err(|e| failed(e.to_string()))?;
    let status = response.status();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| failed(e.to_string()))?;
    if !status.is_success() {
        // The body may echo what was sent; only the status is reported.
        return Err(failed(format!(
            "HTTP {status} (check the client id, secret and scope)"
        )));
    }
    parse_token_response(&text).map_err(failed)
}

/// `access_token` and its lifetime (`expires_in`, else the JWT's `exp`, else a default).
fn parse_token_response(text: &str) -> std::result::Result<(String, Duration), String> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|_| "the answer is not JSON".to_string())?;
    let token = json
        .get("access_token")
        .and_then(|t| t.as_str())
        .ok_or_else(|| "the answer has no access_token".to_string())?
        .to_string();
    let lifetime = json
        .get("expires_in")
        .and_then(serde_json::Value::as_u64)
        .map(Duration::from_secs)
        .or_else(|| jwt_lifetime(&token))
        .unwrap_or(LIFETIME_UNKNOWN);
    Ok((token, lifetime))
}

/// Time left until a JWT's `exp` claim, if the token is a JWT that has one.
fn jwt_lifetime(token: &str) -> Option<Duration> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?.as_u64()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(Duration::from_secs(exp.saturating_sub(now)))
}

/// `application/x-www-form-urlencoded` percent-encoding (unreserved characters kept).
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// RFC 7628's initial client response with KIP-342 extensions.
pub fn initial_response(token: &str, extensions: &[(String, String)]) -> Vec<u8> {
    let mut out = format!("n,,\u{1}auth=Bearer {token}\u{1}");
    for (k, v) in extensions {
        out.push_str(&format!("{k}={v}\u{1}"));
    }
    out.push('\u{1}');
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_and_lifetimes() {
        let (token, life) = parse_token_response(
            r#"{"access_token":"abc","token_type":"Bearer","expires_in":600}"#,
        )
        .expect("token");
        assert_eq!((token.as_str(), life), ("abc", Duration::from_secs(600)));
        assert!(parse_token_response("{}").is_err_and(|e| e.contains("access_token")));
        assert!(parse_token_response("<html>").is_err_and(|e| e.contains("not JSON")));
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs()
            + 120;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!(r#"{{"sub":"alice","exp":{exp}}}"#));
        let jwt = format!("e30.{payload}.sig");
        let left = jwt_lifetime(&jwt).expect("exp");
        assert!(left <= Duration::from_secs(120) && left >= Duration::from_secs(110));
    }

    /// A token endpoint on loopback that answers every POST with a token and records what it
    /// was sent; returns its URL and the requests seen.
    async fn token_endpoint(status: &'static str) -> (String, std::sync::Arc<Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!(
            "http://{}/oauth2/token",
            listener.local_addr().expect("addr")
        );
        let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        drop(tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request);
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if body.len() >= length {
                            break;
                        }
                    }
                }
                log.lock()
                    .expect("log")
                    .push(String::from_utf8_lossy(&request).into_owned());
                let body = r#"{"access_token":"header.payload.signature","token_type":"Bearer","expires_in":3600}"#;
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            }
        }));
        (url, seen)
    }

    #[tokio::test]
    async fn client_credentials_are_sent_and_the_token_is_reused() {
        let (url, seen) = token_endpoint("200 OK").await;
        let settings = OAuthBearerSettings {
            token_endpoint_url: Some(url),
            client_id: "ktui client".into(),
            client_secret: "s3cret:x".into(),
            scope: Some("kafka read".into()),
            ..OAuthBearerSettings::default()
        };
        assert_eq!(
            token(&settings).await.expect("token"),
            "header.payload.signature"
        );
        assert_eq!(
            token(&settings).await.expect("again"),
            "header.payload.signature"
        );
        let requests = seen.lock().expect("log").clone();
        assert_eq!(requests.len(), 1, "the second connection reuses the token");
        let request = &requests[0];
        assert!(request.starts_with("POST /oauth2/token "), "{request}");
        let basic = base64::engine::general_purpose::STANDARD.encode("ktui%20client:s3cret%3Ax");
        assert!(request.contains(&format!("Basic {basic}")), "{request}");
        assert!(
            request.ends_with("grant_type=client_credentials&scope=kafka%20read"),
            "{request}"
        );
    }

    #[tokio::test]
    async fn a_refusing_endpoint_is_named_without_the_secret() {
        let (url, _) = token_endpoint("401 Unauthorized").await;
        let settings = OAuthBearerSettings {
            token_endpoint_url: Some(url.clone()),
            client_id: "ktui".into(),
            client_secret: "do-not-print".into(),
            ..OAuthBearerSettings::default()
        };
        let e = token(&settings).await.expect_err("refused").to_string();
        assert!(e.contains(&url) && e.contains("401"), "{e}");
        assert!(!e.contains("do-not-print"), "{e}");
        let file = tempfile::NamedTempFile::new().expect("file");
        std::fs::write(file.path(), "from-a-file\n").expect("write");
        let from_file = OAuthBearerSettings {
            token_endpoint_url: Some(format!("file://{}", file.path().display())),
            ..OAuthBearerSettings::default()
        };
        assert_eq!(token(&from_file).await.expect("file token"), "from-a-file");
    }

    #[test]
    fn the_initial_response_is_rfc_7628s() {
        assert_eq!(
            initial_response("t0k", &[("traceId".into(), "42".into())]),
            b"n,,\x01auth=Bearer t0k\x01traceId=42\x01\x01"
        );
        assert_eq!(form_encode("a b/c+d"), "a%20b%2Fc%2Bd");
    }
}
