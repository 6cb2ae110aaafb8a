//! Certificates for the TLS tests, made with rcgen in a temporary directory: a CA, a broker
//! certificate for 127.0.0.1 and localhost (its chain and key in one PEM file, as Kafka's PEM
//! keystore takes them), and a client certificate `CN=alice,OU=eng,O=ktui`. Shared by the
//! broker and CLI tests, which use different parts of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair};

/// The files the tests point brokers and clients at.
pub struct Certs {
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
    /// The broker's certificate and key, one PEM file.
    pub broker: PathBuf,
    pub broker_cert_pem: String,
    pub broker_key_pem: String,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// The subject of the client certificate, as Kafka's DEFAULT mapping rule writes it.
pub const CLIENT_DN: &str = "CN=alice,OU=eng,O=ktui";

fn dn(parts: &[(DnType, &str)]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (kind, value) in parts {
        dn.push(kind.clone(), *value);
    }
    dn
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write certificate");
    path
}

impl Certs {
    pub fn generate() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca_key = KeyPair::generate().expect("key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name = dn(&[(DnType::CommonName, "ktui test CA")]);
        let ca = ca_params.self_signed(&ca_key).expect("CA");
        let broker_key = KeyPair::generate().expect("key");
        let mut broker_params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("params");
        broker_params.distinguished_name = dn(&[(DnType::CommonName, "broker")]);
        let broker = broker_params
            .signed_by(&broker_key, &ca, &ca_key)
            .expect("broker certificate");
        let client_key = KeyPair::generate().expect("key");
        let mut client_params = CertificateParams::new(Vec::<String>::new()).expect("params");
        client_params.distinguished_name = dn(&[
            (DnType::OrganizationName, "ktui"),
            (DnType::OrganizationalUnitName, "eng"),
            (DnType::CommonName, "alice"),
        ]);
        let client = client_params
            .signed_by(&client_key, &ca, &ca_key)
            .expect("client certificate");
        let broker_cert_pem = broker.pem();
        let broker_key_pem = broker_key.serialize_pem();
        let path = dir.path().to_path_buf();
        Certs {
            ca: write(&path, "ca.pem", &ca.pem()),
            broker: write(
                &path,
                "broker.pem",
                &format!("{broker_cert_pem}{broker_key_pem}"),
            ),
            client_cert: write(&path, "client.pem", &client.pem()),
            client_key: write(&path, "client.key", &client_key.serialize_pem()),
            broker_cert_pem,
            broker_key_pem,
            dir,
        }
    }

    /// The broker's certificate and key as a PKCS12 file, made by the openssl tool.
    pub fn broker_pkcs12(&self, password: &str) -> PathBuf {
        let out = self.dir.path().join("broker.p12");
        let status = std::process::Command::new("openssl")
            .args(["pkcs12", "-export", "-in"])
            .arg(&self.broker)
            .arg("-out")
            .arg(&out)
            .args(["-passout", &format!("pass:{password}"), "-name", "broker"])
            .status()
            .expect("openssl");
        assert!(status.success(), "openssl pkcs12 -export");
        out
    }

    /// librdkafka's TLS settings: the CA, and the client certificate when `mtls`.
    pub fn rdkafka(&self, protocol: &str, mtls: bool) -> Vec<(String, String)> {
        let mut out = vec![
            ("security.protocol".to_string(), protocol.to_string()),
            ("ssl.ca.location".to_string(), self.ca.display().to_string()),
        ];
        if mtls {
            out.push((
                "ssl.certificate.location".into(),
                self.client_cert.display().to_string(),
            ));
            out.push((
                "ssl.key.location".into(),
                self.client_key.display().to_string(),
            ));
        }
        out
    }
}
