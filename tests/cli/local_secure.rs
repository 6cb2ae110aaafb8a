//! `ktui local up -n 3 --secure`: a SASL_SSL cluster with SCRAM-SHA-512 and ACLs. Kafka's
//! style client.properties serves ktui, kcat.conf serves kcat (librdkafka); replication runs
//! over the secured inter-broker listener (RF 3 in sync); a plaintext client is turned away in
//! one line; a new SCRAM user sees nothing until an ACL lets it; the secret files are the
//! user's alone. Every process started is killed when the test ends.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::{assert_one_line_error, run_ktui, stderr, DEADLINE};
use crate::local_data::LocalData;

fn ok(out: &Output, what: &str) -> String {
    assert!(out.status.success(), "{what}: {}", stderr(out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn kcat(args: &[&str]) -> Output {
    Command::new("kcat")
        .args(args)
        .output()
        .expect("kcat must be installed (scripts/test installs it)")
}

/// Polls `ktui ARGS` until its output satisfies `done`.
fn await_output(args: &[&str], what: &str, done: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let out = run_ktui(args, b"", &[]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() && done(&text) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never {what}: {text}{}",
            stderr(&out)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_secured_cluster_serves_ktui_kcat_and_librdkafka_and_enforces_acls() {
    let data = LocalData::new();
    let up = data.ktui(&["local", "up", "-n", "3", "--secure", "--port-base", "0"]);
    let text = ok(&up, "local up --secure");
    let cluster = data.cluster_dir();
    let props = cluster.join("client.properties").display().to_string();
    let kcat_conf = cluster.join("kcat.conf").display().to_string();
    assert!(text.contains(&props) && text.contains(&kcat_conf), "{text}");
    let password = data.state().expect("state")["secure"]["admin_password"]
        .as_str()
        .expect("password")
        .to_string();
    assert!(!text.contains(&password), "up prints no secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in ["client.properties", "kcat.conf", "cluster.json"] {
            let mode = std::fs::metadata(cluster.join(file))
                .expect(file)
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{file} is the user's alone");
        }
    }
    let admin = ["--command-config", props.as_str()];
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(admin.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let run = |args: &[&str]| -> Output {
        let all = with(args);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        run_ktui(&refs, b"", &[])
    };
    ok(
        &run(&[
            "topics",
            "create",
            "orders",
            "--partitions",
            "3",
            "--replication-factor",
            "3",
        ]),
        "create",
    );
    let all = with(&["topics", "describe", "orders", "-o", "json"]);
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    await_output(&refs, "three replicas in sync over SASL_SSL", |json| {
        let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
        v["partitions"].as_array().is_some_and(|ps| {
            ps.len() == 3
                && ps
                    .iter()
                    .all(|p| p["isr"].as_array().map(Vec::len) == Some(3))
        })
    });
    let produced = {
        let all = with(&["produce", "orders", "--acks", "all"]);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        run_ktui(&refs, b"a\nb\nc\nd\ne\n", &[])
    };
    ok(&produced, "produce");
    let consumed = ok(
        &run(&["consume", "orders", "--from-beginning", "-e"]),
        "consume",
    );
    assert_eq!(consumed.lines().count(), 5, "{consumed}");

    let listed = kcat(&["-F", &kcat_conf, "-L"]);
    let listing = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listing.contains("3 brokers"),
        "kcat: {listing}{}",
        stderr(&listed)
    );
    let read = kcat(&["-F", &kcat_conf, "-C", "-t", "orders", "-e", "-q"]);
    assert_eq!(
        String::from_utf8_lossy(&read.stdout).lines().count(),
        5,
        "kcat -C: {}",
        stderr(&read)
    );

    let bootstrap = data.bootstrap();
    let plain = run_ktui(&["topics", "list", "-b", &bootstrap], b"", &[]);
    assert_eq!(
        plain.status.code(),
        Some(1),
        "a plaintext client is refused"
    );
    assert_eq!(stderr(&plain).lines().count(), 1, "{}", stderr(&plain));

    let set = {
        let all = with(&["users", "set-password", "alice"]);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        run_ktui(&refs, b"alice-pw-51\n", &[])
    };
    ok(&set, "users set-password");
    let alice = cluster.join("alice.properties");
    let alice_text = std::fs::read_to_string(&props)
        .expect("props")
        .replace("username=\"admin\"", "username=\"alice\"")
        .replace(
            &format!("password=\"{password}\""),
            "password=\"alice-pw-51\"",
        );
    std::fs::write(&alice, alice_text).expect("alice props");
    let alice = alice.display().to_string();
    let as_alice = |args: &[&str]| -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--command-config", alice.as_str()]);
        run_ktui(&all, b"", &[])
    };
    let nothing = ok(&as_alice(&["topics", "list"]), "alice lists");
    assert!(!nothing.contains("orders"), "no ACL, no topic: {nothing}");
    assert_one_line_error(
        &as_alice(&["consume", "orders", "--from-beginning", "-e"]),
        "TOPIC_AUTHORIZATION_FAILED",
    );
    ok(
        &run(&[
            "acls",
            "create",
            "--allow-principal",
            "User:alice",
            "--operation",
            "Read",
            "--operation",
            "Describe",
            "--topic",
            "orders",
        ]),
        "acls create",
    );
    let visible = ok(&as_alice(&["topics", "list"]), "alice lists again");
    assert!(visible.contains("orders"), "{visible}");
    let read = ok(
        &as_alice(&["consume", "orders", "--from-beginning", "-e"]),
        "alice reads",
    );
    assert_eq!(read.lines().count(), 5, "{read}");
    let wrong = cluster.join("wrong.properties");
    let wrong_text = std::fs::read_to_string(&props).expect("props").replace(
        &format!("password=\"{password}\""),
        "password=\"wrong-pw-77\"",
    );
    std::fs::write(&wrong, wrong_text).expect("wrong props");
    let refused = run_ktui(
        &[
            "topics",
            "list",
            "--command-config",
            &wrong.display().to_string(),
        ],
        b"",
        &[],
    );
    assert_one_line_error(&refused, "SASL_AUTHENTICATION_FAILED");
    ok(&data.ktui(&["local", "down"]), "down");

    // No secret in any node's log, the failed login's included (which the logs record, so
    // these are the logs that saw it).
    let mut failures_logged = 0;
    for id in 0..3 {
        let log = cluster.join(format!("node-{id}")).join("broker.log");
        let text = std::fs::read_to_string(&log).expect("node log");
        failures_logged += text.matches("failed authentication").count();
        for secret in [password.as_str(), "alice-pw-51", "wrong-pw-77"] {
            assert!(!text.contains(secret), "{} shows a secret", log.display());
        }
    }
    assert!(
        failures_logged > 0,
        "the refused logins are in the node logs"
    );
    for out in [&up, &refused, &set] {
        for secret in [password.as_str(), "alice-pw-51", "wrong-pw-77"] {
            assert!(!stderr(out).contains(secret));
        }
    }
}
