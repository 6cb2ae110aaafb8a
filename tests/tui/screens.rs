//! One snapshot per screen, dialog and overlay, at each of [`SIZES`], from fixture data.

use std::time::Duration;

use ktui::tui::event::{ConnState, Event, Update};
use ratatui::crossterm::event::KeyCode;

use crate::fixtures::{self, at, Harness, SIZES};

/// Builds the scene at every size and compares each drawing with its snapshot.
fn scene(name: &str, read_only: bool, build: impl Fn(&mut Harness)) {
    for size in SIZES {
        let mut h = Harness::new(size, read_only);
        build(&mut h);
        let terminal = h.draw();
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), terminal.backend());
    }
}

#[test]
fn topics() {
    scene("topics", false, |h| {
        h.data(Update::Groups(fixtures::groups(), at(1)));
    });
}

#[test]
fn topics_unhealthy_only() {
    scene("topics_unhealthy", false, |h| {
        h.command("topics urp");
        h.data(Update::Cluster(fixtures::cluster(), at(1)));
    });
}

#[test]
fn topics_filtered_with_internal_sorted_by_messages() {
    scene("topics_filtered", false, |h| {
        h.keys("i");
        h.keys("sss");
        h.keys("/o");
        h.key(KeyCode::Enter);
    });
}

#[test]
fn topic_partitions() {
    scene("topic_partitions", false, |h| {
        h.command("topic orders");
        h.data(Update::Topic(fixtures::topic_detail(), at(2)));
    });
}

#[test]
fn topic_configs_non_default_first() {
    scene("topic_configs", false, |h| {
        h.command("topic orders");
        h.data(Update::Topic(fixtures::topic_detail(), at(2)));
        h.key(KeyCode::Tab);
    });
}

#[test]
fn topic_groups() {
    scene("topic_groups", false, |h| {
        h.command("topic orders");
        h.data(Update::Topic(fixtures::topic_detail(), at(2)));
        h.key(KeyCode::Tab);
        h.key(KeyCode::Tab);
    });
}

#[test]
fn brokers() {
    scene("brokers", false, |h| {
        h.command("brokers");
        h.data(Update::Cluster(fixtures::cluster(), at(1)));
        h.data(Update::LogDirs(fixtures::log_dirs()));
    });
}

#[test]
fn brokers_after_a_failure_with_events_flagged() {
    scene("brokers_after_failure", false, |h| {
        h.command("brokers");
        h.data(Update::Cluster(fixtures::cluster_after_failure(), at(3)));
        h.data(Update::LogDirs(fixtures::log_dirs()));
        h.keys("j");
    });
}

#[test]
fn events() {
    scene("events", false, |h| {
        h.data(Update::Groups(fixtures::groups(), at(1)));
        h.data(Update::Cluster(fixtures::cluster_after_failure(), at(3)));
        let mut later = fixtures::groups();
        later[1].state = "PreparingRebalance".into();
        later[1].members = 2;
        later[1].lag = Some(4_000);
        h.data(Update::Groups(later, at(5)));
        h.command("events");
    });
}

#[test]
fn events_filtered() {
    scene("events_filtered", false, |h| {
        h.data(Update::Cluster(fixtures::cluster_after_failure(), at(3)));
        h.command("events");
        h.keys("/leader");
        h.key(KeyCode::Enter);
    });
}

#[test]
fn dialog_preferred_election() {
    scene("dialog_elect", false, |h| {
        h.command("topic orders");
        h.data(Update::Topic(fixtures::topic_detail(), at(2)));
        h.keys("jE");
    });
}

#[test]
fn dialog_unclean_election_wants_the_word() {
    scene("dialog_elect_unclean", false, |h| {
        h.command("elect orders 2");
        h.ctrl('u');
        h.keys("unclean");
        h.key(KeyCode::Enter);
    });
}

#[test]
fn dialog_reassign_preview() {
    scene("dialog_reassign", false, |h| {
        h.data(Update::Cluster(fixtures::cluster_after_failure(), at(1)));
        h.command("topic orders");
        h.data(Update::Topic(fixtures::topic_detail(), at(2)));
        h.keys("jR");
        h.ctrl('u');
        h.keys("3,1");
    });
}

#[test]
fn dialog_reassign_following_the_move() {
    scene("dialog_reassign_moving", false, |h| {
        h.data(Update::Cluster(fixtures::cluster_after_failure(), at(1)));
        h.command("topic orders");
        h.data(Update::Topic(fixtures::topic_detail(), at(2)));
        h.keys("jR");
        h.ctrl('u');
        h.keys("3,1");
        h.key(KeyCode::Enter);
        h.data(Update::Reassignments(vec![ktui::tui::model::Reassigning {
            topic: "orders".into(),
            partition: 1,
            replicas: vec![3, 1, 2],
            adding: Vec::new(),
            removing: vec![2],
        }]));
    });
}

#[test]
fn dialog_stop_broker() {
    scene("dialog_stop_broker", false, |h| {
        h.command("brokers");
        h.data(Update::Cluster(fixtures::cluster(), at(1)));
        h.keys("jx");
    });
}

#[test]
fn groups_sorted_by_lag() {
    scene("groups", false, |h| {
        h.command("groups");
        h.data(Update::Groups(fixtures::groups(), at(4)));
    });
}

#[test]
fn group_with_lag_trend() {
    scene("group", false, |h| {
        h.command("group billing");
        for (i, lag) in [300, 600, 450, 900, 1200, 1500].into_iter().enumerate() {
            h.data(Update::Group(fixtures::group_detail(lag), at(2 * i as u64)));
        }
    });
}

#[test]
fn tail_with_detail_pane() {
    scene("tail", false, |h| {
        h.command("tail orders beginning");
        h.data(Update::TailRecords {
            records: fixtures::tail_records(),
            dropped: 0,
            permit: None,
        });
        h.keys("kkk");
        h.key(KeyCode::Enter);
    });
}

#[test]
fn tail_binary_record_detail() {
    scene("tail_binary", false, |h| {
        h.command("tail orders");
        h.data(Update::TailRecords {
            records: fixtures::tail_records(),
            dropped: 3,
            permit: None,
        });
        h.keys("k");
        h.key(KeyCode::Enter);
        h.keys(" ");
    });
}

#[test]
fn produce_form() {
    scene("produce", false, |h| {
        h.command("produce orders");
        h.keys("1");
        h.key(KeyCode::Tab);
        h.keys("user-7");
        h.key(KeyCode::Tab);
        h.keys("source=console,trace=1");
        h.key(KeyCode::Tab);
        h.keys("{\"id\": 7,");
        h.key(KeyCode::Enter);
        h.keys(" \"total\": 3}");
        h.data(Update::Produced {
            partition: 1,
            offset: 14_100,
        });
    });
}

#[test]
fn help_overlay() {
    scene("help", false, |h| h.keys("?"));
}

#[test]
fn help_overlay_read_only() {
    scene("help_read_only", true, |h| h.keys("?"));
}

#[test]
fn command_line() {
    scene("command_line", false, |h| {
        h.keys(":tail ord");
    });
}

#[test]
fn connection_lost_banner() {
    scene("connection_lost", false, |h| {
        let retry_at = h.start + Duration::from_secs(5);
        h.data(Update::Connection(ConnState::Lost {
            error: "cannot connect to 127.0.0.1:9092: Connection refused".into(),
            retry_at,
        }));
        h.app.handle(Event::Tick(h.start + Duration::from_secs(10)));
    });
}

#[test]
fn dialog_create_topic() {
    scene("dialog_create_topic", false, |h| {
        h.keys("c");
        h.keys("events");
        h.key(KeyCode::Tab);
        h.key(KeyCode::Backspace);
        h.keys("6");
    });
}

#[test]
fn dialog_delete_topic() {
    scene("dialog_delete_topic", false, |h| {
        h.keys("d");
        h.keys("clic");
        h.key(KeyCode::Enter);
    });
}

#[test]
fn dialog_alter_config() {
    scene("dialog_alter_config", false, |h| {
        h.command("topic orders");
        h.data(Update::Topic(fixtures::topic_detail(), at(2)));
        h.key(KeyCode::Tab);
        h.keys("e");
    });
}

#[test]
fn dialog_add_partitions() {
    scene("dialog_add_partitions", false, |h| {
        h.command("topic orders");
        h.data(Update::Topic(fixtures::topic_detail(), at(2)));
        h.keys("a");
    });
}

#[test]
fn dialog_reset_offsets_preview() {
    scene("dialog_reset_offsets", false, |h| {
        h.command("groups");
        h.data(Update::Groups(fixtures::groups(), at(4)));
        h.keys("jo");
        h.ctrl('u');
        h.key(KeyCode::Tab);
        h.ctrl('u');
        h.keys("shift -100");
        h.key(KeyCode::Enter);
        h.data(Update::ResetPreview {
            group: "billing".into(),
            rows: crate::keys::preview_rows(),
        });
    });
}

#[test]
fn dialog_delete_group() {
    scene("dialog_delete_group", false, |h| {
        h.command("groups");
        h.data(Update::Groups(fixtures::groups(), at(4)));
        h.keys("jjd");
    });
}

/// The README's screenshot is this snapshot, blank rows left out: a change to the screen
/// that is not carried to the README fails here.
#[test]
fn the_readme_screenshot_is_the_current_snapshot() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    let snap = std::fs::read_to_string(format!(
        "{root}/tests/tui/snapshots/tui__screens__brokers_after_failure_100x30.snap"
    ))
    .expect("snapshot");
    let drawn: Vec<String> = snap
        .lines()
        .skip_while(|l| !l.starts_with('"'))
        .map(|l| l.trim_matches('"').trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let shown: Vec<String> = readme
        .split("```text\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a ```text block in README.md")
        .lines()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        shown, drawn,
        "README.md's screenshot differs from the snapshot"
    );
}

#[test]
fn acls_by_principal() {
    scene("acls", false, |h| {
        h.command("acls");
        h.data(Update::Acls(fixtures::acls(), at(2)));
    });
}

#[test]
fn users_with_mechanisms_and_no_secrets() {
    scene("users", false, |h| {
        h.command("users");
        h.data(Update::Users(fixtures::users(), at(2)));
    });
}

#[test]
fn dialog_create_acl() {
    scene("dialog_create_acl", false, |h| {
        h.command("acls");
        h.data(Update::Acls(fixtures::acls(), at(2)));
        h.keys("c");
        h.keys("alice");
    });
}

#[test]
fn dialog_delete_acl() {
    scene("dialog_delete_acl", false, |h| {
        h.command("acls");
        h.data(Update::Acls(fixtures::acls(), at(2)));
        h.keys("jjjd");
    });
}

#[test]
fn dialog_set_password_masks_it() {
    scene("dialog_set_password", false, |h| {
        h.command("users");
        h.data(Update::Users(fixtures::users(), at(2)));
        h.keys("jc");
        h.key(KeyCode::Tab);
        h.key(KeyCode::Tab);
        h.keys("hunter2");
    });
}

#[test]
fn transactions_longest_open_first_overdue_marked() {
    scene("transactions", false, |h| {
        h.command("transactions");
        h.data(Update::Transactions(fixtures::transactions(), at(2)));
        h.key(KeyCode::Enter);
    });
}

#[test]
fn dialog_abort_transaction() {
    scene("dialog_abort_transaction", false, |h| {
        h.command("transactions");
        h.data(Update::Transactions(fixtures::transactions(), at(2)));
        h.keys("a");
    });
}

#[test]
fn tail_with_control_records_shown() {
    scene("tail_control_records", false, |h| {
        h.command("tail orders beginning");
        h.data(Update::TailRecords {
            records: fixtures::tail_records_with_markers(),
            dropped: 0,
            permit: None,
        });
        h.keys("c");
    });
}
