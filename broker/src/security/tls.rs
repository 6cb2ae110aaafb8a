//! TLS with rustls (ring as the crypto provider), configured from Kafka's `ssl.*` keys (or
//! their `listener.name.<name>.ssl.*` forms): the broker's certificate chain and key from
//! `ssl.keystore.location` (a PEM file holding both, or PKCS12 with `ssl.keystore.password`)
//! or from `ssl.keystore.certificate.chain` and `ssl.keystore.key` (PEM text); trusted CAs from
//! `ssl.truststore.location` (PEM or PKCS12) or `ssl.truststore.certificates`;
//! `ssl.client.auth` none, requested or required (on a SASL_SSL listener only its
//! listener-scoped form counts, as KIP-684 has it).
//!
//! Listeners get a server configuration; the broker's own connections to another broker's
//! inter-broker listener get a client configuration from the same keys. Errors name the key and
//! the file, never a password.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

use crate::config::{BrokerConfig, ConfigError, SecurityProtocol};

/// `ssl.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    Requested,
    Required,
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificate chain and private key a listener (or the broker as a client) presents.
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// The file format of a keystore or truststore: the type when it is PEM or PKCS12; for
/// Kafka's default JKS the file tells (a real JKS file is refused).
fn is_pem(kind: &str, bytes: &[u8], key: &str, path: &str) -> Result<bool, ConfigError> {
    match kind.to_ascii_uppercase().as_str() {
        "PEM" => Ok(true),
        "PKCS12" => Ok(false),
        "JKS" => {
            if bytes.starts_with(&[0xFE, 0xED, 0xFE, 0xED]) {
                return Err(invalid(
                    key,
                    format!("'{path}' is a JKS keystore, which is not supported: convert it to PKCS12 (keytool -importkeystore -deststoretype PKCS12) or PEM"),
                ));
            }
            let text = bytes.iter().skip_while(|b| b.is_ascii_whitespace());
            Ok(text.take(10).copied().eq(b"-----BEGIN".iter().copied()))
        }
        other => Err(invalid(key, format!("'{other}' is not PEM, PKCS12 or JKS"))),
    }
}

fn read(path: &str, key: &str) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| invalid(key, format!("reading '{path}': {e}")))
}

fn pem_certificates(bytes: &[u8], key: &str) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(bytes).collect();
    let certs = certs.map_err(|e| invalid(key, format!("bad PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(invalid(key, "no PEM certificate found"));
    }
    Ok(certs)
}

fn pem_key(bytes: &[u8], key: &str) -> Result<PrivateKeyDer<'static>, ConfigError> {
    PrivateKeyDer::from_pem_slice(bytes).map_err(|_| {
        invalid(
            key,
            "no unencrypted PEM private key found (PKCS8, PKCS1 or SEC1; encrypted keys are not supported)",
        )
    })
}

fn pkcs12(
    bytes: &[u8],
    password: Option<String>,
    key: &str,
    path: &str,
) -> Result<p12_keystore::KeyStore, ConfigError> {
    p12_keystore::KeyStore::from_pkcs12(bytes, password.as_deref().unwrap_or("")).map_err(|_| {
        invalid(
            key,
            format!("'{path}' is not a PKCS12 file this password opens"),
        )
    })
}

/// The identity of `listener`, if its keys give one.
fn identity(config: &BrokerConfig, listener: &str) -> Result<Option<Identity>, ConfigError> {
    let value = |k: &str| config.listener_value(listener, k);
    if let Some(chain) = value("ssl.keystore.certificate.chain") {
        let key_key = "ssl.keystore.key";
        let key = value(key_key).ok_or_else(|| {
            invalid(
                key_key,
                "ssl.keystore.certificate.chain needs ssl.keystore.key",
            )
        })?;
        return Ok(Some(Identity {
            chain: pem_certificates(chain.as_bytes(), "ssl.keystore.certificate.chain")?,
            key: pem_key(key.as_bytes(), key_key)?,
        }));
    }
    let location_key = "ssl.keystore.location";
    let Some(path) = value(location_key) else {
        return Ok(None);
    };
    let bytes = read(&path, location_key)?;
    let kind = config.listener_value_or_default(listener, "ssl.keystore.type");
    if is_pem(&kind, &bytes, location_key, &path)? {
        return Ok(Some(Identity {
            chain: pem_certificates(&bytes, location_key)?,
            key: pem_key(&bytes, location_key)?,
        }));
    }
    let password = value("ssl.keystore.password");
    let store = pkcs12(&bytes, password, location_key, &path)?;
    let (_, entry) = store
        .private_key_chain()
        .ok_or_else(|| invalid(location_key, format!("'{path}' holds no private key")))?;
    Ok(Some(Identity {
        chain: entry
            .chain()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect(),
        key: PrivateKeyDer::Pkcs8(entry.key().to_vec().into()),
    }))
}

/// The trusted CAs of `listener`, if its keys give any.
fn trust(config: &BrokerConfig, listener: &str) -> Result<Option<RootCertStore>, ConfigError> {
    let value = |k: &str| config.listener_value(listener, k);
    let certs = if let Some(pem) = value("ssl.truststore.certificates") {
        pem_certificates(pem.as_bytes(), "ssl.truststore.certificates")?
    } else if let Some(path) = value("ssl.truststore.location") {
        let key = "ssl.truststore.location";
        let bytes = read(&path, key)?;
        let kind = config.listener_value_or_default(listener, "ssl.truststore.type");
        if is_pem(&kind, &bytes, key, &path)? {
            pem_certificates(&bytes, key)?
        } else {
            let store = pkcs12(&bytes, value("ssl.truststore.password"), key, &path)?;
            store
                .entries()
                .filter_map(|(_, e)| match e {
                    p12_keystore::KeyStoreEntry::Certificate(c) => {
                        Some(CertificateDer::from(c.as_der().to_vec()))
                    }
                    _ => None,
                })
                .collect()
        }
    } else {
        return Ok(None);
    };
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| {
            invalid(
                "ssl.truststore.location",
                format!("bad CA certificate: {e}"),
            )
        })?;
    }
    Ok(Some(roots))
}

/// `ssl.client.auth` of a listener.
pub fn client_auth(
    config: &BrokerConfig,
    listener: &str,
    protocol: SecurityProtocol,
) -> Result<ClientAuth, ConfigError> {
    let key = "ssl.client.auth";
    let value = match protocol {
        SecurityProtocol::SaslSsl => config.listener_only_value(listener, key),
        _ => config.listener_value(listener, key),
    };
    match value.as_deref().map(str::trim) {
        None | Some("none") => Ok(ClientAuth::None),
        Some("requested") => Ok(ClientAuth::Requested),
        Some("required") => Ok(ClientAuth::Required),
        Some(other) => Err(invalid(
            key,
            format!("'{other}' is not none, requested or required"),
        )),
    }
}

/// The TLS server configuration of a listener.
pub fn server_config(
    config: &BrokerConfig,
    listener: &str,
    auth: ClientAuth,
) -> Result<Arc<ServerConfig>, ConfigError> {
    let location = "ssl.keystore.location";
    let identity = identity(config, listener)?.ok_or_else(|| {
        invalid(
            location,
            format!("listener '{listener}' uses TLS and needs a certificate: set ssl.keystore.location (or ssl.keystore.certificate.chain and ssl.keystore.key)"),
        )
    })?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(location, e.to_string()))?;
    let builder = match auth {
        ClientAuth::None => builder.with_no_client_auth(),
        ClientAuth::Requested | ClientAuth::Required => {
            let roots = trust(config, listener)?.ok_or_else(|| {
                invalid(
                    "ssl.truststore.location",
                    "ssl.client.auth needs the CAs client certificates are checked against",
                )
            })?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
            let verifier = if auth == ClientAuth::Requested {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| invalid("ssl.truststore.location", e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let server = builder
        .with_single_cert(identity.chain, identity.key)
        .map_err(|e| {
            invalid(
                location,
                format!("the certificate and key do not go together: {e}"),
            )
        })?;
    Ok(Arc::new(server))
}

/// The TLS client configuration for connecting to `listener` of another broker: its
/// truststore, its keystore as the client certificate when there is one, and host name
/// checks unless `ssl.endpoint.identification.algorithm` is empty.
pub fn client_config(
    config: &BrokerConfig,
    listener: &str,
) -> Result<Arc<ClientConfig>, ConfigError> {
    let key = "ssl.truststore.location";
    let roots = trust(config, listener)?.ok_or_else(|| {
        invalid(
            key,
            format!("the inter-broker listener '{listener}' uses TLS: set the truststore its certificates are checked against"),
        )
    })?;
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(key, e.to_string()))?;
    let check_names = !config
        .listener_value_or_default(listener, "ssl.endpoint.identification.algorithm")
        .trim()
        .is_empty();
    let builder = if check_names {
        builder.with_root_certificates(roots)
    } else {
        let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider(),
        )
        .build()
        .map_err(|e| invalid(key, e.to_string()))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyName { inner }))
    };
    let client = match identity(config, listener)? {
        Some(id) => builder
            .with_client_auth_cert(id.chain, id.key)
            .map_err(|e| invalid("ssl.keystore.location", e.to_string()))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(client))
}

/// Checks a server's chain against the trusted CAs but not its names
/// (`ssl.endpoint.identification.algorithm=`).
#[derive(Debug)]
struct AnyName {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
}

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
