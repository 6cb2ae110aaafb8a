//! Kafka's replica placement for proposed assignments (`AdminUtils.assignReplicasToBrokers`,
//! which `kafka-reassign-partitions.sh --generate` uses), written from its description:
//!
//! - Rack-unaware: the first replica of each partition goes round-robin over the brokers from
//!   a start index; the others follow it at a shift that grows by one each time the round-robin
//!   wraps, so that the followers of one broker's partitions spread over the others.
//! - Rack-aware (every broker has a rack): the same over a broker list that alternates between
//!   racks (racks in name order, brokers by id within one), a follower being skipped while it
//!   would put a second replica on a rack, or a broker, when another is still without one.
//!
//! Kafka picks the start index and the shift at random; [`Start`] lets tests fix them.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};

/// A broker that may receive replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: i32,
    pub rack: Option<String>,
}

/// Where the round-robin starts and the followers' first shift, both below the broker count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    pub index: usize,
    pub shift: usize,
}

impl Start {
    /// Kafka's choice: both at random.
    pub fn random(brokers: usize) -> Start {
        let n = brokers.max(1);
        Start {
            index: fastrand::usize(..n),
            shift: fastrand::usize(..n),
        }
    }
}

/// Replicas for partitions `0..partitions`, `replication_factor` each, over `brokers`
/// (their order is ignored: brokers are taken by id). Rack-aware when every broker has a rack,
/// rack-unaware when none has; an error when only some have, or for a count out of range.
pub fn assign(
    brokers: &[Candidate],
    partitions: usize,
    replication_factor: usize,
    start: Start,
) -> Result<Vec<Vec<i32>>> {
    if partitions == 0 {
        return Err(Error::Invalid(
            "Number of partitions must be larger than 0.".into(),
        ));
    }
    if replication_factor == 0 {
        return Err(Error::Invalid(
            "Replication factor must be larger than 0.".into(),
        ));
    }
    if replication_factor > brokers.len() {
        return Err(Error::Invalid(format!(
            "Replication factor: {replication_factor} larger than available brokers: {}.",
            brokers.len()
        )));
    }
    let mut sorted = brokers.to_vec();
    sorted.sort_by_key(|b| b.id);
    let racked = sorted.iter().filter(|b| b.rack.is_some()).count();
    let assigned = if racked == 0 {
        let ids: Vec<i32> = sorted.iter().map(|b| b.id).collect();
        rack_unaware(&ids, partitions, replication_factor, start)
    } else if racked == sorted.len() {
        rack_aware(&sorted, partitions, replication_factor, start)
    } else {
        return Err(Error::Invalid(
            "Not all brokers have rack information for replica rack aware assignment.".into(),
        ));
    };
    debug_assert!(assigned.iter().all(|r| r.len() == replication_factor));
    Ok(assigned)
}

/// Index into the broker list of follower `j` of a partition whose first replica is at `first`.
fn follower_index(first: usize, shift: usize, j: usize, brokers: usize) -> usize {
    debug_assert!(brokers > 1);
    (first + 1 + (shift + j) % (brokers - 1)) % brokers
}

fn rack_unaware(ids: &[i32], partitions: usize, rf: usize, start: Start) -> Vec<Vec<i32>> {
    let n = ids.len();
    let mut shift = start.shift;
    (0..partitions)
        .map(|p| {
            if p > 0 && p % n == 0 {
                shift += 1;
            }
            let first = (p + start.index) % n;
            let mut replicas = vec![ids[first]];
            replicas.extend((0..rf - 1).map(|j| ids[follower_index(first, shift, j, n)]));
            replicas
        })
        .collect()
}

/// Brokers alternating between racks: the first of each rack (racks in name order), then the
/// second of each, and so on.
fn rack_alternated(brokers: &[Candidate]) -> Vec<i32> {
    let mut by_rack: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for b in brokers {
        by_rack
            .entry(b.rack.as_deref().unwrap_or_default())
            .or_default()
            .push(b.id);
    }
    let mut order = Vec::with_capacity(brokers.len());
    for round in 0.. {
        let before = order.len();
        order.extend(by_rack.values().filter_map(|ids| ids.get(round).copied()));
        if order.len() == before {
            break;
        }
    }
    order
}

fn rack_aware(brokers: &[Candidate], partitions: usize, rf: usize, start: Start) -> Vec<Vec<i32>> {
    let rack_of: BTreeMap<i32, &str> = brokers
        .iter()
        .map(|b| (b.id, b.rack.as_deref().unwrap_or_default()))
        .collect();
    let racks = rack_of.values().collect::<BTreeSet<_>>().len();
    let arranged = rack_alternated(brokers);
    let n = arranged.len();
    let mut shift = start.shift;
    (0..partitions)
        .map(|p| {
            if p > 0 && p % n == 0 {
                shift += 1;
            }
            let first = (p + start.index) % n;
            let leader = arranged[first];
            let mut replicas = vec![leader];
            let mut racks_used = BTreeSet::from([rack_of[&leader]]);
            let mut k = 0;
            for _ in 1..rf {
                // Every broker but the first comes up within n - 1 steps of k.
                let mut steps = 0;
                loop {
                    assert!(steps < n, "a follower is found among {n} brokers");
                    let broker = arranged[follower_index(first, shift * racks, k, n)];
                    let rack = rack_of[&broker];
                    k += 1;
                    steps += 1;
                    let rack_ok = !racks_used.contains(rack) || racks_used.len() == racks;
                    let broker_ok = !replicas.contains(&broker) || replicas.len() == n;
                    if rack_ok && broker_ok {
                        replicas.push(broker);
                        let _ = racks_used.insert(rack);
                        break;
                    }
                }
            }
            replicas
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brokers(racks: &[(i32, Option<&str>)]) -> Vec<Candidate> {
        racks
            .iter()
            .map(|(id, rack)| Candidate {
                id: *id,
                rack: rack.map(str::to_string),
            })
            .collect()
    }

    const FIXED: Start = Start { index: 0, shift: 0 };

    /// Kafka's documented example: five brokers, ten partitions, three replicas, start 0.
    #[test]
    fn rack_unaware_placement_shifts_followers_after_each_round() {
        let five = brokers(&[(0, None), (1, None), (2, None), (3, None), (4, None)]);
        let a = assign(&five, 10, 3, FIXED).expect("assign");
        assert_eq!(a[0], vec![0, 1, 2]);
        assert_eq!(a[4], vec![4, 0, 1]);
        assert_eq!(a[5], vec![0, 2, 3]);
        assert_eq!(a[9], vec![4, 1, 2]);
        for replicas in &a {
            let distinct: BTreeSet<_> = replicas.iter().collect();
            assert_eq!(distinct.len(), 3, "{replicas:?}");
        }
        let leaders: Vec<i32> = a.iter().map(|r| r[0]).collect();
        assert_eq!(leaders, vec![0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
    }

    /// Kafka's documented rack example: brokers 0..5 on rack1, rack3, rack3, rack2, rack2,
    /// rack1 alternate as 0, 3, 1, 5, 4, 2; the seventh partition shifts its followers.
    #[test]
    fn rack_aware_placement_alternates_racks() {
        let six = brokers(&[
            (0, Some("rack1")),
            (1, Some("rack3")),
            (2, Some("rack3")),
            (3, Some("rack2")),
            (4, Some("rack2")),
            (5, Some("rack1")),
        ]);
        assert_eq!(rack_alternated(&six), vec![0, 3, 1, 5, 4, 2]);
        let a = assign(&six, 7, 3, FIXED).expect("assign");
        assert_eq!(a[0], vec![0, 3, 1]);
        assert_eq!(a[1], vec![3, 1, 5]);
        assert_eq!(a[5], vec![2, 0, 3]);
        assert_eq!(a[6], vec![0, 4, 2]);
    }

    #[test]
    fn counts_out_of_range_and_partial_racks_are_refused() {
        let two = brokers(&[(1, None), (2, None)]);
        let e = assign(&two, 3, 3, FIXED).expect_err("rf 3 on 2");
        assert_eq!(
            e.to_string(),
            "Replication factor: 3 larger than available brokers: 2."
        );
        assert!(assign(&two, 0, 1, FIXED).is_err());
        assert!(assign(&two, 1, 0, FIXED).is_err());
        let mixed = brokers(&[(1, Some("a")), (2, None)]);
        assert!(assign(&mixed, 1, 1, FIXED).is_err());
        let one = brokers(&[(7, None)]);
        assert_eq!(
            assign(&one, 2, 1, FIXED).expect("rf 1"),
            vec![vec![7], vec![7]]
        );
        let random = assign(&two, 4, 2, Start::random(2)).expect("random start");
        assert!(random.iter().all(|r| r.len() == 2 && r[0] != r[1]));
    }
}
