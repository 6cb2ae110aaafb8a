//! A follower's side of an incremental fetch session (KIP-227): the first fetch names every
//! partition and asks the leader for a session; later ones name only the partitions whose
//! position changed (and those to forget), so a follower of thousands of partitions sends a
//! short request when little moves. Any session error starts over with a full fetch.

use std::collections::BTreeMap;

/// Where a follower stands in one partition, as a fetch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Position {
    pub(super) fetch_offset: i64,
    pub(super) log_start_offset: i64,
    pub(super) leader_epoch: i32,
    pub(super) last_fetched_epoch: i32,
}

pub(super) type Key = (String, i32);

/// The next request's session fields and contents.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) session_id: i32,
    pub(super) epoch: i32,
    pub(super) send: Vec<(Key, Position)>,
    pub(super) forget: Vec<Key>,
    full: bool,
}

/// The session with one leader.
#[derive(Debug, Default)]
pub(super) struct FetchSession {
    id: i32,
    epoch: i32,
    sent: BTreeMap<Key, Position>,
}

impl FetchSession {
    /// What to send for `wanted`: everything when there is no session yet (epoch 0 asks the
    /// leader for one), else what changed.
    pub(super) fn plan(&self, wanted: &BTreeMap<Key, Position>) -> Plan {
        if self.id == 0 {
            return Plan {
                session_id: 0,
                epoch: 0,
                send: wanted.iter().map(|(k, p)| (k.clone(), *p)).collect(),
                forget: Vec::new(),
                full: true,
            };
        }
        Plan {
            session_id: self.id,
            epoch: self.epoch,
            send: wanted
                .iter()
                .filter(|(k, p)| self.sent.get(*k) != Some(*p))
                .map(|(k, p)| (k.clone(), *p))
                .collect(),
            forget: self
                .sent
                .keys()
                .filter(|k| !wanted.contains_key(*k))
                .cloned()
                .collect(),
            full: false,
        }
    }

    /// Takes the leader's answer to `plan`: its session id and top-level error.
    pub(super) fn answered(&mut self, plan: Plan, session_id: i32, error: i16) {
        if error != 0 {
            self.reset();
            return;
        }
        if plan.full {
            self.id = session_id;
            self.epoch = 1;
            self.sent = plan.send.into_iter().collect();
            return;
        }
        for key in plan.forget {
            let _ = self.sent.remove(&key);
        }
        self.sent.extend(plan.send);
        self.epoch = if self.epoch == i32::MAX {
            1
        } else {
            self.epoch + 1
        };
    }

    /// Forgets the session: the next fetch is full.
    pub(super) fn reset(&mut self) {
        *self = FetchSession::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: i64) -> Position {
        Position {
            fetch_offset: offset,
            log_start_offset: 0,
            leader_epoch: 1,
            last_fetched_epoch: 1,
        }
    }

    #[test]
    fn only_what_moved_is_sent_after_the_first_fetch() {
        let mut session = FetchSession::default();
        let mut wanted: BTreeMap<Key, Position> =
            (0..1000).map(|p| (("t".to_string(), p), at(0))).collect();
        let first = session.plan(&wanted);
        assert_eq!(
            (first.session_id, first.epoch, first.send.len()),
            (0, 0, 1000)
        );
        session.answered(first, 77, 0);
        let idle = session.plan(&wanted);
        assert_eq!((idle.session_id, idle.epoch), (77, 1));
        assert!(idle.send.is_empty() && idle.forget.is_empty());
        session.answered(idle, 77, 0);
        let _ = wanted.insert(("t".to_string(), 5), at(10));
        let _ = wanted.remove(&("t".to_string(), 6));
        let moved = session.plan(&wanted);
        assert_eq!(moved.epoch, 2);
        assert_eq!(moved.send, vec![(("t".to_string(), 5), at(10))]);
        assert_eq!(moved.forget, vec![("t".to_string(), 6)]);
        session.answered(moved, 77, 0);
        assert!(session.plan(&wanted).send.is_empty());
        // A session error starts over with a full fetch.
        let next = session.plan(&wanted);
        session.answered(next, 0, 70);
        assert_eq!(session.plan(&wanted).send.len(), 999);
    }
}
