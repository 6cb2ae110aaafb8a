//! Who may do what, with real users: a SASL_PLAINTEXT (PLAIN) broker with the authorizer on,
//! `admin` a super user and `alice` a user with no ACLs, both through librdkafka. Alice sees
//! no topics and cannot produce, consume or join a group until admin gives her ACLs (through
//! CreateAcls); deleted, they stop her again; PREFIXED ACLs and a DENY over an ALLOW hold the
//! same way. kafka-python then reads off the wire the refusal codes of the APIs librdkafka has
//! no call for, or never sends unauthorized (`tests/clients/python_acls.py`): 22 requests
//! refused without ACLs and answered with them.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::acls::{client_config, AUTHORIZER};
use crate::acls_admin::{create_acls, delete_acls, Binding, Op, Pattern, Resource};
use crate::common::{TestBroker, DEADLINE};
use crate::security_sasl::{plain_broker, sasl_plain, ADMIN_PASSWORD, ALICE_PASSWORD};

const LITERAL: Pattern = Pattern::RD_KAFKA_RESOURCE_PATTERN_LITERAL;
const PREFIXED: Pattern = Pattern::RD_KAFKA_RESOURCE_PATTERN_PREFIXED;

/// A broker with the authorizer on and `User:admin` its super user.
async fn secured_broker() -> TestBroker {
    plain_broker(&[
        ("authorizer.class.name", AUTHORIZER),
        ("super.users", "User:admin"),
        ("group.initial.rebalance.delay.ms", "0"),
        ("offsets.topic.num.partitions", "1"),
    ])
    .await
}

/// The two users' client settings.
struct Users {
    bootstrap: String,
    admin: Vec<(String, String)>,
    alice: Vec<(String, String)>,
}

impl Users {
    fn of(broker: &TestBroker) -> Self {
        Users {
            bootstrap: broker.bootstrap(),
            admin: sasl_plain("admin", ADMIN_PASSWORD),
            alice: sasl_plain("alice", ALICE_PASSWORD),
        }
    }

    fn admin(&self) -> ClientConfig {
        client_config(&self.bootstrap, &self.admin)
    }

    fn alice(&self) -> ClientConfig {
        client_config(&self.bootstrap, &self.alice)
    }

    /// Admin grants (or, `deny`, refuses) alice `op` on a resource; checks it took.
    async fn grant(&self, bindings: Vec<Binding>) {
        let config = self.admin();
        let created = tokio::task::spawn_blocking(move || create_acls(&config, &bindings))
            .await
            .expect("CreateAcls");
        for outcome in created.expect("CreateAcls answered") {
            outcome.expect("ACL created");
        }
    }

    /// Admin removes every ACL of alice.
    async fn revoke_all(&self) {
        let config = self.admin();
        let alices = Binding {
            principal: Some("User:alice".into()),
            ..Binding::any()
        };
        let deleted = tokio::task::spawn_blocking(move || delete_acls(&config, &[alices]))
            .await
            .expect("DeleteAcls");
        for outcome in deleted.expect("DeleteAcls answered") {
            assert!(!outcome.expect("ACLs deleted").is_empty());
        }
    }
}

fn alice_on_topic(name: &str, pattern: Pattern, op: Op) -> Binding {
    Binding::allow(
        Resource::RD_KAFKA_RESOURCE_TOPIC,
        name,
        pattern,
        "User:alice",
        op,
    )
}

fn alice_on_group(name: &str, op: Op) -> Binding {
    Binding::allow(
        Resource::RD_KAFKA_RESOURCE_GROUP,
        name,
        LITERAL,
        "User:alice",
        op,
    )
}

async fn create_topics(config: &ClientConfig, names: &[&str]) {
    let admin: AdminClient<DefaultClientContext> = config.create().expect("admin");
    let topics: Vec<NewTopic> = names
        .iter()
        .map(|n| NewTopic::new(n, 1, TopicReplication::Fixed(1)))
        .collect();
    for result in admin
        .create_topics(&topics, &AdminOptions::new())
        .await
        .expect("CreateTopics")
    {
        result.expect("topic created");
    }
}

/// The topics a full Metadata request shows.
fn visible_topics(config: &ClientConfig) -> Vec<String> {
    let consumer: BaseConsumer = config
        .clone()
        .set("group.id", "metadata")
        .create()
        .expect("client");
    let metadata = consumer.fetch_metadata(None, DEADLINE).expect("Metadata");
    let mut names: Vec<String> = metadata
        .topics()
        .iter()
        .map(|t| t.name().to_string())
        .filter(|n| !n.starts_with("__"))
        .collect();
    names.sort();
    names
}

/// The error Metadata gives for `topic` asked by name.
fn topic_error(config: &ClientConfig, topic: &str) -> Option<RDKafkaErrorCode> {
    let consumer: BaseConsumer = config
        .clone()
        .set("group.id", "metadata")
        .create()
        .expect("client");
    let metadata = consumer
        .fetch_metadata(Some(topic), DEADLINE)
        .expect("Metadata");
    metadata.topics()[0].error().map(RDKafkaErrorCode::from)
}

/// Produces one record to `topic`: Ok, or the error librdkafka reports for it.
async fn produce(config: &ClientConfig, topic: &str) -> Result<(), RDKafkaErrorCode> {
    let producer: FutureProducer = config
        .clone()
        .set("message.timeout.ms", "20000")
        .create()
        .expect("producer");
    let record = FutureRecord::<(), str>::to(topic).payload("v");
    match producer.send(record, Duration::from_secs(20)).await {
        Ok(_) => Ok(()),
        Err((e, _)) => Err(code_of(&e)),
    }
}

fn code_of(e: &KafkaError) -> RDKafkaErrorCode {
    e.rdkafka_error_code()
        .unwrap_or_else(|| panic!("no error code in {e}"))
}

/// Reads `topic` partition 0 from the start with assign() (librdkafka still finds the
/// coordinator of `group`, which needs DESCRIBE on it): Ok at the first record, or the first
/// error.
fn consume_assigned(
    config: &ClientConfig,
    topic: &str,
    group: &str,
) -> Result<(), RDKafkaErrorCode> {
    let consumer: BaseConsumer = config
        .clone()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("offset");
    consumer.assign(&tpl).expect("assign");
    first_outcome(&consumer)
}

/// Subscribes to `topic` in `group`, reads a record and commits it: Ok, or the first error.
fn consume_in_group(
    config: &ClientConfig,
    topic: &str,
    group: &str,
) -> Result<(), RDKafkaErrorCode> {
    let consumer: BaseConsumer = config
        .clone()
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    first_outcome(&consumer)?;
    consumer
        .commit_consumer_state(CommitMode::Sync)
        .map_err(|e| code_of(&e))
}

fn first_outcome(consumer: &BaseConsumer) -> Result<(), RDKafkaErrorCode> {
    let deadline = Instant::now() + DEADLINE;
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                assert!(m.payload().is_some());
                return Ok(());
            }
            Some(Err(e)) => return Err(code_of(&e)),
            None => {}
        }
    }
    panic!("neither a record nor an error within {DEADLINE:?}");
}

/// Runs a blocking client call off the runtime the broker runs on.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("client call")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_needs_acls_and_admin_does_not() {
    use Op::*;
    use RDKafkaErrorCode::{GroupAuthorizationFailed, TopicAuthorizationFailed};
    let broker = secured_broker().await;
    let users = Users::of(&broker);
    create_topics(&users.admin(), &["orders", "payments"]).await;
    produce(&users.admin(), "orders")
        .await
        .expect("admin produces");
    let admin = users.admin();
    blocking(move || consume_in_group(&admin, "orders", "admins"))
        .await
        .expect("admin consumes in a group");

    // No ACLs: nothing for alice.
    let alice = users.alice();
    let (seen, error) = {
        let a = alice.clone();
        blocking(move || (visible_topics(&a), topic_error(&a, "orders"))).await
    };
    assert!(seen.is_empty(), "alice sees {seen:?}");
    assert_eq!(error, Some(TopicAuthorizationFailed));
    assert_eq!(
        produce(&alice, "orders").await,
        Err(TopicAuthorizationFailed)
    );
    let a = alice.clone();
    assert_eq!(
        blocking(move || consume_in_group(&a, "orders", "alices")).await,
        Err(GroupAuthorizationFailed)
    );

    // Her group, but no topic: consuming orders is refused on the topic (librdkafka reports
    // a subscribed topic Metadata refuses; with assign() it waits for a leader instead).
    users
        .grant(vec![alice_on_group("alices", RD_KAFKA_ACL_OPERATION_READ)])
        .await;
    let a = alice.clone();
    assert_eq!(
        blocking(move || consume_in_group(&a, "orders", "alices")).await,
        Err(TopicAuthorizationFailed)
    );

    // Reading and writing orders: she sees it, produces, consumes and commits in her group.
    users
        .grant(vec![
            alice_on_topic("orders", LITERAL, RD_KAFKA_ACL_OPERATION_WRITE),
            alice_on_topic("orders", LITERAL, RD_KAFKA_ACL_OPERATION_READ),
        ])
        .await;
    let a = alice.clone();
    assert_eq!(blocking(move || visible_topics(&a)).await, ["orders"]);
    produce(&alice, "orders").await.expect("alice produces");
    let a = alice.clone();
    blocking(move || consume_assigned(&a, "orders", "alices"))
        .await
        .expect("alice consumes");
    let a = alice.clone();
    blocking(move || consume_in_group(&a, "orders", "alices"))
        .await
        .expect("alice consumes in her group and commits");
    let a = alice.clone();
    assert_eq!(
        blocking(move || consume_in_group(&a, "orders", "someone-elses")).await,
        Err(GroupAuthorizationFailed),
        "another group is still refused"
    );

    // Deleted, the ACLs stop her again.
    users.revoke_all().await;
    assert_eq!(
        produce(&alice, "orders").await,
        Err(TopicAuthorizationFailed)
    );
    let a = alice.clone();
    assert_eq!(
        blocking(move || consume_in_group(&a, "orders", "alices")).await,
        Err(GroupAuthorizationFailed)
    );
    let a = alice.clone();
    assert!(blocking(move || visible_topics(&a)).await.is_empty());
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefixed_acls_and_deny_over_allow() {
    use Op::*;
    use RDKafkaErrorCode::TopicAuthorizationFailed;
    let broker = secured_broker().await;
    let users = Users::of(&broker);
    create_topics(&users.admin(), &["orders", "payments", "payroll"]).await;
    let alice = users.alice();

    // WRITE on every topic starting with "pay".
    users
        .grant(vec![
            alice_on_topic("pay", PREFIXED, RD_KAFKA_ACL_OPERATION_WRITE),
            alice_on_group("alices", RD_KAFKA_ACL_OPERATION_READ),
        ])
        .await;
    produce(&alice, "payments")
        .await
        .expect("prefix covers payments");
    produce(&alice, "payroll")
        .await
        .expect("prefix covers payroll");
    assert_eq!(
        produce(&alice, "orders").await,
        Err(TopicAuthorizationFailed)
    );
    let a = alice.clone();
    assert_eq!(
        blocking(move || visible_topics(&a)).await,
        ["payments", "payroll"],
        "WRITE implies DESCRIBE"
    );

    // Everything on every topic, but a DENY of WRITE on payroll: the DENY wins there only.
    users
        .grant(vec![
            alice_on_topic("*", LITERAL, RD_KAFKA_ACL_OPERATION_ALL),
            alice_on_topic("payroll", LITERAL, RD_KAFKA_ACL_OPERATION_WRITE).denying(),
        ])
        .await;
    produce(&alice, "orders")
        .await
        .expect("the wildcard allows orders");
    produce(&alice, "payments")
        .await
        .expect("payments is not denied");
    assert_eq!(
        produce(&alice, "payroll").await,
        Err(TopicAuthorizationFailed)
    );
    let a = alice.clone();
    blocking(move || consume_assigned(&a, "payroll", "alices"))
        .await
        .expect("READ on payroll is not denied");

    // Alice is no super user: the ACL APIs refuse her.
    let a = alice.clone();
    let mine = alice_on_topic("orders", LITERAL, RD_KAFKA_ACL_OPERATION_ALTER);
    let refused = blocking(move || create_acls(&a, &[mine]))
        .await
        .expect("CreateAcls answered");
    let (code, message) = refused[0].clone().expect_err("refused");
    assert_eq!(code, RDKafkaErrorCode::ClusterAuthorizationFailed);
    assert!(message.contains("User:alice"), "{message}");
    broker.stop().await;
}

#[test]
fn kafka_python_reads_the_refusal_codes() {
    let python = std::env::var("KTUI_TEST_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/test-venv/bin/python").to_string()
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/python_acls.py");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let broker = rt.block_on(secured_broker());
    let mut cmd = std::process::Command::new(python);
    cmd.args([script, &broker.bootstrap(), ALICE_PASSWORD, ADMIN_PASSWORD]);
    let out = crate::clients::run(cmd, None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(" passed, 0 failed"), "{text}");
    rt.block_on(broker.stop());
}
