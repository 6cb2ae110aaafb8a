//! TLS for `security.protocol` SSL and SASL_SSL: rustls (ring) over the TCP stream, as one
//! more [`Transport`]. Trust comes from `ssl.ca.location` (PEM) or else the system's roots;
//! `ssl.certificate.location` and `ssl.key.location` give a client certificate for mutual TLS;
//! `ssl.endpoint.identification.algorithm=https` (Kafka's default) checks the broker's name,
//! an empty value checks the chain only. The workspace broker has no TLS listener yet, so the
//! tests put a TLS-terminating proxy in front of it.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::connection::Transport;
use crate::config::TlsSettings;
use crate::error::{Error, Result};

/// Wraps `stream` to `addr` (`host:port`) in TLS per `settings`.
pub async fn wrap(
    stream: TcpStream,
    addr: &str,
    settings: &TlsSettings,
) -> Result<Box<dyn Transport>> {
    let config = client_config(settings)?;
    let host = host_of(addr);
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| Error::Config(format!("'{host}' is not a host name TLS can check")))?;
    let tls = TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
        .map_err(|e| Error::Connect {
            addr: addr.to_string(),
            reason: format!("TLS handshake failed: {e}"),
        })?;
    Ok(Box::new(tls))
}

/// `host` of `host:port` or `[v6]:port`.
fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_config(settings: &TlsSettings) -> Result<rustls::ClientConfig> {
    let roots = Arc::new(root_store(settings)?);
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS: {e}")))?;
    let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider())
        .build()
        .map_err(|e| Error::Config(format!("TLS: no usable trust roots: {e}")))?;
    let builder = if settings.verify_hostname {
        builder.with_webpki_verifier(verifier)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly(verifier)))
    };
    match (&settings.cert_file, &settings.key_file) {
        (Some(cert), Some(key)) => {
            let chain = read_certs(cert, "ssl.certificate.location")?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| Error::Config(format!("ssl.key.location '{}': {e}", key.display())))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| Error::Config(format!("TLS client certificate: {e}")))
        }
        (None, None) => Ok(builder.with_no_client_auth()),
        _ => Err(Error::Config(
            "ssl.certificate.location and ssl.key.location go together; give both or neither"
                .into(),
        )),
    }
}

fn root_store(settings: &TlsSettings) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    match &settings.ca_file {
        Some(path) => {
            for cert in read_certs(path, "ssl.ca.location")? {
                roots.add(cert).map_err(|e| {
                    Error::Config(format!("ssl.ca.location '{}': {e}", path.display()))
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let _ = roots.add_parsable_certificates(found.certs);
        }
    }
    Ok(roots)
}

fn read_certs(path: &std::path::Path, key: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| Error::Config(format!("{key} '{}': {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::Config(format!(
            "{key} '{}' holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// Checks the certificate chain but not the name in it, for
/// `ssl.endpoint.identification.algorithm=` (empty), as Kafka's clients allow.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::connection::Connection;
    use crate::config::{ClientConfig, SecurityProtocol};
    use kafka_protocol::messages::MetadataRequest;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    use tokio::net::TcpListener;

    /// A CA, and a certificate it signed for `localhost` only: (ca pem, leaf der, key der).
    fn certificates() -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
        let ca_key = KeyPair::generate().expect("key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).expect("ca");
        let leaf_key = KeyPair::generate().expect("key");
        let leaf = CertificateParams::new(vec!["localhost".to_string()])
            .expect("params")
            .signed_by(&leaf_key, &ca, &ca_key)
            .expect("leaf");
        let key = PrivateKeyDer::try_from(leaf_key.serialize_der()).expect("key der");
        (ca.pem(), leaf.der().clone(), key)
    }

    /// A TLS-terminating proxy in front of `backend`, on a free loopback port.
    async fn tls_proxy(
        backend: String,
        cert: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
    ) -> u16 {
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, backend) = (acceptor.clone(), backend.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let Ok(mut plain) = TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        port
    }

    fn tls_config(ca: Option<&std::path::Path>, verify_hostname: bool) -> ClientConfig {
        let mut config = ClientConfig::default();
        config.security.protocol = SecurityProtocol::Ssl;
        config.security.tls.ca_file = ca.map(std::path::Path::to_path_buf);
        config.security.tls.verify_hostname = verify_hostname;
        config
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tls_reaches_the_broker_and_checks_the_name_and_the_issuer() {
        let dir = tempfile::tempdir().expect("dir");
        let overrides = vec![
            ("log.dirs".to_string(), dir.path().display().to_string()),
            (
                "listeners".to_string(),
                "PLAINTEXT://127.0.0.1:0".to_string(),
            ),
        ];
        let broker_config =
            ktui_broker::BrokerConfig::from_properties("", &overrides).expect("config");
        let broker = ktui_broker::RunningBroker::start(broker_config)
            .await
            .expect("broker");
        let (ca_pem, cert, key) = certificates();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, ca_pem).expect("write ca");
        let port = tls_proxy(broker.local_addr().to_string(), cert, key).await;

        let named = format!("localhost:{port}");
        let conn = Connection::open(&named, &tls_config(Some(&ca), true))
            .await
            .expect("TLS to localhost");
        let metadata = conn
            .send(&MetadataRequest::default())
            .await
            .expect("metadata over TLS");
        assert_eq!(metadata.brokers.len(), 1);

        // The certificate names localhost, not 127.0.0.1: refused unless the name check is off.
        let by_ip = format!("127.0.0.1:{port}");
        let e = Connection::open(&by_ip, &tls_config(Some(&ca), true))
            .await
            .err()
            .expect("name mismatch");
        assert!(
            e.to_string().contains("TLS handshake failed") && e.to_string().contains(&by_ip),
            "{e}"
        );
        Connection::open(&by_ip, &tls_config(Some(&ca), false))
            .await
            .expect("chain-only check");

        // The system's roots do not include the test CA.
        let e = Connection::open(&named, &tls_config(None, true))
            .await
            .err()
            .expect("unknown issuer");
        assert!(e.to_string().contains("TLS handshake failed"), "{e}");
        broker.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sasl_ssl_authenticates_inside_tls() {
        let dir = tempfile::tempdir().expect("dir");
        let (ca_pem, cert, key) = certificates();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, ca_pem).expect("write ca");
        let backend = crate::client::test_server::start("bob", "hunter2").await;
        let port = tls_proxy(backend, cert, key).await;
        let mut config = tls_config(Some(&ca), true);
        config.security.protocol = SecurityProtocol::SaslSsl;
        config.security.sasl.mechanism = "SCRAM-SHA-512".into();
        config.security.sasl.username = "bob".into();
        config.security.sasl.password = "hunter2".into();
        let addr = format!("localhost:{port}");
        let conn = Connection::open(&addr, &config).await.expect("SASL_SSL");
        conn.send(&MetadataRequest::default())
            .await
            .expect("after authentication");
    }
}
