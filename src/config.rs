//! Connection settings, from three places merged in this order (later wins): a profile in
//! `~/.config/ktui/config.toml` (named clusters), a Kafka `client.properties` file
//! (`--command-config`, as Kafka's tools take it) and flags (`--bootstrap`). Keys keep Kafka's
//! names and defaults. Reading files and parsing values lives here; using them lives in
//! `client`.
//!
//! The profiles file:
//!
//! ```toml
//! default = "local"                 # used when no --profile and no --bootstrap is given
//! [clusters.local]
//! bootstrap = "127.0.0.1:9092"
//! [clusters.prod]
//! bootstrap = "kafka-1:9093,kafka-2:9093"
//! command_config = "/etc/kafka/client.properties"   # optional
//! [clusters.prod.properties]                      # optional, Kafka client keys
//! "security.protocol" = "SASL_SSL"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};

/// Kafka's `request.timeout.ms` default.
pub const REQUEST_TIMEOUT_MS_DEFAULT: u64 = 30_000;
/// Kafka's `socket.connection.setup.timeout.ms` default.
pub const CONNECT_TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// Kafka's `retry.backoff.ms` default.
pub const RETRY_BACKOFF_MS_DEFAULT: u64 = 100;
/// Kafka's `retry.backoff.max.ms` default.
pub const RETRY_BACKOFF_MS_MAX_DEFAULT: u64 = 1_000;
/// Kafka's `metadata.max.age.ms` default.
pub const METADATA_MAX_AGE_MS_DEFAULT: u64 = 300_000;
/// How many times a retriable error is retried before it is reported.
pub const RETRIES_DEFAULT: u32 = 5;

/// `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecurityProtocol {
    #[default]
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    /// Kafka's spelling.
    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value.to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(SecurityProtocol::Plaintext),
            "SSL" => Ok(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Ok(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Ok(SecurityProtocol::SaslSsl),
            _ => Err(Error::Config(format!(
                "security.protocol '{value}' is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"
            ))),
        }
    }

    /// Whether a SASL exchange follows ApiVersions.
    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// TLS settings (librdkafka's PEM key names; Java keystores are not read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// `ssl.ca.location`: PEM file of trusted CAs; the system roots when absent.
    pub ca_file: Option<PathBuf>,
    /// `ssl.certificate.location`: client certificate (PEM) for mutual TLS.
    pub cert_file: Option<PathBuf>,
    /// `ssl.key.location`: client private key (PEM).
    pub key_file: Option<PathBuf>,
    /// `ssl.endpoint.identification.algorithm`: `https` (default) checks the host name.
    pub verify_hostname: bool,
}

impl Default for TlsSettings {
    /// No files, and the broker's name checked, as Kafka's clients default to.
    fn default() -> Self {
        TlsSettings {
            ca_file: None,
            cert_file: None,
            key_file: None,
            verify_hostname: true,
        }
    }
}

/// SASL settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaslSettings {
    /// `sasl.mechanism`: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER.
    pub mechanism: String,
    /// `sasl.username`, or `username="..."` in `sasl.jaas.config`.
    pub username: String,
    /// `sasl.password`, or `password="..."` in `sasl.jaas.config`.
    pub password: String,
    pub oauthbearer: OAuthBearerSettings,
}

/// Where an OAUTHBEARER token comes from (KIP-768): an OIDC token endpoint with the client
/// credentials grant, or a `file://` URL holding a token obtained elsewhere (as Kafka's file
/// token retriever reads it), or the token itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuthBearerSettings {
    /// `sasl.oauthbearer.token.endpoint.url`: `https://…`, `http://…` or `file:///…`.
    pub token_endpoint_url: Option<String>,
    /// `sasl.oauthbearer.client.id`, or `clientId="..."` in `sasl.jaas.config`.
    pub client_id: String,
    /// `sasl.oauthbearer.client.secret`, or `clientSecret="..."`.
    pub client_secret: String,
    /// `sasl.oauthbearer.scope`, or `scope="..."`.
    pub scope: Option<String>,
    /// `sasl.oauthbearer.extensions`: `key=value,key=value` sent with the token (KIP-342).
    pub extensions: Vec<(String, String)>,
    /// `sasl.oauthbearer.token`: a token given directly (ktui's key, for tests and one-offs).
    pub token: Option<String>,
}

/// Security: protocol, TLS and SASL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecuritySettings {
    pub protocol: SecurityProtocol,
    pub tls: TlsSettings,
    pub sasl: SaslSettings,
}

/// Everything the client needs to reach a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// `bootstrap.servers`: `host:port` entries tried in order.
    pub bootstrap: Vec<String>,
    /// `client.id`.
    pub client_id: String,
    /// `request.timeout.ms`.
    pub request_timeout: Duration,
    /// `socket.connection.setup.timeout.ms`.
    pub connect_timeout: Duration,
    /// `retries` for retriable errors.
    pub retries: u32,
    /// `retry.backoff.ms`: first backoff, doubled up to `retry_backoff_max`.
    pub retry_backoff: Duration,
    /// `retry.backoff.max.ms`.
    pub retry_backoff_max: Duration,
    /// `metadata.max.age.ms`: cached metadata older than this is refreshed before use.
    pub metadata_max_age: Duration,
    pub security: SecuritySettings,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            bootstrap: Vec::new(),
            client_id: "ktui".to_string(),
            request_timeout: Duration::from_millis(REQUEST_TIMEOUT_MS_DEFAULT),
            connect_timeout: Duration::from_millis(CONNECT_TIMEOUT_MS_DEFAULT),
            retries: RETRIES_DEFAULT,
            retry_backoff: Duration::from_millis(RETRY_BACKOFF_MS_DEFAULT),
            retry_backoff_max: Duration::from_millis(RETRY_BACKOFF_MS_MAX_DEFAULT),
            metadata_max_age: Duration::from_millis(METADATA_MAX_AGE_MS_DEFAULT),
            security: SecuritySettings::default(),
        }
    }
}

/// Where the settings come from: the flags every client subcommand takes.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `--bootstrap`.
    pub bootstrap: Option<String>,
    /// `--command-config`.
    pub command_config: Option<PathBuf>,
    /// `--profile`.
    pub profile: Option<String>,
    /// The profiles file; `KTUI_CONFIG`, else `$XDG_CONFIG_HOME/ktui/config.toml`, else
    /// `~/.config/ktui/config.toml`.
    pub profiles_file: Option<PathBuf>,
}

/// One named cluster in the profiles file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub bootstrap: Option<String>,
    pub command_config: Option<PathBuf>,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// The profiles file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilesFile {
    pub default: Option<String>,
    #[serde(default)]
    pub clusters: BTreeMap<String, Profile>,
}

impl ClientConfig {
    /// Merges profile, `client.properties` and flags.
    pub fn resolve(sources: &Sources) -> Result<ClientConfig> {
        let mut props: Vec<(String, String)> = Vec::new();
        let profiles_path = sources.profiles_file.clone().or_else(default_profiles_path);
        let profile = select_profile(sources, profiles_path.as_deref())?;
        if let Some(profile) = &profile {
            if let Some(path) = &profile.command_config {
                props.extend(read_properties(path)?);
            }
            props.extend(profile.properties.clone());
            if let Some(b) = &profile.bootstrap {
                props.push(("bootstrap.servers".into(), b.clone()));
            }
        }
        if let Some(path) = &sources.command_config {
            props.extend(read_properties(path)?);
        }
        if let Some(b) = &sources.bootstrap {
            props.push(("bootstrap.servers".into(), b.clone()));
        }
        let config = ClientConfig::from_properties(&props)?;
        if config.bootstrap.is_empty() {
            return Err(Error::Config(
                "no cluster given: pass --bootstrap HOST:PORT, --command-config FILE with bootstrap.servers, or --profile NAME (profiles in ~/.config/ktui/config.toml)".into(),
            ));
        }
        Ok(config)
    }

    /// Applies Kafka client keys in order; unknown keys are ignored, as Kafka's tools warn and go on.
    pub fn from_properties(props: &[(String, String)]) -> Result<ClientConfig> {
        let mut c = ClientConfig::default();
        for (key, value) in props {
            c.apply(key, value.trim())?;
        }
        Ok(c)
    }

    fn apply(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "bootstrap.servers" => self.bootstrap = parse_bootstrap(value)?,
            "client.id" => self.client_id = value.to_string(),
            "request.timeout.ms" => self.request_timeout = millis(key, value)?,
            "socket.connection.setup.timeout.ms" => self.connect_timeout = millis(key, value)?,
            "retry.backoff.ms" => self.retry_backoff = millis(key, value)?,
            "retry.backoff.max.ms" => self.retry_backoff_max = millis(key, value)?,
            "metadata.max.age.ms" => self.metadata_max_age = millis(key, value)?,
            "retries" => self.retries = number(key, value)?.min(u64::from(u32::MAX)) as u32,
            "security.protocol" => self.security.protocol = SecurityProtocol::parse(value)?,
            "ssl.ca.location" => self.security.tls.ca_file = Some(value.into()),
            // Kafka's Java clients name a PEM truststore so (KIP-651).
            "ssl.truststore.location" => self.security.tls.ca_file = Some(value.into()),
            "ssl.truststore.type" if !value.eq_ignore_ascii_case("PEM") => {
                return Err(Error::Config(format!(
                    "ssl.truststore.type {value}: ktui reads PEM truststores only \
                     (ssl.truststore.type=PEM, or ssl.ca.location with a PEM file)"
                )))
            }
            "ssl.certificate.location" => self.security.tls.cert_file = Some(value.into()),
            "ssl.key.location" => self.security.tls.key_file = Some(value.into()),
            "ssl.endpoint.identification.algorithm" => {
                self.security.tls.verify_hostname = value.eq_ignore_ascii_case("https")
            }
            "sasl.mechanism" | "sasl.mechanisms" => {
                self.security.sasl.mechanism = value.to_ascii_uppercase()
            }
            "sasl.username" => self.security.sasl.username = value.to_string(),
            "sasl.password" => self.security.sasl.password = value.to_string(),
            "sasl.jaas.config" => self.apply_jaas(value),
            "sasl.oauthbearer.token.endpoint.url" => {
                self.security.sasl.oauthbearer.token_endpoint_url = Some(value.to_string())
            }
            "sasl.oauthbearer.client.id" => {
                self.security.sasl.oauthbearer.client_id = value.to_string()
            }
            "sasl.oauthbearer.client.secret" => {
                self.security.sasl.oauthbearer.client_secret = value.to_string()
            }
            "sasl.oauthbearer.scope" => {
                self.security.sasl.oauthbearer.scope = Some(value.to_string())
            }
            "sasl.oauthbearer.token" => {
                self.security.sasl.oauthbearer.token = Some(value.to_string())
            }
            "sasl.oauthbearer.extensions" => {
                self.security.sasl.oauthbearer.extensions = value
                    .split(',')
                    .filter(|e| !e.trim().is_empty())
                    .map(|e| match e.split_once('=') {
                        Some((k, v)) => Ok((k.trim().to_string(), v.trim().to_string())),
                        None => Err(Error::Config(format!(
                            "sasl.oauthbearer.extensions entry '{e}' is not key=value"
                        ))),
                    })
                    .collect::<Result<_>>()?
            }
            _ => {}
        }
        Ok(())
    }

    /// `... required username="u" password="p";` → username and password; the OAUTHBEARER
    /// login module's `clientId`, `clientSecret` and `scope` likewise.
    fn apply_jaas(&mut self, value: &str) {
        let sasl = &mut self.security.sasl;
        let mut scope = sasl.oauthbearer.scope.clone().unwrap_or_default();
        for (field, target) in [
            ("username", &mut sasl.username),
            ("password", &mut sasl.password),
            ("clientId", &mut sasl.oauthbearer.client_id),
            ("clientSecret", &mut sasl.oauthbearer.client_secret),
            ("scope", &mut scope),
        ] {
            let pattern = format!("{field}=\"");
            if let Some(start) = value.find(&pattern).map(|i| i + pattern.len()) {
                if let Some(len) = value[start..].find('"') {
                    *target = value[start..start + len].to_string();
                }
            }
        }
        if !scope.is_empty() {
            sasl.oauthbearer.scope = Some(scope);
        }
    }
}

fn millis(key: &str, value: &str) -> Result<Duration> {
    number(key, value).map(Duration::from_millis)
}

fn number(key: &str, value: &str) -> Result<u64> {
    value
        .parse()
        .map_err(|_| Error::Config(format!("{key} '{value}' is not a whole number")))
}

/// `a:1, b:2` → `["a:1", "b:2"]`; each entry must be `host:port`.
pub fn parse_bootstrap(value: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let entry = entry
            .strip_prefix("PLAINTEXT://")
            .or_else(|| entry.strip_prefix("SSL://"))
            .unwrap_or(entry);
        let port_ok = entry
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok {
            return Err(Error::Config(format!(
                "bootstrap server '{entry}' is not host:port (for example 127.0.0.1:9092)"
            )));
        }
        out.push(entry.to_string());
    }
    Ok(out)
}

/// Reads a Java properties file: `key=value` or `key: value`, `#`/`!` comments, `\` joins lines.
pub fn read_properties(path: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        what: format!("cannot read --command-config '{}'", path.display()),
        source: e,
    })?;
    Ok(parse_properties(&text))
}

/// Parses the text of a properties file.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut logical = String::new();
    for line in text.lines() {
        let line = line.trim_start();
        if logical.is_empty() && (line.starts_with('#') || line.starts_with('!')) {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            logical.push_str(head);
            continue;
        }
        logical.push_str(line);
        let entry = std::mem::take(&mut logical);
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let split = entry.find(['=', ':']).unwrap_or(entry.len());
        let key = entry[..split].trim().to_string();
        let value = entry.get(split + 1..).unwrap_or("").trim().to_string();
        out.push((key, value));
    }
    out
}

fn default_profiles_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KTUI_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("ktui/config.toml"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(".config/ktui/config.toml"))
}

/// The profile to use: `--profile`, else the file's `default` when no `--bootstrap` was given.
fn select_profile(sources: &Sources, path: Option<&Path>) -> Result<Option<Profile>> {
    let file = match path {
        Some(path) if path.exists() => Some(read_profiles(path)?),
        _ => None,
    };
    let name = match (&sources.profile, &sources.bootstrap, &file) {
        (Some(name), _, _) => name.clone(),
        (None, None, Some(file)) => match &file.default {
            Some(name) => name.clone(),
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    let shown = path.map_or("(none)".into(), |p| p.display().to_string());
    let file = file.ok_or_else(|| {
        Error::Config(format!(
            "--profile '{name}': no profiles file at {shown}; create it with a [clusters.{name}] table"
        ))
    })?;
    match file.clusters.get(&name) {
        Some(profile) => Ok(Some(profile.clone())),
        None => Err(Error::Config(format!(
            "profile '{name}' is not in {shown}; it has: {}",
            file.clusters.keys().cloned().collect::<Vec<_>>().join(", ")
        ))),
    }
}

fn read_profiles(path: &Path) -> Result<ProfilesFile> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        what: format!("cannot read profiles file '{}'", path.display()),
        source: e,
    })?;
    toml::from_str(&text)
        .map_err(|e| Error::Config(format!("profiles file '{}': {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_files_parse_like_java() {
        let text = "# comment\nbootstrap.servers=a:1,b:2\n! also\nclient.id : me\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule \\\n  required username=\"u\" password=\"p w\";\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanism=plain\n";
        let props = parse_properties(text);
        let c = ClientConfig::from_properties(&props).expect("config");
        assert_eq!(c.bootstrap, vec!["a:1", "b:2"]);
        assert_eq!(c.client_id, "me");
        assert_eq!(c.security.sasl.username, "u");
        assert_eq!(c.security.sasl.password, "p w");
        assert_eq!(c.security.sasl.mechanism, "PLAIN");
        assert_eq!(c.security.protocol, SecurityProtocol::SaslPlaintext);
    }

    #[test]
    fn bad_values_are_named() {
        let bad = ClientConfig::from_properties(&[("request.timeout.ms".into(), "soon".into())]);
        assert!(bad.expect_err("bad").to_string().contains("'soon'"));
        let e = parse_bootstrap("localhost").expect_err("no port");
        assert!(e.to_string().contains("'localhost'"));
    }

    #[test]
    fn profiles_then_file_then_flags() {
        let dir = tempfile::tempdir().expect("dir");
        let props = dir.path().join("client.properties");
        std::fs::write(&props, "client.id=from-file\nbootstrap.servers=f:1\n").expect("write");
        let profiles = dir.path().join("config.toml");
        let toml = format!(
            "default = \"dev\"\n[clusters.dev]\nbootstrap = \"d:1\"\n[clusters.prod]\nbootstrap = \"p:1\"\ncommand_config = \"{}\"\n",
            props.display()
        );
        std::fs::write(&profiles, toml).expect("write");
        let mut s = Sources {
            profiles_file: Some(profiles),
            ..Sources::default()
        };
        assert_eq!(
            ClientConfig::resolve(&s).expect("default").bootstrap,
            ["d:1"]
        );
        s.profile = Some("prod".into());
        let c = ClientConfig::resolve(&s).expect("prod");
        assert_eq!(
            (c.bootstrap.as_slice(), c.client_id.as_str()),
            (&["p:1".to_string()][..], "from-file")
        );
        s.bootstrap = Some("x:9".into());
        assert_eq!(ClientConfig::resolve(&s).expect("flag").bootstrap, ["x:9"]);
        s.profile = Some("nope".into());
        assert!(ClientConfig::resolve(&s)
            .expect_err("missing")
            .to_string()
            .contains("'nope'"));
    }
}
