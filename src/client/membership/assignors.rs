//! Client-side assignors of the classic protocol, computed by the group's leader for every
//! member: Kafka's `range` (per topic, consecutive runs of partitions, the first members
//! taking one more when the count does not divide) and `roundrobin` (every subscribed partition
//! of every topic dealt in turn to the members subscribed to its topic). Members are ordered as
//! Kafka orders them: static members first by `group.instance.id`, then the others by member
//! id. Pure functions; the bytes they travel in live in [`super::subscription`].

use std::collections::BTreeMap;

use crate::client::admin::TopicPartition;
use crate::error::{Error, Result};

/// An assignor a member offers (`partition.assignment.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignor {
    Range,
    RoundRobin,
}

impl Assignor {
    /// The protocol name in JoinGroup, as the Java consumer and librdkafka name it.
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
        }
    }

    /// A protocol name, or a Java assignor class name.
    pub fn parse(name: &str) -> Result<Assignor> {
        match name {
            "range" | "org.apache.kafka.clients.consumer.RangeAssignor" => Ok(Assignor::Range),
            "roundrobin" | "org.apache.kafka.clients.consumer.RoundRobinAssignor" => {
                Ok(Assignor::RoundRobin)
            }
            _ => Err(Error::Config(format!(
                "partition assignor '{name}' is not one ktui offers; use range or roundrobin"
            ))),
        }
    }

    /// Each member's partitions, given every member's subscription and each topic's
    /// partition count (topics missing from `partitions` have none to give).
    pub fn assign(
        self,
        members: &[Subscriber],
        partitions: &BTreeMap<String, i32>,
    ) -> BTreeMap<String, Vec<TopicPartition>> {
        let mut ordered: Vec<&Subscriber> = members.iter().collect();
        ordered.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        let mut out: BTreeMap<String, Vec<TopicPartition>> = ordered
            .iter()
            .map(|m| (m.member_id.clone(), Vec::new()))
            .collect();
        match self {
            Assignor::Range => range(&ordered, partitions, &mut out),
            Assignor::RoundRobin => round_robin(&ordered, partitions, &mut out),
        }
        out
    }
}

/// A member as the leader sees it in the JoinGroup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub topics: Vec<String>,
}

impl Subscriber {
    /// Kafka's member order: static members (by instance id) before dynamic ones (by id).
    fn order_key(&self) -> (bool, &str, &str) {
        match &self.instance_id {
            Some(instance) => (false, instance.as_str(), self.member_id.as_str()),
            None => (true, self.member_id.as_str(), ""),
        }
    }

    fn wants(&self, topic: &str) -> bool {
        self.topics.iter().any(|t| t == topic)
    }
}

fn range(
    ordered: &[&Subscriber],
    partitions: &BTreeMap<String, i32>,
    out: &mut BTreeMap<String, Vec<TopicPartition>>,
) {
    for (topic, count) in partitions {
        let takers: Vec<&&Subscriber> = ordered.iter().filter(|m| m.wants(topic)).collect();
        if takers.is_empty() {
            continue;
        }
        let (count, members) = (*count as usize, takers.len());
        let (each, extra) = (count / members, count % members);
        let mut next = 0;
        for (i, member) in takers.iter().enumerate() {
            let take = each + usize::from(i < extra);
            let share = out.entry(member.member_id.clone()).or_default();
            share.extend((next..next + take).map(|p| (topic.clone(), p as i32)));
            next += take;
        }
        assert_eq!(next, count, "range gives every partition of '{topic}' once");
    }
}

fn round_robin(
    ordered: &[&Subscriber],
    partitions: &BTreeMap<String, i32>,
    out: &mut BTreeMap<String, Vec<TopicPartition>>,
) {
    if ordered.is_empty() {
        return;
    }
    let mut turn = 0;
    for (topic, count) in partitions {
        if !ordered.iter().any(|m| m.wants(topic)) {
            continue;
        }
        for p in 0..*count {
            while !ordered[turn % ordered.len()].wants(topic) {
                turn += 1;
            }
            let member = &ordered[turn % ordered.len()].member_id;
            out.entry(member.clone())
                .or_default()
                .push((topic.clone(), p));
            turn += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, topics: &[&str]) -> Subscriber {
        Subscriber {
            member_id: id.to_string(),
            instance_id: None,
            topics: topics.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn counts(pairs: &[(&str, i32)]) -> BTreeMap<String, i32> {
        pairs.iter().map(|(t, n)| (t.to_string(), *n)).collect()
    }

    fn tps(pairs: &[(&str, i32)]) -> Vec<TopicPartition> {
        pairs.iter().map(|(t, p)| (t.to_string(), *p)).collect()
    }

    /// Kafka's RangeAssignor example: two members, two topics of three partitions.
    #[test]
    fn range_gives_runs_per_topic_with_the_first_members_taking_the_rest() {
        let members = [member("c1", &["t0", "t1"]), member("c0", &["t0", "t1"])];
        let got = Assignor::Range.assign(&members, &counts(&[("t0", 3), ("t1", 3)]));
        assert_eq!(
            got["c0"],
            tps(&[("t0", 0), ("t0", 1), ("t1", 0), ("t1", 1)])
        );
        assert_eq!(got["c1"], tps(&[("t0", 2), ("t1", 2)]));
        let four = Assignor::Range.assign(&members[..], &counts(&[("t0", 4)]));
        assert_eq!(four["c0"], tps(&[("t0", 0), ("t0", 1)]));
        assert_eq!(four["c1"], tps(&[("t0", 2), ("t0", 3)]));
    }

    /// Kafka's RoundRobinAssignor example, and members subscribed to different topics.
    #[test]
    fn round_robin_deals_partitions_in_turn_to_members_of_their_topic() {
        let members = [member("c0", &["t0", "t1"]), member("c1", &["t0", "t1"])];
        let got = Assignor::RoundRobin.assign(&members, &counts(&[("t0", 3), ("t1", 3)]));
        assert_eq!(got["c0"], tps(&[("t0", 0), ("t0", 2), ("t1", 1)]));
        assert_eq!(got["c1"], tps(&[("t0", 1), ("t1", 0), ("t1", 2)]));
        let mixed = [member("a", &["t0"]), member("b", &["t0", "t1"])];
        let got = Assignor::RoundRobin.assign(&mixed, &counts(&[("t0", 2), ("t1", 2)]));
        assert_eq!(got["a"], tps(&[("t0", 0)]));
        assert_eq!(got["b"], tps(&[("t0", 1), ("t1", 0), ("t1", 1)]));
    }

    #[test]
    fn static_members_come_first_and_missing_topics_give_nothing() {
        let mut s = member("zzz", &["t"]);
        s.instance_id = Some("i".to_string());
        let members = [member("aaa", &["t"]), s];
        let got = Assignor::Range.assign(&members, &counts(&[("t", 3)]));
        assert_eq!(got["zzz"], tps(&[("t", 0), ("t", 1)]));
        assert_eq!(got["aaa"], tps(&[("t", 2)]));
        let none = Assignor::Range.assign(&members, &counts(&[]));
        assert!(none.values().all(Vec::is_empty));
        assert!(Assignor::parse("cooperative-sticky").is_err());
    }
}
