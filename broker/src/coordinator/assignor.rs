//! Server-side assignors of the consumer group protocol (KIP-848): `uniform`, Kafka's default,
//! which balances partitions across the members subscribed to them and keeps each member's
//! current partitions where balance allows; and `range`, which gives each member contiguous
//! ranges of every topic it subscribes to, as the classic range assignor does.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use uuid::Uuid;

/// Partitions by topic id.
pub type Assignment = BTreeMap<Uuid, BTreeSet<i32>>;

/// The assignors served, the first being the default.
pub const ASSIGNORS: &[&str] = &["uniform", "range"];

/// A member as an assignor sees it.
#[derive(Debug, Clone)]
pub struct Subscriber<'a> {
    pub member_id: &'a str,
    pub topics: &'a BTreeSet<String>,
    pub current: &'a Assignment,
}

/// Topic name → (topic id, partition count), for the topics some member subscribes to.
pub type TopicsMetadata = BTreeMap<String, (Uuid, i32)>;

/// Runs the named assignor. Every member gets an entry, possibly empty.
pub fn assign(
    assignor: &str,
    members: &[Subscriber<'_>],
    topics: &TopicsMetadata,
) -> HashMap<String, Assignment> {
    match assignor {
        "range" => range(members, topics),
        _ => uniform(members, topics),
    }
}

fn uniform(members: &[Subscriber<'_>], topics: &TopicsMetadata) -> HashMap<String, Assignment> {
    let mut out: HashMap<String, Assignment> = members
        .iter()
        .map(|m| (m.member_id.to_string(), Assignment::new()))
        .collect();
    let mut counts: HashMap<&str, usize> = members.iter().map(|m| (m.member_id, 0)).collect();
    // Partitions in a fixed order, each with the members subscribed to its topic.
    let mut partitions: Vec<(Uuid, i32, Vec<&str>)> = Vec::new();
    for (name, (id, count)) in topics {
        let candidates: Vec<&str> = members
            .iter()
            .filter(|m| m.topics.contains(name))
            .map(|m| m.member_id)
            .collect();
        if candidates.is_empty() {
            continue;
        }
        for p in 0..*count {
            partitions.push((*id, p, candidates.clone()));
        }
    }
    // The share each member may hold: the partitions its candidate set could take, over the
    // size of that set. Computed once per distinct candidate set (one, when every member
    // subscribes to the same topics).
    let mut shares: HashMap<Vec<&str>, usize> = HashMap::new();
    for (_, _, candidates) in &partitions {
        if shares.contains_key(candidates) {
            continue;
        }
        let total = partitions
            .iter()
            .filter(|(_, _, c)| c.iter().any(|m| candidates.contains(m)))
            .count();
        shares.insert(candidates.clone(), total.div_ceil(candidates.len().max(1)));
    }
    let share = |candidates: &Vec<&str>| shares.get(candidates).copied().unwrap_or(0);
    let owner_of = |id: &Uuid, p: i32| -> Option<&str> {
        members
            .iter()
            .find(|m| m.current.get(id).is_some_and(|s| s.contains(&p)))
            .map(|m| m.member_id)
    };
    let mut unplaced = Vec::new();
    // First keep current owners while they stay within their share.
    for (id, p, candidates) in &partitions {
        let limit = share(candidates);
        match owner_of(id, *p) {
            Some(owner) if candidates.contains(&owner) && counts[owner] < limit => {
                *counts.entry(owner).or_default() += 1;
                out.entry(owner.to_string())
                    .or_default()
                    .entry(*id)
                    .or_default()
                    .insert(*p);
            }
            _ => unplaced.push((*id, *p, candidates.clone())),
        }
    }
    // Then give each remaining partition to its least-loaded candidate.
    for (id, p, candidates) in unplaced {
        let Some(least) = candidates
            .iter()
            .min_by_key(|m| (counts[**m], **m))
            .copied()
        else {
            continue;
        };
        *counts.entry(least).or_default() += 1;
        out.entry(least.to_string())
            .or_default()
            .entry(id)
            .or_default()
            .insert(p);
    }
    out
}

fn range(members: &[Subscriber<'_>], topics: &TopicsMetadata) -> HashMap<String, Assignment> {
    let mut out: HashMap<String, Assignment> = members
        .iter()
        .map(|m| (m.member_id.to_string(), Assignment::new()))
        .collect();
    for (name, (id, count)) in topics {
        let mut subscribed: Vec<&str> = members
            .iter()
            .filter(|m| m.topics.contains(name))
            .map(|m| m.member_id)
            .collect();
        if subscribed.is_empty() {
            continue;
        }
        subscribed.sort_unstable();
        let n = subscribed.len() as i32;
        let (base, extra) = (count / n, count % n);
        let mut next = 0;
        for (i, member) in subscribed.iter().enumerate() {
            let take = base + i32::from((i as i32) < extra);
            let set: BTreeSet<i32> = (next..next + take).collect();
            next += take;
            if !set.is_empty() {
                out.entry(member.to_string()).or_default().insert(*id, set);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(list: &[(&str, i32)]) -> (TopicsMetadata, Vec<Uuid>) {
        let ids: Vec<Uuid> = list.iter().map(|_| Uuid::new_v4()).collect();
        let meta = list
            .iter()
            .zip(&ids)
            .map(|((n, c), id)| (n.to_string(), (*id, *c)))
            .collect();
        (meta, ids)
    }

    fn count(a: &Assignment) -> usize {
        a.values().map(BTreeSet::len).sum()
    }

    #[test]
    fn uniform_balances_and_covers_every_partition() {
        let (meta, _) = topics(&[("a", 6), ("b", 1)]);
        let subs: BTreeSet<String> = ["a".to_string(), "b".to_string()].into();
        let empty = Assignment::new();
        let members: Vec<Subscriber<'_>> = ["m1", "m2", "m3"]
            .iter()
            .map(|id| Subscriber {
                member_id: id,
                topics: &subs,
                current: &empty,
            })
            .collect();
        let out = assign("uniform", &members, &meta);
        let sizes: Vec<usize> = ["m1", "m2", "m3"].iter().map(|m| count(&out[*m])).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 7);
        assert!(sizes.iter().all(|s| (2..=3).contains(s)), "{sizes:?}");
    }

    #[test]
    fn uniform_keeps_current_owners_when_a_member_joins() {
        let (meta, ids) = topics(&[("a", 4)]);
        let subs: BTreeSet<String> = ["a".to_string()].into();
        let held: Assignment = [(ids[0], (0..4).collect())].into();
        let empty = Assignment::new();
        let members = vec![
            Subscriber {
                member_id: "old",
                topics: &subs,
                current: &held,
            },
            Subscriber {
                member_id: "new",
                topics: &subs,
                current: &empty,
            },
        ];
        let out = assign("uniform", &members, &meta);
        assert_eq!(count(&out["old"]), 2);
        assert_eq!(count(&out["new"]), 2);
        assert!(out["old"][&ids[0]].is_subset(&(0..4).collect()));
    }

    #[test]
    fn range_gives_contiguous_ranges_per_topic() {
        let (meta, ids) = topics(&[("a", 5)]);
        let subs: BTreeSet<String> = ["a".to_string()].into();
        let empty = Assignment::new();
        let members: Vec<Subscriber<'_>> = ["x", "y"]
            .iter()
            .map(|id| Subscriber {
                member_id: id,
                topics: &subs,
                current: &empty,
            })
            .collect();
        let out = assign("range", &members, &meta);
        assert_eq!(out["x"][&ids[0]], [0, 1, 2].into());
        assert_eq!(out["y"][&ids[0]], [3, 4].into());
    }
}
