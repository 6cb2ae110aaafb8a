//! A group member's settings, with the Java consumer's keys and defaults: the group protocol,
//! session and heartbeat timing, the rebalance timeout (`max.poll.interval.ms`), the assignors
//! offered in a classic group, the static `group.instance.id` and the KIP-848 server-side
//! assignor. Keys that are not a member's (fetching, committing) are left to the caller.

use std::time::Duration;

use super::assignors::Assignor;
use crate::error::{Error, Result};

/// Kafka's `session.timeout.ms` default (KIP-735).
pub const SESSION_TIMEOUT_MS_DEFAULT: u64 = 45_000;
/// Kafka's `heartbeat.interval.ms` default.
pub const HEARTBEAT_INTERVAL_MS_DEFAULT: u64 = 3_000;
/// Kafka's `max.poll.interval.ms` default, which the Java consumer sends as its rebalance
/// timeout.
pub const REBALANCE_TIMEOUT_MS_DEFAULT: u64 = 300_000;

/// Which group protocol a member speaks (`group.protocol`, KIP-848).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupProtocol {
    /// JoinGroup, SyncGroup, Heartbeat and LeaveGroup, with client-side assignment.
    Classic,
    /// ConsumerGroupHeartbeat, with server-side assignment (KIP-848).
    Consumer,
}

impl GroupProtocol {
    /// `classic` or `consumer`, as `group.protocol` takes it (any case).
    pub fn parse(name: &str) -> Result<GroupProtocol> {
        match name.to_ascii_lowercase().as_str() {
            "classic" => Ok(GroupProtocol::Classic),
            "consumer" => Ok(GroupProtocol::Consumer),
            _ => Err(Error::Config(format!(
                "group protocol '{name}' is not known; use classic or consumer (KIP-848)"
            ))),
        }
    }
}

/// How a member joins and stays in its group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberConfig {
    pub protocol: GroupProtocol,
    /// `session.timeout.ms`: the coordinator drops a member it has not heard from for this long.
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms` (classic; a KIP-848 coordinator says how often itself).
    pub heartbeat_interval: Duration,
    /// `max.poll.interval.ms`: how long the coordinator waits for members to rejoin.
    pub rebalance_timeout: Duration,
    /// `partition.assignment.strategy`: offered in order of preference (classic).
    pub assignors: Vec<Assignor>,
    /// `group.instance.id`: a static member (KIP-345) keeps its partitions across restarts.
    pub instance_id: Option<String>,
    /// `group.remote.assignor`: the server-side assignor to ask for (KIP-848).
    pub remote_assignor: Option<String>,
}

impl Default for MemberConfig {
    fn default() -> Self {
        MemberConfig {
            protocol: GroupProtocol::Classic,
            session_timeout: Duration::from_millis(SESSION_TIMEOUT_MS_DEFAULT),
            heartbeat_interval: Duration::from_millis(HEARTBEAT_INTERVAL_MS_DEFAULT),
            rebalance_timeout: Duration::from_millis(REBALANCE_TIMEOUT_MS_DEFAULT),
            assignors: vec![Assignor::Range, Assignor::RoundRobin],
            instance_id: None,
            remote_assignor: None,
        }
    }
}

impl MemberConfig {
    /// The defaults with `props` applied in order; keys that are not a member's are skipped.
    pub fn from_properties(props: &[(String, String)]) -> Result<MemberConfig> {
        let mut config = MemberConfig::default();
        for (key, value) in props {
            config.apply(key, value.trim())?;
        }
        if config.heartbeat_interval >= config.session_timeout {
            return Err(Error::Config(format!(
                "heartbeat.interval.ms ({}) must be lower than session.timeout.ms ({})",
                config.heartbeat_interval.as_millis(),
                config.session_timeout.as_millis()
            )));
        }
        Ok(config)
    }

    fn apply(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "group.protocol" => self.protocol = GroupProtocol::parse(value)?,
            "session.timeout.ms" => self.session_timeout = millis(key, value)?,
            "heartbeat.interval.ms" => self.heartbeat_interval = millis(key, value)?,
            "max.poll.interval.ms" => self.rebalance_timeout = millis(key, value)?,
            "partition.assignment.strategy" => self.assignors = assignors(value)?,
            "group.instance.id" => {
                self.instance_id = Some(value.to_string()).filter(|v| !v.is_empty());
            }
            "group.remote.assignor" => {
                self.remote_assignor = Some(value.to_string()).filter(|v| !v.is_empty());
            }
            _ => {}
        }
        Ok(())
    }
}

fn millis(key: &str, value: &str) -> Result<Duration> {
    match value.parse::<u32>() {
        Ok(ms) if ms > 0 && i32::try_from(ms).is_ok() => Ok(Duration::from_millis(ms.into())),
        _ => Err(Error::Config(format!(
            "{key} '{value}' is not a positive number of milliseconds"
        ))),
    }
}

fn assignors(value: &str) -> Result<Vec<Assignor>> {
    let list = value
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(Assignor::parse)
        .collect::<Result<Vec<_>>>()?;
    if list.is_empty() {
        return Err(Error::Config(
            "partition.assignment.strategy is empty; use range, roundrobin or both".to_string(),
        ));
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kafka_keys_are_read_and_bad_values_named() {
        let c = MemberConfig::from_properties(&props(&[
            ("session.timeout.ms", "6000"),
            ("heartbeat.interval.ms", "500"),
            ("partition.assignment.strategy", "roundrobin, range"),
            ("group.instance.id", "ktui-1"),
            ("fetch.min.bytes", "1"),
        ]))
        .expect("config");
        assert_eq!(c.session_timeout, Duration::from_millis(6000));
        assert_eq!(c.assignors, vec![Assignor::RoundRobin, Assignor::Range]);
        assert_eq!(c.instance_id.as_deref(), Some("ktui-1"));
        for (k, v, said) in [
            ("session.timeout.ms", "soon", "'soon'"),
            ("partition.assignment.strategy", "sticky", "'sticky'"),
            (
                "heartbeat.interval.ms",
                "50000",
                "lower than session.timeout.ms",
            ),
            ("group.protocol", "modern", "'modern'"),
        ] {
            let e = MemberConfig::from_properties(&props(&[(k, v)])).expect_err(k);
            assert!(e.to_string().contains(said), "{e}");
        }
    }
}
