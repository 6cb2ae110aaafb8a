//! OAUTHBEARER end to end: the test makes a signing key (ES256) and its JWKS file, starts a
//! token endpoint on loopback that issues JWTs for the client credentials grant, and a broker
//! whose SASL_PLAINTEXT listener checks tokens against the JWKS with ACLs on. `ktui` logs in
//! with the OIDC flow (KIP-768) and is `User:<sub>`: an ACL for that principal shows it the
//! topic. librdkafka logs in with a token its callback hands over. A wrong client secret, a
//! token signed by another key, an expired one and one for another audience are refused in
//! one line that quotes no secret.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rcgen::KeyPair;
use rdkafka::client::{ClientContext, OAuthToken};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};

use crate::common::{assert_one_line_error, run_ktui, stderr, TestBroker};

const CLIENT_ID: &str = "ktui-test";
const CLIENT_SECRET: &str = "oidc-secret-4d2";
const AUDIENCE: &str = "kafka";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// A P-256 key and the JWT it signs.
struct Signer {
    key: KeyPair,
    kid: String,
}

impl Signer {
    fn new(kid: &str) -> Self {
        Signer {
            key: KeyPair::generate().expect("key"),
            kid: kid.into(),
        }
    }

    /// The JWKS holding the public key.
    fn jwks(&self) -> String {
        let raw = self.key.public_key_raw();
        assert_eq!(raw.len(), 65, "an uncompressed P-256 point");
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": self.kid,
            "x": b64(&raw[1..33]), "y": b64(&raw[33..65]),
        }]})
        .to_string()
    }

    fn token(&self, sub: &str, audience: &str, expires_in: i64) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        let exp = i64::try_from(now()).expect("now") + expires_in;
        let claims = serde_json::json!({"sub": sub, "aud": audience, "exp": exp,
                                        "iat": now(), "iss": "https://idp.test"});
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_ec_der(&self.key.serialize_der()),
        )
        .expect("signed")
    }
}

/// A token endpoint: the client credentials grant with HTTP Basic authentication; counts
/// the tokens it issued.
fn token_endpoint(token: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/oauth2/token",
        listener.local_addr().expect("addr")
    );
    let issued = Arc::new(AtomicUsize::new(0));
    let count = issued.clone();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut authorized = false;
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                authorized |= line.trim_end() == format!("Authorization: {expected}")
                    || line.trim_end() == format!("authorization: {expected}");
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let grant = String::from_utf8_lossy(&body).contains("grant_type=client_credentials");
            let (status, body) = if authorized && grant {
                let _ = count.fetch_add(1, Ordering::SeqCst);
                (
                    "200 OK",
                    format!(
                        r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":300}}"#
                    ),
                )
            } else {
                (
                    "401 Unauthorized",
                    r#"{"error":"invalid_client"}"#.to_string(),
                )
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, issued)
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

/// Hands librdkafka a fixed token.
struct TokenContext(String);

impl ClientContext for TokenContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(
        &self,
        _config: Option<&str>,
    ) -> Result<OAuthToken, Box<dyn std::error::Error>> {
        Ok(OAuthToken {
            token: self.0.clone(),
            principal_name: "alice".into(),
            lifetime_ms: i64::try_from((now() + 300) * 1000).unwrap_or(i64::MAX),
        })
    }
}

impl ConsumerContext for TokenContext {}

#[test]
fn oauthbearer_tokens_from_an_oidc_endpoint_are_checked_against_a_jwks() {
    let dir = tempfile::tempdir().expect("dir");
    let signer = Signer::new("key-1");
    let jwks = write(&dir, "jwks.json", &signer.jwks());
    let jwks_url = format!("file://{jwks}");
    let broker = TestBroker::start_with(&[
        (
            "listeners",
            "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        ),
        ("sasl.enabled.mechanisms", "OAUTHBEARER"),
        ("sasl.oauthbearer.jwks.endpoint.url", jwks_url.as_str()),
        ("sasl.oauthbearer.expected.audience", AUDIENCE),
        (
            "authorizer.class.name",
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        ),
        ("super.users", "User:ANONYMOUS"),
    ]);
    let sasl = broker.listener("SASL_PLAINTEXT");
    let out = broker.ktui(&["topics", "create", "orders", "--partitions", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let token = signer.token("alice", AUDIENCE, 300);
    let (url, issued) = token_endpoint(token.clone());
    let props = |name: &str, extra: &str| {
        write(
            &dir,
            name,
            &format!(
                "bootstrap.servers={sasl}\nsecurity.protocol=SASL_PLAINTEXT\n\
                 sasl.mechanism=OAUTHBEARER\n{extra}"
            ),
        )
    };
    let oidc = props(
        "oidc.properties",
        &format!(
            "sasl.oauthbearer.token.endpoint.url={url}\nsasl.oauthbearer.client.id={CLIENT_ID}\n\
             sasl.oauthbearer.client.secret={CLIENT_SECRET}\nsasl.oauthbearer.scope=kafka\n"
        ),
    );
    let list = |config: &str| run_ktui(&["topics", "list", "--command-config", config], b"", &[]);
    let out = list(&oidc);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("orders"),
        "User:alice has no ACL yet"
    );
    assert_eq!(
        issued.load(Ordering::SeqCst),
        1,
        "one token for the whole run"
    );
    let out = broker.ktui(&[
        "acls",
        "create",
        "--allow-principal",
        "User:alice",
        "--operation",
        "Describe",
        "--topic",
        "orders",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = list(&oidc);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("orders"),
        "the token's sub is the principal: {}",
        stderr(&out)
    );

    let context = TokenContext(token);
    let consumer: BaseConsumer<TokenContext> = ClientConfig::new()
        .set("bootstrap.servers", &sasl)
        .set("broker.address.family", "v4")
        .set("security.protocol", "SASL_PLAINTEXT")
        .set("sasl.mechanism", "OAUTHBEARER")
        .create_with_context(context)
        .expect("consumer");
    // librdkafka asks its callback for a token on its main queue, which poll() serves.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let metadata = loop {
        let _ = consumer.poll(Duration::from_millis(100));
        match consumer.fetch_metadata(Some("orders"), Duration::from_secs(1)) {
            Ok(m) => break m,
            Err(e) => assert!(
                std::time::Instant::now() < deadline,
                "librdkafka logs in with the token: {e}"
            ),
        }
    };
    assert_eq!(metadata.topics()[0].name(), "orders");

    let wrong_secret = props(
        "wrong-secret.properties",
        &format!(
            "sasl.oauthbearer.token.endpoint.url={url}\nsasl.oauthbearer.client.id={CLIENT_ID}\n\
             sasl.oauthbearer.client.secret=guessed-secret\n"
        ),
    );
    let out = list(&wrong_secret);
    assert_one_line_error(&out, "HTTP 401");
    assert!(!stderr(&out).contains("guessed-secret"));
    let other_key = Signer::new("key-1").token("alice", AUDIENCE, 300);
    let expired = signer.token("alice", AUDIENCE, -3600);
    let elsewhere = signer.token("alice", "another-service", 300);
    for (name, bad) in [
        ("forged", other_key),
        ("expired", expired),
        ("audience", elsewhere),
    ] {
        let config = props(
            &format!("{name}.properties"),
            &format!("sasl.oauthbearer.token={bad}\n"),
        );
        let out = list(&config);
        assert_one_line_error(&out, "SASL_AUTHENTICATION_FAILED");
        assert!(
            !stderr(&out).contains(&bad),
            "{name}: the token is not quoted"
        );
    }
}
