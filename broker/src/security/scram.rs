//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka's `ScramSaslServer` and
//! `ScramFormatter` run them (KIP-84): the stored credential (salt, StoredKey, ServerKey,
//! iterations, never the password), the server's two-step exchange, and the client's side for
//! a broker's own connections. Pure functions and small state machines, bytes in and out.
//!
//! As in Kafka, an unknown user, a bad proof and a malformed message all fail with the same
//! message; only an authorization id that differs from the user name is named.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

use super::secret::constant_time_eq;
use super::{Mechanism, Secret};

/// Kafka's (and RFC 7677's) least iteration count.
pub const ITERATIONS_MIN: i32 = 4096;
/// Kafka's greatest iteration count for stored credentials (`ScramMechanism.maxIterations`).
pub const ITERATIONS_MAX: i32 = 16_384;
/// The iteration count a broker's own bootstrap credentials get unless told otherwise.
pub const ITERATIONS_DEFAULT: i32 = 4096;
/// Random bytes in a server nonce (Kafka uses 130 random bits).
const NONCE_BYTES: usize = 24;
/// Random bytes in a new salt.
const SALT_BYTES: usize = 24;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A user's stored SCRAM credential for one mechanism (Kafka's `ScramCredential`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScramCredential {
    pub salt: Secret,
    pub stored_key: Secret,
    pub server_key: Secret,
    pub iterations: i32,
}

/// The hash of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha512,
}

impl Hash {
    fn of(mechanism: Mechanism) -> Option<Self> {
        match mechanism {
            Mechanism::ScramSha256 => Some(Hash::Sha256),
            Mechanism::ScramSha512 => Some(Hash::Sha512),
            Mechanism::Plain | Mechanism::OAuthBearer => None,
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            // HMAC takes keys of any length, so this never fails.
            let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key)
                .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Hash::Sha256 => run::<Hmac<Sha256>>(key, data),
            Hash::Sha512 => run::<Hmac<Sha512>>(key, data),
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => Sha256::digest(data).to_vec(),
            Hash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut out = vec![0u8; self.digest(b"").len()];
        match self {
            Hash::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out),
            Hash::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out),
        }
        out
    }
}

/// The stored credential for a salted password (what AlterUserScramCredentials upserts).
pub fn credential_from_salted(
    mechanism: Mechanism,
    salt: Vec<u8>,
    salted_password: &[u8],
    iterations: i32,
) -> Option<ScramCredential> {
    let hash = Hash::of(mechanism)?;
    let client_key = hash.hmac(salted_password, b"Client Key");
    Some(ScramCredential {
        salt: Secret::new(salt),
        stored_key: Secret::new(hash.digest(&client_key)),
        server_key: Secret::new(hash.hmac(salted_password, b"Server Key")),
        iterations,
    })
}

/// PBKDF2 of a password with a SCRAM mechanism's hash (`SaltedPassword` of RFC 5802).
pub fn salted_password(
    mechanism: Mechanism,
    password: &Secret,
    salt: &[u8],
    iterations: i32,
) -> Secret {
    let hash = Hash::of(mechanism).unwrap_or(Hash::Sha512);
    Secret::new(hash.salted_password(password.expose(), salt, iterations.max(1) as u32))
}

/// The stored credential for a password, with a new random salt (`--add-scram`).
pub fn credential_from_password(
    mechanism: Mechanism,
    password: &Secret,
    iterations: i32,
) -> Option<ScramCredential> {
    let hash = Hash::of(mechanism)?;
    let salt = random_bytes(SALT_BYTES);
    let salted = hash.salted_password(password.expose(), &salt, iterations.max(1) as u32);
    credential_from_salted(mechanism, salt, &salted, iterations)
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    // The system's random source failing is not an operating error a broker can handle.
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut out)
        .unwrap_or_else(|_| panic!("the system random number generator failed"));
    out
}

/// A printable nonce with no ',' (RFC 5802's `printable`).
fn random_nonce() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(NONCE_BYTES))
}

/// `saslname` to user name: `=2C` is ',', `=3D` is '=', and no other '=' may appear.
fn decode_saslname(name: &str) -> Option<String> {
    let decoded = name.replace("=2C", ",");
    if decoded.replace("=3D", "").contains('=') {
        return None;
    }
    Some(decoded.replace("=3D", "="))
}

fn encode_saslname(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

/// Why an exchange failed: the message for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScramRefusal {
    /// Kafka's generic "invalid credentials" failure (unknown user, bad proof, bad message).
    InvalidCredentials,
    /// The authorization id differs from the user name; Kafka names this one.
    AuthorizationId,
}

/// The server's answer to one client message.
#[derive(Debug)]
pub enum ScramStep {
    /// The server-first message; the client's final message comes next.
    Challenge(Vec<u8>),
    /// Authenticated as the user; the server-final message to send.
    Done { user: String, reply: Vec<u8> },
}

/// What the server remembers between the two messages.
#[derive(Debug)]
struct Pending {
    user: String,
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
    credential: ScramCredential,
}

/// One SCRAM exchange on the server's side.
#[derive(Debug)]
pub struct ScramServer {
    hash: Hash,
    pending: Option<Pending>,
    finished: bool,
}

impl ScramServer {
    /// A new exchange for a SCRAM mechanism; `None` for PLAIN.
    pub fn new(mechanism: Mechanism) -> Option<Self> {
        Some(ScramServer {
            hash: Hash::of(mechanism)?,
            pending: None,
            finished: false,
        })
    }

    /// Handles the client's next message; `lookup` finds a user's stored credential.
    pub fn evaluate(
        &mut self,
        message: &[u8],
        lookup: &dyn Fn(&str) -> Option<ScramCredential>,
    ) -> Result<ScramStep, ScramRefusal> {
        if self.finished {
            return Err(ScramRefusal::InvalidCredentials);
        }
        let text = std::str::from_utf8(message).map_err(|_| ScramRefusal::InvalidCredentials)?;
        match self.pending.take() {
            None => self.client_first(text, lookup),
            Some(pending) => {
                self.finished = true;
                self.client_final(text, &pending)
            }
        }
    }

    fn client_first(
        &mut self,
        text: &str,
        lookup: &dyn Fn(&str) -> Option<ScramCredential>,
    ) -> Result<ScramStep, ScramRefusal> {
        let bad = ScramRefusal::InvalidCredentials;
        let first = parse_client_first(text).ok_or(bad.clone())?;
        let user = decode_saslname(first.saslname).ok_or(bad.clone())?;
        if first.token_auth {
            // Delegation tokens are not served: no token is ever valid.
            return Err(bad);
        }
        let credential = lookup(&user).ok_or(bad.clone())?;
        if !first.authzid.is_empty() && decode_saslname(first.authzid).as_deref() != Some(&user) {
            return Err(ScramRefusal::AuthorizationId);
        }
        if credential.iterations < ITERATIONS_MIN {
            return Err(bad);
        }
        let nonce = format!("{}{}", first.nonce, random_nonce());
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(credential.salt.expose()),
            credential.iterations
        );
        self.pending = Some(Pending {
            user,
            gs2_header: first.gs2_header.to_string(),
            client_first_bare: first.bare.to_string(),
            server_first: server_first.clone(),
            nonce,
            credential,
        });
        Ok(ScramStep::Challenge(server_first.into_bytes()))
    }

    fn client_final(&self, text: &str, p: &Pending) -> Result<ScramStep, ScramRefusal> {
        let bad = ScramRefusal::InvalidCredentials;
        let (without_proof, proof) = text.rsplit_once(",p=").ok_or(bad.clone())?;
        let mut attributes = without_proof.split(',');
        let binding = attributes
            .next()
            .and_then(|a| a.strip_prefix("c="))
            .and_then(|c| B64.decode(c).ok())
            .ok_or(bad.clone())?;
        let nonce = attributes
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .ok_or(bad.clone())?;
        // Kafka accepts a nonce that ends with the server's (librdkafka before 2.x sends its
        // own nonce again in front of the server's, and Kafka's server checks `endsWith`).
        if binding != p.gs2_header.as_bytes() || !nonce.ends_with(p.nonce.as_str()) {
            return Err(bad);
        }
        let proof = B64.decode(proof).map_err(|_| bad.clone())?;
        let auth_message = format!("{},{},{without_proof}", p.client_first_bare, p.server_first);
        let stored_key = p.credential.stored_key.expose();
        let client_signature = self.hash.hmac(stored_key, auth_message.as_bytes());
        if proof.len() != client_signature.len() {
            return Err(bad);
        }
        let client_key: Vec<u8> = proof
            .iter()
            .zip(&client_signature)
            .map(|(a, b)| a ^ b)
            .collect();
        if !constant_time_eq(&self.hash.digest(&client_key), stored_key) {
            return Err(bad);
        }
        let signature = self
            .hash
            .hmac(p.credential.server_key.expose(), auth_message.as_bytes());
        Ok(ScramStep::Done {
            user: p.user.clone(),
            reply: format!("v={}", B64.encode(signature)).into_bytes(),
        })
    }
}

/// The parts of a client-first message.
struct ClientFirst<'a> {
    /// `n,[a=authzid],` as sent; the final message's channel binding must repeat it.
    gs2_header: &'a str,
    authzid: &'a str,
    /// `client-first-message-bare`, as sent (it enters the AuthMessage).
    bare: &'a str,
    saslname: &'a str,
    nonce: &'a str,
    /// The `tokenauth=true` extension (KIP-48 delegation tokens).
    token_auth: bool,
}

/// Parses `n,[a=authzid],[m=reserved,]n=saslname,r=nonce[,ext=value]*`; only the `n` channel
/// binding flag is accepted, as in Kafka.
fn parse_client_first(text: &str) -> Option<ClientFirst<'_>> {
    let rest = text.strip_prefix("n,")?;
    let (authz, bare) = rest.split_once(',')?;
    let authzid = if authz.is_empty() {
        ""
    } else {
        authz.strip_prefix("a=")?
    };
    let gs2_header = &text[..2 + authz.len() + 1];
    let mut attributes = bare.split(',').peekable();
    if attributes.peek().is_some_and(|a| a.starts_with("m=")) {
        attributes.next();
    }
    let saslname = attributes.next()?.strip_prefix("n=")?;
    let nonce = attributes.next()?.strip_prefix("r=")?;
    if saslname.is_empty() || nonce.is_empty() {
        return None;
    }
    let mut token_auth = false;
    for extension in attributes {
        let (key, value) = extension.split_once('=')?;
        token_auth |= key == "tokenauth" && value.eq_ignore_ascii_case("true");
    }
    Some(ClientFirst {
        gs2_header,
        authzid,
        bare,
        saslname,
        nonce,
        token_auth,
    })
}

/// The client's side of one exchange, for a broker connecting to another.
#[derive(Debug)]
pub struct ScramClient {
    hash: Hash,
    password: Secret,
    /// A salted password computed earlier for (salt, iterations), to skip PBKDF2 when the
    /// server's salt and count are the same (a client logging in again and again).
    salted: Option<(Vec<u8>, i32, Secret)>,
    client_first_bare: String,
    nonce: String,
    /// The server signature the final message must carry, once the proof is sent.
    server_signature: Option<Vec<u8>>,
}

/// Why the client side gave up: the server's messages were wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SCRAM: {0}")]
pub struct ScramClientError(&'static str);

impl ScramClient {
    /// A new exchange for `user`; `None` for PLAIN.
    pub fn new(mechanism: Mechanism, user: &str, password: Secret) -> Option<Self> {
        let nonce = random_nonce();
        Some(ScramClient {
            hash: Hash::of(mechanism)?,
            password,
            salted: None,
            client_first_bare: format!("n={},r={nonce}", encode_saslname(user)),
            nonce,
            server_signature: None,
        })
    }

    /// Uses a salted password computed before for this `salt` and `iterations`.
    pub fn with_salted_password(mut self, salt: Vec<u8>, iterations: i32, salted: Secret) -> Self {
        self.salted = Some((salt, iterations, salted));
        self
    }

    /// The client-first message.
    pub fn first_message(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare).into_bytes()
    }

    /// The client-final message for the server-first message.
    pub fn final_message(&mut self, server_first: &[u8]) -> Result<Vec<u8>, ScramClientError> {
        let text = std::str::from_utf8(server_first)
            .map_err(|_| ScramClientError("server-first message is not UTF-8"))?;
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for attribute in text.split(',') {
            match attribute.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = B64.decode(v).ok(),
                Some(("i", v)) => iterations = v.parse::<i32>().ok(),
                _ => {}
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(ScramClientError("malformed server-first message"));
        };
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(ScramClientError("the server's nonce does not extend ours"));
        }
        if !(ITERATIONS_MIN..=ITERATIONS_MAX).contains(&iterations) {
            return Err(ScramClientError("iteration count out of range"));
        }
        let salted = match &self.salted {
            Some((s, i, salted)) if *s == salt && *i == iterations => salted.expose().to_vec(),
            _ => self
                .hash
                .salted_password(self.password.expose(), &salt, iterations as u32),
        };
        let without_proof = format!("c={},r={nonce}", B64.encode("n,,"));
        let auth_message = format!("{},{text},{without_proof}", self.client_first_bare);
        let client_key = self.hash.hmac(&salted, b"Client Key");
        let stored_key = self.hash.digest(&client_key);
        let signature = self.hash.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = self.hash.hmac(&salted, b"Server Key");
        self.server_signature = Some(self.hash.hmac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks the server-final message.
    pub fn verify(&self, server_final: &[u8]) -> Result<(), ScramClientError> {
        let text = std::str::from_utf8(server_final)
            .map_err(|_| ScramClientError("server-final message is not UTF-8"))?;
        let signature = text
            .strip_prefix("v=")
            .and_then(|v| B64.decode(v.split(',').next().unwrap_or(v)).ok())
            .ok_or(ScramClientError("the server refused the proof"))?;
        match &self.server_signature {
            Some(expected) if constant_time_eq(expected, &signature) => Ok(()),
            _ => Err(ScramClientError("the server's signature is wrong")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677's SCRAM-SHA-256 example: user "user", password "pencil".
    #[test]
    fn rfc_7677_vector() {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").expect("salt");
        let salted = Hash::Sha256.salted_password(b"pencil", &salt, 4096);
        let credential =
            credential_from_salted(Mechanism::ScramSha256, salt, &salted, 4096).expect("cred");
        let mut server = ScramServer::new(Mechanism::ScramSha256).expect("scram");
        let lookup = |u: &str| (u == "user").then(|| credential.clone());
        let client_first = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
        let ScramStep::Challenge(first) = server.evaluate(client_first, &lookup).expect("first")
        else {
            panic!("a challenge first");
        };
        // Replay the RFC's server nonce to check the RFC's proof and signature.
        let pending = server.pending.as_mut().expect("pending");
        pending.nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into();
        pending.server_first =
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
                .into();
        assert!(String::from_utf8(first)
            .expect("utf8")
            .starts_with("r=rOprNGfwEbeRWgbNEkqO"));
        let client_final = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        let ScramStep::Done { user, reply } =
            server.evaluate(client_final, &lookup).expect("final")
        else {
            panic!("done");
        };
        assert_eq!(user, "user");
        assert_eq!(reply, b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    }

    #[test]
    fn client_and_server_agree_and_refuse_alike() {
        for mechanism in [Mechanism::ScramSha256, Mechanism::ScramSha512] {
            let password = Secret::from("p,w=d");
            let credential = credential_from_password(mechanism, &password, 4096).expect("cred");
            let lookup = |u: &str| (u == "a,b=c").then(|| credential.clone());
            let run = |password: &str, user: &str| {
                let mut client =
                    ScramClient::new(mechanism, user, Secret::from(password)).expect("client");
                let mut server = ScramServer::new(mechanism).expect("server");
                let ScramStep::Challenge(first) =
                    server.evaluate(&client.first_message(), &lookup)?
                else {
                    panic!("challenge");
                };
                let last = client.final_message(&first).expect("final");
                let ScramStep::Done { user, reply } = server.evaluate(&last, &lookup)? else {
                    panic!("done");
                };
                client.verify(&reply).expect("server signature");
                Ok::<String, ScramRefusal>(user)
            };
            assert_eq!(run("p,w=d", "a,b=c"), Ok("a,b=c".into()));
            assert_eq!(run("wrong", "a,b=c"), Err(ScramRefusal::InvalidCredentials));
            assert_eq!(
                run("p,w=d", "nobody"),
                Err(ScramRefusal::InvalidCredentials)
            );
        }
    }

    #[test]
    fn malformed_messages_are_refused() {
        let credential =
            credential_from_password(Mechanism::ScramSha256, &Secret::from("pw"), 4096)
                .expect("cred");
        let lookup = |_: &str| Some(credential.clone());
        for bad in [
            &b""[..],
            b"y,,n=u,r=x",
            b"n,,n=,r=x",
            b"n,,r=x",
            b"n,,n=u=x,r=1",
            b"\xff\xfe",
            b"n,,n=u,r=x,tokenauth=true",
        ] {
            let mut server = ScramServer::new(Mechanism::ScramSha256).expect("server");
            assert!(server.evaluate(bad, &lookup).is_err(), "{bad:?}");
        }
        let mut server = ScramServer::new(Mechanism::ScramSha256).expect("server");
        assert_eq!(
            server.evaluate(b"n,a=other,n=u,r=x", &lookup).err(),
            Some(ScramRefusal::AuthorizationId)
        );
        let mut server = ScramServer::new(Mechanism::ScramSha256).expect("server");
        assert!(server.evaluate(b"n,,n=u,r=x", &lookup).is_ok());
        assert!(server.evaluate(b"c=biws,r=x,p=AAAA", &lookup).is_err());
        assert!(server.evaluate(b"n,,n=u,r=x", &lookup).is_err(), "finished");
    }
}
