//! `ktui acls create|list|delete` against the workspace broker with an authorizer (the test
//! is ANONYMOUS and a super user): the ACLs created are the ones kafka-python's admin client
//! describes, prefixed patterns and denials included; delete removes exactly those selected;
//! bad flags get one line and exit 1.

use serde_json::{json, Value};

use crate::common::{assert_one_line_error, kafka_python_admin, TestBroker};

fn secured_broker() -> TestBroker {
    TestBroker::start_with(&[
        (
            "authorizer.class.name",
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        ),
        ("super.users", "User:ANONYMOUS"),
    ])
}

/// The fields kafka-python reports, from ktui's JSON.
fn as_python(ktui: &Value) -> Vec<Value> {
    let mut out: Vec<Value> = ktui
        .as_array()
        .expect("an array")
        .iter()
        .map(|b| {
            json!({
                "principal": b["principal"],
                "host": b["host"],
                "operation": b["operation"].as_str().map(|o| {
                    // kafka-python names DescribeConfigs DESCRIBE_CONFIGS.
                    let mut s = String::new();
                    for (i, c) in o.chars().enumerate() {
                        if c.is_uppercase() && i > 0 {
                            s.push('_');
                        }
                        s.push(c.to_ascii_uppercase());
                    }
                    s
                }),
                "permission": b["permission"].as_str().map(str::to_uppercase),
                "resource_type": b["resource_type"].as_str().map(str::to_uppercase),
                "name": b["resource_name"],
                "pattern": b["pattern_type"].as_str().map(str::to_uppercase),
            })
        })
        .collect();
    out.sort_by_key(|a| {
        (
            a["principal"].to_string(),
            a["name"].to_string(),
            a["operation"].to_string(),
        )
    });
    out
}

#[test]
fn acls_created_listed_and_deleted_match_kafka_pythons_view() {
    let broker = secured_broker();
    let bootstrap = broker.bootstrap();
    let created = broker.json(&[
        "acls",
        "create",
        "--allow-principal",
        "User:alice",
        "--operation",
        "Read",
        "--operation",
        "describe",
        "--topic",
        "orders",
        "--group",
        "billing",
    ]);
    assert_eq!(created.as_array().map(Vec::len), Some(4), "{created}");
    broker.json(&[
        "acls",
        "create",
        "--allow-principal",
        "User:ingest",
        "--operation",
        "Write",
        "--topic",
        "raw.",
        "--resource-pattern-type",
        "prefixed",
    ]);
    broker.json(&[
        "acls",
        "create",
        "--deny-principal",
        "User:mallory",
        "--deny-host",
        "10.0.0.9",
        "--topic",
        "orders",
    ]);
    let listed = broker.json(&["acls", "list"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(6), "{listed}");
    assert_eq!(
        as_python(&listed),
        kafka_python_admin(&bootstrap, "acls")
            .as_array()
            .cloned()
            .unwrap_or_default()
    );
    let of_orders = broker.json(&["acls", "list", "--topic", "orders"]);
    assert_eq!(of_orders.as_array().map(Vec::len), Some(3), "{of_orders}");
    let of_ingest = broker.json(&["acls", "list", "--principal", "User:ingest"]);
    assert_eq!(of_ingest[0]["pattern_type"], "Prefixed", "{of_ingest}");

    let refused = broker.ktui(&["acls", "delete", "--topic", "orders"]);
    assert_one_line_error(&refused, "--force");
    let deleted = broker.json(&[
        "acls",
        "delete",
        "--topic",
        "orders",
        "--allow-principal",
        "User:alice",
        "--force",
    ]);
    assert_eq!(deleted.as_array().map(Vec::len), Some(2), "{deleted}");
    let left = broker.json(&["acls", "list"]);
    assert_eq!(left.as_array().map(Vec::len), Some(4), "{left}");
    assert!(
        left.as_array()
            .expect("array")
            .iter()
            .all(|b| !(b["principal"] == "User:alice" && b["resource_name"] == "orders")),
        "{left}"
    );
    assert_eq!(
        as_python(&left),
        kafka_python_admin(&bootstrap, "acls")
            .as_array()
            .cloned()
            .unwrap_or_default()
    );
}

#[test]
fn bad_acl_flags_get_one_line() {
    let broker = secured_broker();
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "acls",
                "create",
                "--allow-principal",
                "User:a",
                "--operation",
                "Eat",
                "--topic",
                "t",
            ],
            "'Eat' is not one of",
        ),
        (
            &["acls", "create", "--allow-principal", "User:a"],
            "name a resource",
        ),
        (
            &[
                "acls",
                "create",
                "--allow-principal",
                "alice",
                "--topic",
                "t",
            ],
            "TYPE:NAME",
        ),
        (
            &[
                "acls",
                "create",
                "--allow-principal",
                "User:a",
                "--topic",
                "t",
                "--resource-pattern-type",
                "match",
            ],
            "literal or prefixed",
        ),
    ];
    for (args, needle) in cases {
        assert_one_line_error(&broker.ktui(args), needle);
    }
    let plain = TestBroker::start();
    assert_one_line_error(&plain.ktui(&["acls", "list"]), "SECURITY_DISABLED");
}
