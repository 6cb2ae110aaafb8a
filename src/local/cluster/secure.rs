//! `ktui local up --secure`: the local cluster on SASL_SSL with SCRAM-SHA-512 and ACLs on.
//!
//! - A CA and one certificate per node (for `127.0.0.1` and `localhost`) are made with rcgen
//!   in the cluster folder's `tls/`; the CA's key is not kept.
//! - Every node serves one SASL_SSL listener (clients and replication) and keeps its
//!   CONTROLLER listener for the quorum (plaintext on loopback).
//! - An `admin` SCRAM-SHA-512 user, with a random password, is created when the nodes format
//!   their data directories (Kafka's `kafka-storage.sh format --add-scram`); `admin` is the
//!   super user and what the brokers log in as to each other.
//! - Two client files: `client.properties` for Kafka's tools and `ktui --command-config`
//!   (JAAS and a PEM truststore), and `kcat.conf` for kcat and librdkafka, which refuse both
//!   of those keys (`sasl.username`, `ssl.ca.location`); ktui reads either.
//!
//! Secrets (the password, the node keys) are in files only the user can read, and in the
//! first start's command line of each node (`--add-scram`).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use serde::{Deserialize, Serialize};

use super::state::{self, ClusterState, NodeState};
use crate::config::ClientConfig;

/// The super user the launcher creates.
pub const ADMIN: &str = "admin";
/// The SASL mechanism of the secured cluster.
pub const MECHANISM: &str = "SCRAM-SHA-512";
/// The client listener's name (and security protocol).
pub const LISTENER: &str = "SASL_SSL";
const AUTHORIZER: &str = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";
const PASSWORD_CHARS: usize = 24;

/// What a secured cluster keeps in its state file (readable by the user only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secure {
    /// The `admin` user's SCRAM password.
    pub admin_password: String,
}

impl Secure {
    /// A new random password.
    pub fn new() -> Self {
        Secure {
            admin_password: (0..PASSWORD_CHARS)
                .map(|_| fastrand::alphanumeric())
                .collect(),
        }
    }
}

impl Default for Secure {
    fn default() -> Self {
        Secure::new()
    }
}

fn tls_dir() -> PathBuf {
    state::cluster_dir().join("tls")
}

/// The CA certificate clients trust.
pub fn ca_file() -> PathBuf {
    tls_dir().join("ca.pem")
}

/// Node `id`'s certificate chain and key (PEM).
fn node_file(id: i32) -> PathBuf {
    tls_dir().join(format!("node-{id}.pem"))
}

/// `client.properties` for Kafka's tools and ktui.
pub fn client_properties() -> PathBuf {
    state::cluster_dir().join("client.properties")
}

/// `kcat.conf` for kcat and other librdkafka clients.
pub fn kcat_conf() -> PathBuf {
    state::cluster_dir().join("kcat.conf")
}

/// Writes `text` to `path`, readable by the user only.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", path.display()))?;
    }
    Ok(())
}

/// Makes the CA and every node's certificate, and the client files.
pub fn prepare(cluster: &ClusterState, secure: &Secure) -> anyhow::Result<()> {
    let ca_key = KeyPair::generate().context("generating the CA key")?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).context("CA parameters")?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(
        DnType::CommonName,
        format!("ktui local CA {}", cluster.cluster_id),
    );
    let ca_cert = ca.self_signed(&ca_key).context("signing the CA")?;
    write_private(&ca_file(), &ca_cert.pem())?;
    for node in &cluster.nodes {
        let key = KeyPair::generate().context("generating a node key")?;
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .context("node certificate parameters")?;
        params
            .distinguished_name
            .push(DnType::CommonName, format!("ktui-node-{}", node.id));
        let cert = params
            .signed_by(&key, &ca_cert, &ca_key)
            .context("signing a node certificate")?;
        let pem = format!("{}{}{}", cert.pem(), ca_cert.pem(), key.serialize_pem());
        write_private(&node_file(node.id), &pem)?;
    }
    write_private(&client_properties(), &java_properties(cluster, secure))?;
    write_private(&kcat_conf(), &librdkafka_properties(cluster, secure))?;
    Ok(())
}

fn jaas(secure: &Secure) -> String {
    format!(
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{ADMIN}\" \
         password=\"{}\";",
        secure.admin_password
    )
}

/// Kafka's tools (and ktui) take this: JAAS and a PEM truststore.
fn java_properties(cluster: &ClusterState, secure: &Secure) -> String {
    format!(
        "# The local cluster `ktui local up --secure` made: SASL_SSL, SCRAM-SHA-512, user {ADMIN}.\n\
         # For Kafka's tools (--command-config) and ktui (--command-config); kcat: kcat.conf.\n\
         bootstrap.servers={}\n\
         security.protocol={LISTENER}\n\
         sasl.mechanism={MECHANISM}\n\
         sasl.jaas.config={}\n\
         ssl.truststore.type=PEM\n\
         ssl.truststore.location={}\n",
        cluster.bootstrap(),
        jaas(secure),
        ca_file().display()
    )
}

/// kcat and librdkafka take this (they refuse JAAS and truststores).
fn librdkafka_properties(cluster: &ClusterState, secure: &Secure) -> String {
    format!(
        "# The local cluster `ktui local up --secure` made, for kcat -F and librdkafka clients.\n\
         bootstrap.servers={}\n\
         security.protocol={LISTENER}\n\
         sasl.mechanism={MECHANISM}\n\
         sasl.username={ADMIN}\n\
         sasl.password={}\n\
         ssl.ca.location={}\n",
        cluster.bootstrap(),
        secure.admin_password,
        ca_file().display()
    )
}

/// The client settings ktui itself uses on the cluster (the launcher's probes, the console).
pub(super) fn client_config(secure: &Secure, bootstrap: Vec<String>) -> ClientConfig {
    let mut config = ClientConfig {
        bootstrap,
        ..ClientConfig::default()
    };
    config.security.protocol = crate::config::SecurityProtocol::SaslSsl;
    config.security.sasl.mechanism = MECHANISM.to_string();
    config.security.sasl.username = ADMIN.to_string();
    config
        .security
        .sasl
        .password
        .clone_from(&secure.admin_password);
    config.security.tls.ca_file = Some(ca_file());
    config
}

/// The server.properties keys that secure `node` (secrets included: they go into a file the
/// user only can read, not onto the command line).
pub fn node_properties(node: &NodeState, secure: &Secure) -> Vec<(String, String)> {
    let listener = LISTENER.to_lowercase();
    vec![
        (
            "listeners".into(),
            format!(
                "{LISTENER}://{},CONTROLLER://{}",
                node.kafka_addr(),
                node.controller_addr()
            ),
        ),
        (
            "advertised.listeners".into(),
            format!("{LISTENER}://{}", node.kafka_addr()),
        ),
        (
            "listener.security.protocol.map".into(),
            format!("{LISTENER}:{LISTENER},CONTROLLER:PLAINTEXT"),
        ),
        ("inter.broker.listener.name".into(), LISTENER.into()),
        ("sasl.enabled.mechanisms".into(), MECHANISM.into()),
        (
            "sasl.mechanism.inter.broker.protocol".into(),
            MECHANISM.into(),
        ),
        (
            format!(
                "listener.name.{listener}.{}.sasl.jaas.config",
                MECHANISM.to_lowercase()
            ),
            jaas(secure),
        ),
        ("ssl.keystore.type".into(), "PEM".into()),
        (
            "ssl.keystore.location".into(),
            node_file(node.id).display().to_string(),
        ),
        ("ssl.truststore.type".into(), "PEM".into()),
        (
            "ssl.truststore.location".into(),
            ca_file().display().to_string(),
        ),
        ("authorizer.class.name".into(), AUTHORIZER.into()),
        ("super.users".into(), format!("User:{ADMIN}")),
    ]
}

/// Writes `node`'s secured server.properties into its folder; returns its path.
pub fn write_node_properties(node: &NodeState, secure: &Secure) -> anyhow::Result<PathBuf> {
    let path = state::node_dir(node.id).join("server.properties");
    let text: String = node_properties(node, secure)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    write_private(&path, &text)?;
    Ok(path)
}

/// `--add-scram` for the admin user, given when a node formats its data directory.
pub fn add_scram(secure: &Secure) -> String {
    format!(
        "{MECHANISM}=[name={ADMIN},password={}]",
        secure.admin_password
    )
}
