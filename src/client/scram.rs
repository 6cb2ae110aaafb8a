//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka runs them (KIP-84): the
//! client's side of the exchange as pure functions, bytes in and out, so it is tested against
//! the RFC's vectors. Sending the messages is [`super::sasl`]'s job.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

use crate::error::{Error, Result};

/// The hash a SCRAM mechanism uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    Sha256,
    Sha512,
}

/// Iteration counts below this are refused: Kafka's minimum is 4096 (RFC 7677's too).
const ITERATIONS_MIN: u32 = 4096;
/// Iteration counts above this are refused, so a hostile server cannot make the client spin.
const ITERATIONS_MAX: u32 = 1_000_000;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

impl ScramHash {
    pub(crate) fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => hmac_bytes::<Hmac<Sha256>>(key, data),
            ScramHash::Sha512 => hmac_bytes::<Hmac<Sha512>>(key, data),
        }
    }

    pub(crate) fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    pub(crate) fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                let mut out = vec![0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out
            }
            ScramHash::Sha512 => {
                let mut out = vec![0u8; 64];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
                out
            }
        }
    }
}

/// HMAC accepts keys of any length, so the error branch is never taken; an empty result
/// would fail the exchange rather than panic.
fn hmac_bytes<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    match <M as hmac::digest::KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// One SCRAM exchange, from the client's side.
#[derive(Debug, Clone)]
pub struct ScramClient {
    hash: ScramHash,
    password: String,
    nonce: String,
    client_first_bare: String,
    /// The server signature the final message must carry, once the proof is computed.
    server_signature: Option<Vec<u8>>,
}

impl ScramClient {
    /// A new exchange for `username` with a fresh random nonce.
    pub fn new(hash: ScramHash, username: &str, password: &str) -> Self {
        let nonce: String = (0..24).map(|_| fastrand::alphanumeric()).collect();
        Self::with_nonce(hash, username, password, &nonce)
    }

    /// As [`ScramClient::new`] with a given nonce (tests use the RFC's).
    pub fn with_nonce(hash: ScramHash, username: &str, password: &str, nonce: &str) -> Self {
        let name = username.replace('=', "=3D").replace(',', "=2C");
        ScramClient {
            hash,
            password: password.to_string(),
            nonce: nonce.to_string(),
            client_first_bare: format!("n={name},r={nonce}"),
            server_signature: None,
        }
    }

    /// The client-first message: no channel binding, no authorization id.
    pub fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    /// The client-final message answering `server_first`.
    pub fn client_final(&mut self, server_first: &str) -> Result<String> {
        let (nonce, salt, iterations) = parse_server_first(server_first)?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(refused("the server's nonce does not extend ours"));
        }
        let salt = B64
            .decode(salt)
            .map_err(|_| refused("the salt is not base64"))?;
        let salted = self
            .hash
            .salted_password(self.password.as_bytes(), &salt, iterations);
        let client_key = self.hash.hmac(&salted, b"Client Key");
        let stored_key = self.hash.hash(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let signature = self.hash.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = self.hash.hmac(&salted, b"Server Key");
        self.server_signature = Some(self.hash.hmac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", B64.encode(proof)))
    }

    /// Checks the server-final message: the server proves it knows the password too.
    pub fn verify_server_final(&self, server_final: &str) -> Result<()> {
        if let Some(reason) = server_final.strip_prefix("e=") {
            return Err(refused(&format!("the server says '{reason}'")));
        }
        let expected = self
            .server_signature
            .as_ref()
            .ok_or_else(|| refused("server-final before client-final"))?;
        let got = server_final
            .strip_prefix("v=")
            .and_then(|v| B64.decode(v.split(',').next().unwrap_or(v)).ok())
            .ok_or_else(|| refused("server-final carries no signature"))?;
        if &got != expected {
            return Err(refused(
                "the server's signature is wrong; it does not know the password",
            ));
        }
        Ok(())
    }
}

fn parse_server_first(message: &str) -> Result<(&str, &str, u32)> {
    let (mut nonce, mut salt, mut iterations) = (None, None, None);
    for field in message.split(',') {
        match field.split_at_checked(2) {
            Some(("r=", v)) => nonce = Some(v),
            Some(("s=", v)) => salt = Some(v),
            Some(("i=", v)) => iterations = v.parse::<u32>().ok(),
            Some(("m=", _)) => {
                return Err(refused(
                    "the server asks for an extension ktui does not know",
                ))
            }
            _ => {}
        }
    }
    let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
        return Err(refused(
            "server-first lacks a nonce, salt or iteration count",
        ));
    };
    if !(ITERATIONS_MIN..=ITERATIONS_MAX).contains(&iterations) {
        return Err(refused(&format!(
            "iteration count {iterations} is outside {ITERATIONS_MIN}..={ITERATIONS_MAX}"
        )));
    }
    Ok((nonce, salt, iterations))
}

fn refused(reason: &str) -> Error {
    Error::Config(format!("SCRAM authentication failed: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677, section 3: the SCRAM-SHA-256 example exchange.
    #[test]
    fn rfc_7677_exchange() {
        let mut client =
            ScramClient::with_nonce(ScramHash::Sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(client.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let client_final = client.client_final(server_first).expect("final");
        assert_eq!(
            client_final,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        client
            .verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .expect("server proves the password");
        assert!(client.verify_server_final("v=AAAA").is_err());
        assert!(client.verify_server_final("e=invalid-proof").is_err());
    }

    #[test]
    fn hostile_server_first_messages_are_refused() {
        let mut client = ScramClient::with_nonce(ScramHash::Sha512, "a,b=c", "pw", "abc");
        assert_eq!(client.client_first(), "n,,n=a=2Cb=3Dc,r=abc");
        for bad in [
            "r=xyz1,s=AAAA,i=4096",
            "r=abc,s=AAAA,i=4096",
            "r=abc1,s=AAAA,i=1",
            "r=abc1,s=AAAA,i=99999999",
            "r=abc1,s=!!,i=4096",
            "garbage",
            "",
        ] {
            assert!(client.client_final(bad).is_err(), "{bad}");
        }
    }
}
