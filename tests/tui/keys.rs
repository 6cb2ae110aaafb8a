//! Key sequences through the app state machine: navigation, filter, sort, command mode,
//! confirm dialogs, read-only mode, mouse, and connection recovery; asserting the stack, the
//! requests handed to background tasks and what the screen shows.

use std::time::Duration;

use ktui::client::isolation::IsolationLevel;
use ktui::client::tail::Reading;
use ktui::tui::action::{BrokerOp, ElectionScope, Request, ResetSpec, Route, TailStart, TxnAbort};
use ktui::tui::app::Mode;
use ktui::tui::event::{ConnState, Event, Subject, Update};
use ktui::tui::model::ResetRow;
use ratatui::crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use crate::fixtures::{self, at, Harness};

const SIZE: (u16, u16) = (100, 30);

pub fn preview_rows() -> Vec<ResetRow> {
    (0..3)
        .map(|p| ResetRow {
            topic: "orders".into(),
            partition: p,
            current: Some(14_000),
            new: 13_900,
            end: 14_040,
        })
        .collect()
}

/// What the console's tail asks for at `isolation`: control records always (the screen
/// shows them on `c`).
fn console_reading(isolation: IsolationLevel) -> Reading {
    Reading {
        isolation,
        control_records: true,
    }
}

/// The table rows' first words, top to bottom (rows start on line 4).
fn first_column(h: &Harness) -> Vec<String> {
    h.text()
        .lines()
        .skip(4)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect()
}

#[test]
fn enter_opens_and_esc_goes_back() {
    let mut h = Harness::new(SIZE, false);
    assert_eq!(
        first_column(&h)[..5],
        ["audit-log", "clicks", "inventory", "orders", "payments"]
    );
    h.keys("jjj");
    h.key(KeyCode::Enter);
    assert_eq!(
        h.app.routes(),
        [Route::Topics, Route::Topic("orders".into())]
    );
    assert_eq!(h.app.take_requests(), [Request::Topic("orders".into())]);
    assert!(h.text().contains("Topics › orders"));
    h.key(KeyCode::Esc);
    assert_eq!(h.app.routes(), [Route::Topics]);
    assert_eq!(h.app.take_requests(), [Request::Cluster, Request::Groups]);
    h.key(KeyCode::Esc);
    assert_eq!(h.app.routes(), [Route::Topics], "esc on the root stays");
}

#[test]
fn vim_and_arrow_keys_move_alike() {
    let mut h = Harness::new(SIZE, false);
    h.keys("G");
    h.key(KeyCode::Up);
    h.keys("k");
    h.key(KeyCode::Down);
    h.key(KeyCode::Enter);
    assert_eq!(h.app.routes()[1], Route::Topic("orders".into()));
    h.key(KeyCode::Left);
    h.keys("g");
    h.key(KeyCode::Right);
    assert_eq!(h.app.routes()[1], Route::Topic("audit-log".into()));
}

#[test]
fn filter_narrows_as_you_type_and_esc_restores() {
    let mut h = Harness::new(SIZE, false);
    h.keys("/ord");
    assert!(matches!(h.app.mode, Mode::Filter(..)));
    assert_eq!(first_column(&h), ["orders"]);
    h.key(KeyCode::Backspace);
    assert_eq!(first_column(&h), ["inventory", "orders"]);
    h.key(KeyCode::Esc);
    assert_eq!(
        first_column(&h).len(),
        5,
        "esc restores the previous (empty) filter"
    );
    h.keys("/pay");
    h.key(KeyCode::Enter);
    assert_eq!(h.app.mode, Mode::Normal);
    assert_eq!(first_column(&h), ["payments"]);
    assert!(h.text().contains("filter: pay"));
}

#[test]
fn sort_cycles_columns_and_reverses() {
    let mut h = Harness::new(SIZE, false);
    h.keys("s");
    assert_eq!(
        first_column(&h)[..2],
        ["clicks", "payments"],
        "by partitions"
    );
    h.keys("ss");
    assert_eq!(first_column(&h)[..2], ["orders", "payments"], "by messages");
    h.keys("S");
    assert_eq!(first_column(&h)[0], "audit-log", "reversed");
    h.keys("i");
    assert!(first_column(&h).contains(&"__consumer_offsets".to_string()));
}

#[test]
fn groups_sort_by_lag_first() {
    let mut h = Harness::new(SIZE, false);
    h.command("groups");
    assert_eq!(h.app.take_requests(), [Request::Groups]);
    h.data(Update::Groups(fixtures::groups(), at(1)));
    assert_eq!(
        first_column(&h),
        ["reports", "billing", "search-indexer", "audit"]
    );
    h.keys("/bill");
    h.key(KeyCode::Enter);
    assert_eq!(first_column(&h), ["billing"]);
}

#[test]
fn command_mode_switches_screens() {
    let mut h = Harness::new(SIZE, false);
    h.command("tail orders 15m");
    let routes = h.app.routes();
    assert!(matches!(&routes[1], Route::Tail(t, TailStart::Timestamp(_)) if t == "orders"));
    assert!(matches!(
        &h.app.take_requests()[..],
        [Request::TailStart { .. }]
    ));
    h.command("brokers");
    assert_eq!(h.app.routes(), [Route::Brokers]);
    assert_eq!(
        h.app.take_requests(),
        [Request::TailStop, Request::Cluster, Request::LogDirs]
    );
    h.command("nope");
    assert!(h
        .app
        .status()
        .is_some_and(|s| s.contains("unknown command ':nope'")));
    h.command("tail orders offset 42");
    assert_eq!(
        h.app.routes()[1],
        Route::Tail("orders".into(), TailStart::Offset(42))
    );
    h.command("q");
    assert!(h.app.should_quit());
}

#[test]
fn delete_topic_needs_its_name_typed() {
    let mut h = Harness::new(SIZE, false);
    h.keys("jd");
    assert!(h.app.dialog().is_some());
    h.keys("click");
    h.key(KeyCode::Enter);
    assert!(
        h.app.dialog().is_some(),
        "a wrong name keeps the dialog open"
    );
    assert!(h.app.take_requests().is_empty());
    assert!(h.text().contains("type 'clicks' to delete it"));
    h.keys("s");
    h.key(KeyCode::Enter);
    assert!(h.app.dialog().is_none());
    assert_eq!(
        h.app.take_requests(),
        [Request::DeleteTopic("clicks".into())]
    );
    h.data(Update::Done {
        subject: Subject::DeleteTopic("clicks".into()),
        note: None,
        error: None,
    });
    assert_eq!(
        h.app.take_requests(),
        [Request::Cluster, Request::Groups],
        "refreshes after a write"
    );
}

#[test]
fn esc_cancels_a_dialog() {
    let mut h = Harness::new(SIZE, false);
    h.keys("c");
    h.keys("new-topic");
    h.key(KeyCode::Esc);
    assert!(h.app.dialog().is_none());
    assert!(h.app.take_requests().is_empty());
}

#[test]
fn create_topic_sends_the_form() {
    let mut h = Harness::new(SIZE, false);
    h.keys("c");
    h.keys("events");
    h.key(KeyCode::Tab);
    h.key(KeyCode::Backspace);
    h.keys("4");
    h.key(KeyCode::Tab);
    h.key(KeyCode::Tab);
    h.keys("retention.ms=1000");
    h.key(KeyCode::Enter);
    assert_eq!(
        h.app.take_requests(),
        [Request::CreateTopic {
            name: "events".into(),
            partitions: 4,
            replication: 1,
            configs: vec![("retention.ms".into(), "1000".into())],
        }]
    );
}

#[test]
fn reset_offsets_previews_then_executes() {
    let mut h = Harness::new(SIZE, false);
    h.command("group billing");
    h.data(Update::Group(fixtures::group_detail(120), at(1)));
    let _ = h.app.take_requests();
    h.keys("o");
    h.key(KeyCode::Tab);
    h.ctrl('u');
    h.keys("latest");
    h.key(KeyCode::Enter);
    assert_eq!(
        h.app.take_requests(),
        [Request::ResetPreview {
            group: "billing".into(),
            topic: "orders".into(),
            spec: ResetSpec::Latest,
        }]
    );
    assert!(
        h.app.dialog().is_some(),
        "the preview keeps the dialog open"
    );
    h.data(Update::ResetPreview {
        group: "billing".into(),
        rows: preview_rows(),
    });
    assert!(h.text().contains("Preview: 3 partitions"));
    h.key(KeyCode::Enter);
    assert_eq!(
        h.app.take_requests(),
        [Request::ResetExecute {
            group: "billing".into(),
            rows: preview_rows(),
        }]
    );
    assert!(h.app.dialog().is_none());
}

#[test]
fn delete_group_asks_y() {
    let mut h = Harness::new(SIZE, false);
    h.command("groups");
    h.data(Update::Groups(fixtures::groups(), at(1)));
    let _ = h.app.take_requests();
    h.keys("d");
    h.keys("n");
    assert!(h.app.dialog().is_none());
    h.keys("dy");
    assert_eq!(
        h.app.take_requests(),
        [Request::DeleteGroup("reports".into())]
    );
}

#[test]
fn read_only_refuses_and_hides_writes() {
    let mut h = Harness::new(SIZE, true);
    for key in ["c", "d", "p"] {
        h.keys(key);
        assert!(h.app.dialog().is_none(), "{key} opens nothing in read-only");
        assert!(h.app.status().is_some_and(|s| s.starts_with("read-only")));
    }
    h.command("produce orders");
    assert_eq!(h.app.routes(), [Route::Topics]);
    h.command("create");
    assert!(h.app.dialog().is_none());
    h.keys("?");
    let help = h.text();
    assert!(help.contains("tail topic"));
    assert!(!help.contains("delete topic") && !help.contains("create topic"));
    assert!(h.text().contains("READ-ONLY"));
    h.key(KeyCode::Esc);
    h.keys("t");
    assert!(
        matches!(h.app.routes()[1], Route::Tail(..)),
        "reading stays allowed"
    );
    assert!(h.app.take_requests().iter().all(|r| !r.writes()));
}

#[test]
fn help_lists_the_screen_keys_and_the_log() {
    let mut h = Harness::new(SIZE, false);
    h.keys("?");
    assert_eq!(h.app.mode, Mode::Help);
    let text = h.text();
    assert!(text.contains("create topic") && text.contains("log: "));
    h.keys("?");
    assert_eq!(h.app.mode, Mode::Normal);
}

#[test]
fn mouse_click_selects_and_wheel_scrolls() {
    let mut h = Harness::new(SIZE, false);
    let click = |row| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 5,
        row,
        modifiers: KeyModifiers::NONE,
    };
    // Line 0 header, 1 breadcrumbs, 2 table title, 3 column header, 4.. rows.
    h.app.handle(Event::Mouse(click(6)));
    h.key(KeyCode::Enter);
    assert_eq!(h.app.routes()[1], Route::Topic("inventory".into()));
    h.key(KeyCode::Esc);
    h.app.handle(Event::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 5,
        row: 6,
        modifiers: KeyModifiers::NONE,
    }));
    h.key(KeyCode::Enter);
    assert_eq!(h.app.routes()[1], Route::Topic("payments".into()));
}

#[test]
fn lost_connection_shows_a_banner_and_recovers() {
    let mut h = Harness::new(SIZE, false);
    h.data(Update::Connection(ConnState::Lost {
        error: "cannot connect".into(),
        retry_at: h.start + Duration::from_secs(4),
    }));
    h.app.handle(Event::Tick(h.start + Duration::from_secs(1)));
    let text = h.text();
    assert!(text.contains("connection lost, retrying in 3s: cannot connect"));
    assert!(text.contains("STALE"));
    h.data(Update::Connection(ConnState::Connected));
    assert_eq!(
        h.app.take_requests(),
        [Request::Cluster, Request::Groups],
        "reconnecting refreshes"
    );
    h.data(Update::Cluster(fixtures::cluster(), at(9)));
    let text = h.text();
    assert!(!text.contains("connection lost") && !text.contains("STALE"));
    assert!(text.contains("refreshed 10:00:09"));
}

#[test]
fn refresh_timer_and_r_reload_the_screen() {
    let mut h = Harness::new(SIZE, false);
    h.app.handle(Event::Refresh);
    assert_eq!(h.app.take_requests(), [Request::Cluster, Request::Groups]);
    h.keys("r");
    assert_eq!(h.app.take_requests(), [Request::Cluster, Request::Groups]);
    h.app.handle(Event::Tick(h.start + Duration::from_secs(30)));
    assert!(h.text().contains("STALE"), "no data for 3 refresh periods");
}

#[test]
fn produce_sends_the_form() {
    let mut h = Harness::new(SIZE, false);
    h.command("produce orders");
    h.key(KeyCode::Tab);
    h.keys("k1");
    h.key(KeyCode::Tab);
    h.keys("a=b");
    h.key(KeyCode::Tab);
    h.keys("hello");
    h.key(KeyCode::Enter);
    h.keys("world");
    h.ctrl('s');
    let requests = h.app.take_requests();
    let Some(Request::Produce(p)) = requests.last() else {
        panic!("no produce request: {requests:?}");
    };
    assert_eq!(p.topic, "orders");
    assert_eq!(p.partition, None);
    assert_eq!(p.key.as_deref(), Some("k1"));
    assert_eq!(p.headers, [("a".to_string(), "b".to_string())]);
    assert_eq!(p.value, "hello\nworld");
    h.key(KeyCode::Esc);
    assert_eq!(h.app.routes(), [Route::Topics]);
}

#[test]
fn tail_buffer_is_bounded_and_counts_drops() {
    let mut h = Harness::new(SIZE, false);
    h.command("tail orders");
    let one = fixtures::tail_records();
    for _ in 0..3_000 {
        h.data(Update::TailRecords {
            records: one.clone(),
            dropped: 1,
            permit: None,
        });
    }
    let text = h.text();
    assert!(text.contains("seen 15000"), "{text}");
    assert!(text.contains("kept 10000/10000"));
    assert!(text.contains("dropped 5000"));
    h.keys("/~user-[12]");
    h.key(KeyCode::Enter);
    assert!(h.text().contains("shown 5000"));
}

#[test]
fn only_the_newest_tail_takes_records_and_back_restarts_the_older() {
    let mut h = Harness::new(SIZE, false);
    h.command("tail orders");
    h.command("tail clicks");
    let _ = h.app.take_requests();
    h.data(Update::TailRecords {
        records: fixtures::tail_records(),
        dropped: 0,
        permit: None,
    });
    assert!(h.text().contains("seen 4"));
    h.key(KeyCode::Esc);
    assert_eq!(
        h.app.take_requests(),
        [
            Request::TailStop,
            Request::TailStart {
                topic: "orders".into(),
                start: TailStart::End,
                resume: Default::default(),
                reading: console_reading(IsolationLevel::ReadUncommitted),
            },
            Request::Cluster,
            Request::Groups,
        ]
    );
    assert!(
        h.text().contains("seen 0"),
        "the older tail saw none of them"
    );
}

/// Going back to an older Tail screen resumes it after the last record it had, per
/// partition, instead of from its original start (which would show records twice).
#[test]
fn back_to_an_older_tail_resumes_where_it_stopped() {
    let mut h = Harness::new(SIZE, false);
    h.command("tail orders beginning");
    h.data(Update::TailRecords {
        records: fixtures::tail_records(),
        dropped: 0,
        permit: None,
    });
    h.command("tail clicks");
    let _ = h.app.take_requests();
    h.key(KeyCode::Esc);
    let mut expected = std::collections::BTreeMap::new();
    for r in fixtures::tail_records() {
        let next = expected.entry(r.partition).or_insert(0);
        *next = (*next).max(r.offset + 1);
    }
    assert!(!expected.is_empty());
    assert_eq!(
        h.app.take_requests(),
        [
            Request::TailStop,
            Request::TailStart {
                topic: "orders".into(),
                start: TailStart::Beginning,
                resume: expected,
                reading: console_reading(IsolationLevel::ReadUncommitted),
            },
            Request::Cluster,
            Request::Groups,
        ]
    );
}

#[test]
fn tail_pause_and_save_shown_records() {
    let mut h = Harness::new(SIZE, false);
    h.command("tail orders");
    let _ = h.app.take_requests();
    h.data(Update::TailRecords {
        records: fixtures::tail_records(),
        dropped: 0,
        permit: None,
    });
    h.keys(" ");
    assert_eq!(h.app.take_requests(), [Request::TailPause(true)]);
    assert!(h.text().contains("PAUSED"));
    h.keys(" ");
    assert_eq!(h.app.take_requests(), [Request::TailPause(false)]);
    h.keys("/user");
    h.key(KeyCode::Enter);
    h.keys("w");
    let requests = h.app.take_requests();
    let [Request::Save { file, lines }] = &requests[..] else {
        panic!("expected one save: {requests:?}");
    };
    assert!(file.starts_with("ktui-tail-orders-") && file.ends_with(".jsonl"));
    assert_eq!(lines.len(), 2, "only the shown (filtered) records");
    let first: serde_json::Value = serde_json::from_str(&lines[0]).expect("JSON line");
    assert_eq!(first["key"], "user-1");
    assert_eq!(first["offset"], 10);
    assert_eq!(first["headers"]["h0"], "v0");
}

#[test]
fn a_failed_read_shows_on_the_screen_and_the_status_line() {
    let mut h = Harness::new(SIZE, false);
    h.command("groups");
    h.data(Update::Failed {
        subject: Subject::Groups,
        error: "GROUP_AUTHORIZATION_FAILED".into(),
    });
    let text = h.text();
    assert!(
        text.contains("error: GROUP_AUTHORIZATION_FAILED (r to retry)"),
        "{text}"
    );
    assert!(text.contains("groups: GROUP_AUTHORIZATION_FAILED"));
}

/// The cluster's actions are writes: refused in read-only like the others.
#[test]
fn read_only_refuses_elections_reassignments_and_broker_control() {
    let mut h = Harness::new(SIZE, true);
    h.keys("E");
    assert!(h.app.dialog().is_none(), "E opens nothing in read-only");
    h.command("elect");
    assert!(h.app.dialog().is_none());
    h.command("topic orders");
    h.data(Update::Topic(fixtures::topic_detail(), at(2)));
    h.keys("R");
    assert!(h.app.dialog().is_none());
    h.command("brokers");
    for key in ["x", "K", "u"] {
        h.keys(key);
        assert!(h.app.dialog().is_none(), "{key} opens nothing in read-only");
        assert!(h.app.status().is_some_and(|s| s.starts_with("read-only")));
    }
    assert!(h.app.take_requests().iter().all(|r| !r.writes()));
}

/// `u` on Topics keeps only unhealthy topics; `:topics urp` opens them so.
#[test]
fn unhealthy_topics_by_key_and_command() {
    let mut h = Harness::new(SIZE, false);
    h.keys("u");
    assert!(h.text().contains("unhealthy only"));
    h.keys("u");
    assert!(!h.text().contains("unhealthy only"));
    h.command("topics urp");
    assert_eq!(h.app.routes(), [Route::UnhealthyTopics]);
}

/// An election dialog sends the election; a reassignment stays open and follows the move
/// until ListPartitionReassignments no longer lists it.
#[test]
fn elections_and_reassignments_from_the_topic_screen() {
    let mut h = Harness::new(SIZE, false);
    h.data(Update::Cluster(fixtures::cluster_after_failure(), at(1)));
    h.command("topic orders");
    h.data(Update::Topic(fixtures::topic_detail(), at(2)));
    let _ = h.app.take_requests();
    h.keys("jE");
    h.key(KeyCode::Enter);
    assert_eq!(
        h.app.take_requests(),
        [Request::Elect {
            scope: ElectionScope::Partition("orders".into(), 1),
            unclean: false
        }]
    );
    assert!(h.app.dialog().is_none());
    h.keys("R");
    h.ctrl('u');
    h.keys("3,2");
    h.key(KeyCode::Enter);
    assert!(
        h.text().contains("broker 2 is not an up broker"),
        "2 is fenced"
    );
    h.ctrl('u');
    h.keys("3,1");
    h.key(KeyCode::Enter);
    assert_eq!(
        h.app.take_requests(),
        [Request::Reassign {
            topic: "orders".into(),
            partition: 1,
            replicas: vec![3, 1]
        }]
    );
    assert!(h.app.dialog().is_some(), "the dialog follows the move");
    h.app.handle(Event::Refresh);
    assert!(h.app.take_requests().contains(&Request::Reassignments));
    h.data(Update::Reassignments(Vec::new()));
    assert!(h.text().contains("complete"));
    h.app.handle(Event::Refresh);
    assert!(!h.app.take_requests().contains(&Request::Reassignments));
    h.key(KeyCode::Enter);
    assert!(h.app.dialog().is_none());
}

/// Stop, kill and start ask first, and only on a cluster `ktui local` launched.
#[test]
fn broker_control_asks_first_and_needs_a_local_cluster() {
    let mut h = Harness::new(SIZE, false);
    h.command("brokers");
    h.keys("jK");
    assert!(h.text().contains("Kill broker 2 with SIGKILL"));
    h.keys("n");
    assert!(h.app.dialog().is_none());
    let _ = h.app.take_requests();
    h.keys("uy");
    assert_eq!(
        h.app.take_requests(),
        [Request::Broker {
            id: 2,
            op: BrokerOp::Start
        }]
    );
    let mut options = fixtures::options(false);
    options.local_cluster = false;
    let mut remote = Harness::with_options(SIZE, options);
    remote.command("brokers");
    remote.keys("x");
    assert!(remote.app.dialog().is_none());
    assert!(remote
        .app
        .status()
        .is_some_and(|s| s.contains("ktui local up")));
}

/// Changes between refreshes are counted in the header until the Events screen is seen.
#[test]
fn new_events_are_flagged_until_seen() {
    let mut h = Harness::new(SIZE, false);
    h.data(Update::Cluster(fixtures::cluster_after_failure(), at(3)));
    assert!(h.text().contains("8 new events (:events)"));
    h.command("events");
    assert!(!h.text().contains("new events"));
    assert_eq!(h.app.events().unseen(), 0);
}

/// A filter starting with `$` is a JSONPath filter on the value: only JSON values that
/// satisfy it are shown; a bad one says so.
#[test]
fn tail_filters_json_values_with_jsonpath() {
    let mut h = Harness::new(SIZE, false);
    h.command("tail orders");
    h.data(Update::TailRecords {
        records: fixtures::tail_records(),
        dropped: 0,
        permit: None,
    });
    h.keys("/$.total > 5");
    h.key(KeyCode::Enter);
    let text = h.text();
    assert!(text.contains("shown 1"), "{text}");
    assert!(text.contains(r#"{"id":1,"total":9.5"#));
    h.keys("/");
    h.ctrl('u');
    h.keys("$.id == 2 || length($.items) == 2");
    h.key(KeyCode::Enter);
    assert!(h.text().contains("shown 2"), "{}", h.text());
    h.keys("/");
    h.ctrl('u');
    h.keys("$.id ==");
    h.key(KeyCode::Enter);
    assert!(h.text().contains("bad JSONPath filter"), "{}", h.text());
}

/// ACLs and users are created and deleted through their dialogs; the password never shows
/// on screen nor in the request's Debug (which the worker logs).
#[test]
fn acls_and_users_from_the_console() {
    let mut h = Harness::new(SIZE, false);
    h.command("acls");
    h.data(Update::Acls(fixtures::acls(), at(2)));
    let _ = h.app.take_requests();
    h.keys("c");
    h.keys("bob");
    h.key(KeyCode::Tab);
    h.key(KeyCode::Tab);
    h.ctrl('u');
    h.keys("Write");
    h.key(KeyCode::Tab);
    h.key(KeyCode::Tab);
    h.keys("orders");
    h.key(KeyCode::Enter);
    let requests = h.app.take_requests();
    assert!(
        matches!(&requests[..], [Request::CreateAcl(b)] if b.principal == "User:bob"
            && b.operation == ktui::client::acls::Operation::Write
            && b.resource_name == "orders"),
        "{requests:?}"
    );
    h.keys("d");
    assert!(h.text().contains("Delete ACL"));
    h.keys("y");
    assert!(matches!(
        &h.app.take_requests()[..],
        [Request::DeleteAcl(_)]
    ));
    h.command("users");
    h.data(Update::Users(fixtures::users(), at(3)));
    let _ = h.app.take_requests();
    h.keys("jc");
    h.key(KeyCode::Tab);
    h.key(KeyCode::Tab);
    h.keys("hunter2");
    assert!(!h.text().contains("hunter2"), "the password is masked");
    h.key(KeyCode::Enter);
    let requests = h.app.take_requests();
    assert!(
        matches!(&requests[..], [Request::SetPassword { user, password, .. }]
            if user == "alice" && password.0 == "hunter2"),
        "the form sends it"
    );
    assert!(
        !format!("{requests:?}").contains("hunter2"),
        "Debug hides it"
    );
}

/// `:transactions` lists the transactional ids longest open first, the one open past its
/// timeout marked; enter shows its partitions; `a`, `y` aborts it on all of them, and a
/// transaction with none open is refused with where to look instead.
#[test]
fn transactions_longest_open_first_and_abort_asks_y() {
    let mut h = Harness::new(SIZE, false);
    h.command("transactions");
    assert_eq!(h.app.routes(), [Route::Transactions]);
    assert_eq!(h.app.take_requests(), [Request::Transactions]);
    h.data(Update::Transactions(fixtures::transactions(), at(2)));
    assert_eq!(
        first_column(&h),
        ["!payments-app", "orders-etl", "audit-app", "billing-app"]
    );
    h.key(KeyCode::Enter);
    assert!(
        h.text()
            .contains("partitions (3): __consumer_offsets-12, payments-0, payments-3"),
        "{}",
        h.text()
    );
    h.keys("a");
    assert!(h.text().contains("Abort transaction payments-app"));
    h.keys("y");
    assert_eq!(
        h.app.take_requests(),
        [Request::AbortTransaction(TxnAbort {
            id: "payments-app".into(),
            producer_id: 4001,
            partitions: vec![
                ("__consumer_offsets".into(), 12),
                ("payments".into(), 0),
                ("payments".into(), 3),
            ],
        })]
    );
    h.data(Update::Done {
        subject: Subject::AbortTransaction("payments-app".into()),
        note: Some("abort transaction payments-app: aborted payments-0 from offset 7".into()),
        error: None,
    });
    assert_eq!(
        h.app.take_requests(),
        [Request::Transactions, Request::Cluster, Request::Groups],
        "the screen is read again after the abort"
    );
    h.keys("G");
    h.keys("a");
    assert!(h.app.dialog().is_none(), "billing-app has nothing open");
    assert!(h
        .app
        .status()
        .is_some_and(|s| s.contains("no open transaction")));
    assert!(h.app.take_requests().is_empty());
}

#[test]
fn read_only_refuses_and_hides_the_abort() {
    let mut h = Harness::new(SIZE, true);
    h.command("transactions");
    h.data(Update::Transactions(fixtures::transactions(), at(2)));
    let _ = h.app.take_requests();
    h.keys("a");
    assert!(h.app.dialog().is_none());
    assert!(h.app.status().is_some_and(|s| s.contains("read-only")));
    assert!(h.app.take_requests().is_empty());
    h.keys("?");
    assert!(!h.text().contains("abort the transaction"), "{}", h.text());
    let mut writable = Harness::new(SIZE, false);
    writable.command("transactions");
    writable.keys("?");
    assert!(writable.text().contains("abort the transaction"));
}

/// `i` restarts the tail at the other isolation level (the header says which); `c` shows
/// the control records the tail always fetches, which are not counted as seen.
#[test]
fn tail_isolation_and_control_records_toggle() {
    let mut h = Harness::new(SIZE, false);
    h.command("tail orders beginning");
    assert!(
        h.text().contains("Tail orders  read_uncommitted"),
        "{}",
        h.text()
    );
    h.data(Update::TailRecords {
        records: fixtures::tail_records_with_markers(),
        dropped: 0,
        permit: None,
    });
    assert!(h.text().contains("seen 3"), "{}", h.text());
    assert!(h.text().contains("shown 3"), "{}", h.text());
    assert!(!h.text().contains("COMMIT marker"));
    h.keys("c");
    assert!(h.text().contains("shown 5"), "{}", h.text());
    assert!(h.text().contains("COMMIT marker (control record)"));
    assert!(h.text().contains("ABORT marker (control record)"));
    let _ = h.app.take_requests();
    h.keys("i");
    // It reads on from after the last record received, at the other isolation level.
    assert_eq!(
        h.app.take_requests(),
        [Request::TailStart {
            topic: "orders".into(),
            start: TailStart::Beginning,
            resume: [(0, 25)].into_iter().collect(),
            reading: console_reading(IsolationLevel::ReadCommitted),
        }]
    );
    assert!(
        h.text().contains("Tail orders  read_committed"),
        "{}",
        h.text()
    );
    assert!(
        h.text().contains("control records shown"),
        "the toggle is kept"
    );
    assert!(h.text().contains("seen 3"), "what was read stays");
    h.keys("i");
    assert!(matches!(
        &h.app.take_requests()[..],
        [Request::TailStart { reading, .. }] if reading.isolation == IsolationLevel::ReadUncommitted
    ));
}
