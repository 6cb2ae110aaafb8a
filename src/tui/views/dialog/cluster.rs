//! The cluster dialogs' rules: a leader election (preferred, or unclean confirmed by typing
//! `unclean`), a partition's reassignment (new replica ids checked against the cluster's
//! brokers, previewed as `current → new`, then followed until ListPartitionReassignments no
//! longer lists it) and a local node's stop, kill or start (`y` to confirm).

use crate::tui::action::{BrokerOp, ElectionScope, Request};
use crate::tui::model::{ids, Reassigning};

/// What a reassign dialog knows of its move once submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Progress {
    /// Sent; no answer yet.
    Sent,
    /// Listed as in progress.
    Moving(Reassigning),
    /// Accepted and no longer listed.
    Complete,
    Failed(String),
}

/// The election request for the dialog's two fields.
pub(super) fn election(
    scope: &ElectionScope,
    kind: &str,
    confirm: &str,
) -> Result<Request, String> {
    match kind {
        "preferred" => Ok(Request::Elect {
            scope: scope.clone(),
            unclean: false,
        }),
        "unclean" if confirm == "unclean" => Ok(Request::Elect {
            scope: scope.clone(),
            unclean: true,
        }),
        "unclean" => Err("unclean may lose records: type unclean to confirm".into()),
        other => Err(format!("election '{other}' is not preferred or unclean")),
    }
}

/// Parses `2,3,4` (or `2 3 4`) as new replicas: distinct brokers of the cluster.
pub(super) fn new_replicas(text: &str, brokers: &[i32]) -> Result<Vec<i32>, String> {
    let mut out = Vec::new();
    for part in text.split([',', ' ']).filter(|p| !p.trim().is_empty()) {
        let id: i32 = part
            .trim()
            .parse()
            .map_err(|_| format!("broker id '{part}' is not a number"))?;
        if !brokers.contains(&id) {
            return Err(format!(
                "broker {id} is not an up broker of the cluster ({})",
                ids(brokers)
            ));
        }
        if out.contains(&id) {
            return Err(format!("broker {id} is named twice"));
        }
        out.push(id);
    }
    if out.is_empty() {
        return Err("name at least one broker".into());
    }
    Ok(out)
}

/// `1,2,3 → 2,3,4 (adds 4, drops 1; 2 leads)` for the preview line.
pub(super) fn preview(current: &[i32], new: &[i32]) -> String {
    let adds: Vec<i32> = new
        .iter()
        .filter(|r| !current.contains(r))
        .copied()
        .collect();
    let drops: Vec<i32> = current
        .iter()
        .filter(|r| !new.contains(r))
        .copied()
        .collect();
    let mut notes = Vec::new();
    if !adds.is_empty() {
        notes.push(format!("adds {}", ids(&adds)));
    }
    if !drops.is_empty() {
        notes.push(format!("drops {}", ids(&drops)));
    }
    if let Some(first) = new.first() {
        notes.push(format!("{first} is preferred leader"));
    }
    format!("{} → {} ({})", ids(current), ids(new), notes.join("; "))
}

/// The progress line.
pub(super) fn progress_text(progress: &Progress) -> String {
    match progress {
        Progress::Sent => "sent; waiting for the controller…".into(),
        Progress::Moving(r) => format!(
            "moving: replicas {} (adding {}, removing {}); following until done",
            ids(&r.replicas),
            if r.adding.is_empty() {
                "-".into()
            } else {
                ids(&r.adding)
            },
            if r.removing.is_empty() {
                "-".into()
            } else {
                ids(&r.removing)
            },
        ),
        Progress::Complete => {
            "complete: the new replicas are in sync and the old ones dropped".into()
        }
        Progress::Failed(e) => format!("failed: {e}"),
    }
}

/// The question a node dialog asks.
pub(super) fn broker_question(id: i32, op: BrokerOp) -> String {
    match op {
        BrokerOp::Stop => format!("Stop broker {id} with SIGTERM (a controlled shutdown)?"),
        BrokerOp::Kill => {
            format!("Kill broker {id} with SIGKILL (no shutdown; leaders fail over)?")
        }
        BrokerOp::Start => format!("Start broker {id} again, with its ports and data?"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unclean_elections_need_the_word() {
        let scope = ElectionScope::Partition("t".into(), 0);
        assert!(election(&scope, "preferred", "").is_ok());
        assert!(election(&scope, "unclean", "").is_err_and(|e| e.contains("type unclean")));
        assert_eq!(
            election(&scope, "unclean", "unclean"),
            Ok(Request::Elect {
                scope: scope.clone(),
                unclean: true
            })
        );
        assert!(election(&scope, "random", "").is_err_and(|e| e.contains("'random'")));
    }

    #[test]
    fn new_replicas_are_checked_and_previewed() {
        let brokers = [1, 2, 3, 4];
        assert_eq!(new_replicas("2, 3,4", &brokers), Ok(vec![2, 3, 4]));
        assert!(new_replicas("2,9", &brokers).is_err_and(|e| e.contains("broker 9")));
        assert!(new_replicas("2,2", &brokers).is_err_and(|e| e.contains("twice")));
        assert!(new_replicas("x", &brokers).is_err_and(|e| e.contains("'x'")));
        assert!(new_replicas(" ", &brokers).is_err());
        assert_eq!(
            preview(&[1, 2, 3], &[2, 3, 4]),
            "1,2,3 → 2,3,4 (adds 4; drops 1; 2 is preferred leader)"
        );
    }
}
