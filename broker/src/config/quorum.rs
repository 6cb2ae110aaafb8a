//! The controller quorum's keys: `controller.quorum.voters` (a static quorum),
//! `controller.quorum.bootstrap.servers` (a dynamic one, KIP-853, whose voters live in the
//! metadata log), the first voters given when a directory is formatted, and how
//! `process.roles` must agree with them.

use super::{BrokerConfig, ConfigError};

/// One voter of the controller quorum, `id@host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voter {
    pub id: i32,
    pub host: String,
    pub port: u16,
}

impl Voter {
    /// `host:port` of its controller listener.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Parses `controller.quorum.voters`: `1@host:port,2@host:port`.
pub fn parse_voters(value: &str) -> Result<Vec<Voter>, ConfigError> {
    voters_of("controller.quorum.voters", value, false)
}

/// Parses the first voters of a dynamic quorum as `kafka-storage.sh format
/// --initial-controllers` takes them: `id@host:port:directory-id,...` (the directory id,
/// which Kafka uses to tell a controller's disks apart, may be left out and is not kept).
pub fn parse_initial_controllers(value: &str) -> Result<Vec<Voter>, ConfigError> {
    voters_of("--initial-controllers", value, true)
}

fn voters_of(key: &str, value: &str, directory_ids: bool) -> Result<Vec<Voter>, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        key: key.into(),
        message,
    };
    let mut voters: Vec<Voter> = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (id, mut addr) = item
            .split_once('@')
            .ok_or_else(|| invalid(format!("'{item}' is not id@host:port")))?;
        if directory_ids {
            // host:port:directory-id; a directory id is never all digits (22 base64 chars).
            if let Some((rest, last)) = addr.rsplit_once(':') {
                if !last.chars().all(|c| c.is_ascii_digit()) && rest.contains(':') {
                    addr = rest;
                }
            }
        }
        let (host, port) = addr
            .rsplit_once(':')
            .ok_or_else(|| invalid(format!("'{item}' has no port")))?;
        let id: i32 = id
            .parse()
            .map_err(|_| invalid(format!("'{id}' is not a node id")))?;
        let port: u16 = port
            .parse()
            .map_err(|_| invalid(format!("'{port}' is not a port")))?;
        if id < 0 || voters.iter().any(|v| v.id == id) {
            return Err(invalid(format!("voter id {id} is negative or repeated")));
        }
        voters.push(Voter {
            id,
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
        });
    }
    Ok(voters)
}

/// Parses `controller.quorum.bootstrap.servers`: `host:port,host:port`.
pub fn parse_bootstrap_servers(value: &str) -> Result<Vec<String>, ConfigError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let port = item
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse::<u16>().ok());
            match port {
                Some(_) => Ok(item.to_string()),
                None => Err(ConfigError::Invalid {
                    key: "controller.quorum.bootstrap.servers".into(),
                    message: format!("'{item}' is not host:port"),
                }),
            }
        })
        .collect()
}

impl BrokerConfig {
    /// Sets the first voters of a dynamic quorum, as `kafka-storage.sh format` takes them:
    /// `--standalone` (this controller alone) or `--initial-controllers`. They are used only
    /// when the metadata log is new.
    pub fn set_initial_voters(
        &mut self,
        standalone: bool,
        initial: Option<&str>,
    ) -> Result<(), ConfigError> {
        let key = match (standalone, initial) {
            (false, None) => return Ok(()),
            (true, Some(_)) => {
                return Err(ConfigError::Invalid {
                    key: "--standalone".into(),
                    message: "give --standalone or --initial-controllers, not both".into(),
                })
            }
            (true, None) => "--standalone",
            (false, Some(_)) => "--initial-controllers",
        };
        let invalid = |message: &str| ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        };
        if !self.is_dynamic_quorum() {
            return Err(invalid(
                "only a dynamic quorum (controller.quorum.bootstrap.servers, no \
                 controller.quorum.voters) is formatted with its first voters",
            ));
        }
        if !self.roles.controller {
            return Err(invalid(
                "only a controller is formatted with the first voters",
            ));
        }
        let voters = match initial {
            Some(value) => parse_initial_controllers(value)?,
            None => {
                let listener = self
                    .controller_listener
                    .as_ref()
                    .ok_or_else(|| invalid("this node has no controller listener"))?;
                vec![Voter {
                    id: self.node_id,
                    host: listener.host.clone(),
                    port: listener.port,
                }]
            }
        };
        if !voters.iter().any(|v| v.id == self.node_id) {
            return Err(invalid(&format!(
                "node {} is not one of the initial controllers",
                self.node_id
            )));
        }
        self.initial_voters = voters;
        Ok(())
    }
}

/// Checks the quorum keys against `process.roles` and the listeners, as Kafka does at start.
pub(super) fn validate(config: &BrokerConfig) -> Result<(), ConfigError> {
    let bad = |key: &str, message: &str| {
        Err(ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        })
    };
    let roles = config.roles;
    if !config.voters.is_empty() && !config.bootstrap_servers.is_empty() {
        return bad(
            "controller.quorum.bootstrap.servers",
            "set it or controller.quorum.voters, not both",
        );
    }
    if config.is_single_node() {
        if !roles.controller {
            return bad(
                "controller.quorum.voters",
                "a broker without the controller role needs the quorum's voters \
                 (or controller.quorum.bootstrap.servers)",
            );
        }
        return Ok(());
    }
    if config.controller_listener.is_none() && roles.controller {
        return bad(
            "controller.listener.names",
            "a controller in a quorum needs a listener of that name in listeners",
        );
    }
    if !roles.broker && !config.listeners.is_empty() {
        return bad(
            "listeners",
            "a node that is only a controller has only its controller listener",
        );
    }
    let named = config.voters.iter().any(|v| v.id == config.node_id);
    if !config.voters.is_empty() {
        if roles.controller && !named {
            return bad(
                "controller.quorum.voters",
                "a controller must be one of the voters",
            );
        }
        if !roles.controller && named {
            return bad(
                "controller.quorum.voters",
                "a node that is only a broker must not be one of the voters",
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_controllers_take_kafkas_directory_ids() {
        let voters = parse_initial_controllers(
            "0@127.0.0.1:9093:pbvuBlaTTwKRxS5NLJwRFQ,1@[::1]:9094,2@host:9095:AAAAAAAAAAAAAAAAAAAAAA",
        )
        .expect("voters");
        let addrs: Vec<String> = voters.iter().map(Voter::addr).collect();
        assert_eq!(addrs, ["127.0.0.1:9093", "::1:9094", "host:9095"]);
        assert!(parse_initial_controllers("0@host").is_err());
        assert!(parse_initial_controllers("0@a:1,0@b:2").is_err());
        assert_eq!(
            parse_bootstrap_servers(" a:1, b:2 ").expect("servers"),
            ["a:1", "b:2"]
        );
        assert!(parse_bootstrap_servers("a").is_err());
    }

    #[test]
    fn only_a_dynamic_quorums_controller_is_formatted_with_first_voters() {
        let config = |text: &str| BrokerConfig::from_properties(text, &[]).expect("config");
        let dynamic = "controller.quorum.bootstrap.servers=127.0.0.1:9093\n\
                       controller.listener.names=CONTROLLER\nnode.id=1\n\
                       listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n";
        let mut standalone = config(dynamic);
        assert!(standalone.is_dynamic_quorum() && !standalone.is_single_node());
        standalone
            .set_initial_voters(true, None)
            .expect("standalone");
        assert_eq!(standalone.initial_voters[0].addr(), "127.0.0.1:9093");
        let mut listed = config(dynamic);
        listed
            .set_initial_voters(false, Some("1@127.0.0.1:9093:pbvuBlaTTwKRxS5NLJwRFQ,2@h:1"))
            .expect("initial controllers");
        assert_eq!(listed.initial_voters.len(), 2);
        let refused = |mut c: BrokerConfig, standalone: bool, initial: Option<&str>| {
            let e = c
                .set_initial_voters(standalone, initial)
                .expect_err("refused");
            e.to_string()
        };
        let not_me = refused(config(dynamic), false, Some("2@h:1"));
        assert!(
            not_me.contains("not one of the initial controllers"),
            "{not_me}"
        );
        let both = refused(config(dynamic), true, Some("1@h:1"));
        assert!(both.contains("not both"), "{both}");
        let fixed = config(
            "controller.quorum.voters=1@127.0.0.1:9093\ncontroller.listener.names=CONTROLLER\n\
             node.id=1\nlisteners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n",
        );
        assert!(refused(fixed, true, None).contains("only a dynamic quorum"));
        let broker = config(
            "controller.quorum.bootstrap.servers=127.0.0.1:9093\nprocess.roles=broker\n\
             node.id=4\nlisteners=PLAINTEXT://127.0.0.1:9092\n",
        );
        assert!(refused(broker, true, None).contains("only a controller"));
        assert!(BrokerConfig::from_properties(
            "controller.quorum.bootstrap.servers=a:1\ncontroller.quorum.voters=1@a:1\n",
            &[]
        )
        .is_err());
    }
}
