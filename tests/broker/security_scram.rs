//! SCRAM-SHA-256 and SCRAM-SHA-512: users created with AlterUserScramCredentials (salted
//! passwords computed on the client's side, as Kafka's AdminClient sends them) or with
//! `--add-scram` at format time log in with librdkafka; DescribeUserScramCredentials lists
//! them; a wrong password and an unknown user get the same SASL_AUTHENTICATION_FAILED.

use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, ApiKey,
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;
use ktui_broker::security::scram::{salted_password, ScramClient};
use ktui_broker::security::{Mechanism, Secret};

use crate::common::TestBroker;
use crate::raw::Raw;
use crate::security_sasl::{plain_jaas, plain_login, round_trip, ADMIN_PASSWORD};

pub const BOB_PASSWORD: &str = "bob-pw-91c2d7";

/// A broker with a SASL_PLAINTEXT listener serving PLAIN (admin) and both SCRAM mechanisms.
pub async fn scram_broker(extra: &[(&str, &str)]) -> TestBroker {
    let jaas = plain_jaas();
    let mut overrides = vec![
        ("listeners", "SASL_PLAINTEXT://127.0.0.1:0"),
        (
            "sasl.enabled.mechanisms",
            "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        ),
        (
            "listener.name.sasl_plaintext.plain.sasl.jaas.config",
            jaas.as_str(),
        ),
        ("connection.failed.authentication.delay.ms", "10"),
    ];
    overrides.extend_from_slice(extra);
    TestBroker::start_configured(&overrides).await
}

/// librdkafka settings for SCRAM as `user`.
pub fn sasl_scram(
    protocol: &str,
    mechanism: &str,
    user: &str,
    password: &str,
) -> Vec<(String, String)> {
    [
        ("security.protocol", protocol),
        ("sasl.mechanism", mechanism),
        ("sasl.username", user),
        ("sasl.password", password),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// An upsertion as Kafka's AdminClient builds it: a random salt and the salted password.
pub fn upsertion(user: &str, mechanism: Mechanism, password: &str) -> ScramCredentialUpsertion {
    let salt = uuid::Uuid::new_v4().as_bytes().to_vec();
    let salted = salted_password(mechanism, &Secret::from(password), &salt, 8192);
    ScramCredentialUpsertion::default()
        .with_name(StrBytes::from_string(user.to_string()))
        .with_mechanism(mechanism.scram_type().expect("scram"))
        .with_iterations(8192)
        .with_salt(salt.into())
        .with_salted_password(salted.expose().to_vec().into())
}

/// Sets `user`'s password for both SCRAM mechanisms through `raw` (authenticated as admin).
pub async fn set_scram_password(raw: &mut Raw, user: &str, password: &str) {
    for mechanism in [Mechanism::ScramSha256, Mechanism::ScramSha512] {
        let request = AlterUserScramCredentialsRequest::default()
            .with_upsertions(vec![upsertion(user, mechanism, password)]);
        let response: AlterUserScramCredentialsResponse = raw
            .call(ApiKey::AlterUserScramCredentials, 0, &request)
            .await;
        assert_eq!(response.results.len(), 1);
        assert_eq!(response.results[0].error_code, 0, "{response:?}");
    }
}

/// SaslHandshake v1 and the two SaslAuthenticate rounds of SCRAM with our client's side.
async fn scram_login(
    raw: &mut Raw,
    mechanism: Mechanism,
    user: &str,
    password: &str,
) -> SaslAuthenticateResponse {
    let handshake: SaslHandshakeResponse = raw
        .call(
            ApiKey::SaslHandshake,
            1,
            &SaslHandshakeRequest::default()
                .with_mechanism(StrBytes::from_static_str(mechanism.name())),
        )
        .await;
    assert_eq!(handshake.error_code, 0);
    let mut client = ScramClient::new(mechanism, user, Secret::from(password)).expect("scram");
    let first: SaslAuthenticateResponse = raw
        .call(
            ApiKey::SaslAuthenticate,
            2,
            &SaslAuthenticateRequest::default().with_auth_bytes(client.first_message().into()),
        )
        .await;
    if first.error_code != 0 {
        return first;
    }
    let last = client.final_message(&first.auth_bytes).expect("final");
    let done: SaslAuthenticateResponse = raw
        .call(
            ApiKey::SaslAuthenticate,
            2,
            &SaslAuthenticateRequest::default().with_auth_bytes(last.into()),
        )
        .await;
    if done.error_code == 0 {
        client.verify(&done.auth_bytes).expect("server signature");
    }
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_set_by_alter_user_scram_credentials_log_in_with_librdkafka() {
    let broker = scram_broker(&[]).await;
    let b = broker.bootstrap();
    let mut admin = Raw::connect(&b).await;
    assert_eq!(
        plain_login(&mut admin, "admin", ADMIN_PASSWORD)
            .await
            .error_code,
        0
    );
    set_scram_password(&mut admin, "bob", BOB_PASSWORD).await;
    let described: DescribeUserScramCredentialsResponse = admin
        .call(
            ApiKey::DescribeUserScramCredentials,
            0,
            &DescribeUserScramCredentialsRequest::default().with_users(Some(vec![
                UserName::default().with_name(StrBytes::from_static_str("bob")),
                UserName::default().with_name(StrBytes::from_static_str("nobody")),
            ])),
        )
        .await;
    assert_eq!(described.error_code, 0);
    let bob = described
        .results
        .iter()
        .find(|r| r.user.as_str() == "bob")
        .expect("bob");
    let infos: Vec<(i8, i32)> = bob
        .credential_infos
        .iter()
        .map(|c| (c.mechanism, c.iterations))
        .collect();
    assert_eq!(infos, vec![(1, 8192), (2, 8192)]);
    let nobody = described
        .results
        .iter()
        .find(|r| r.user.as_str() == "nobody")
        .expect("nobody");
    assert_eq!(nobody.error_code, 91, "RESOURCE_NOT_FOUND");
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let topic = format!("scram-{}", &mechanism[10..]);
        round_trip(
            &b,
            &sasl_scram("SASL_PLAINTEXT", mechanism, "bob", BOB_PASSWORD),
            &topic,
            20,
        )
        .await;
    }
    // Removing the SHA-512 credential leaves SHA-256.
    let removal = AlterUserScramCredentialsRequest::default().with_deletions(vec![
        ScramCredentialDeletion::default()
            .with_name(StrBytes::from_static_str("bob"))
            .with_mechanism(2),
    ]);
    let removed: AlterUserScramCredentialsResponse = admin
        .call(ApiKey::AlterUserScramCredentials, 0, &removal)
        .await;
    assert_eq!(removed.results[0].error_code, 0);
    let mut raw = Raw::connect(&b).await;
    let refused = scram_login(&mut raw, Mechanism::ScramSha512, "bob", BOB_PASSWORD).await;
    assert_eq!(refused.error_code, 58);
    let mut raw = Raw::connect(&b).await;
    let ok = scram_login(&mut raw, Mechanism::ScramSha256, "bob", BOB_PASSWORD).await;
    assert_eq!(ok.error_code, 0);
    broker.stop().await;
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_fail_alike() {
    let broker = scram_broker(&[]).await;
    let b = broker.bootstrap();
    let mut admin = Raw::connect(&b).await;
    assert_eq!(
        plain_login(&mut admin, "admin", ADMIN_PASSWORD)
            .await
            .error_code,
        0
    );
    set_scram_password(&mut admin, "bob", BOB_PASSWORD).await;
    let mut messages = Vec::new();
    for (user, password) in [("bob", "wrong-pw-5521"), ("mallory", BOB_PASSWORD)] {
        let mut raw = Raw::connect(&b).await;
        let refused = scram_login(&mut raw, Mechanism::ScramSha256, user, password).await;
        assert_eq!(refused.error_code, 58, "{user}");
        let message = refused
            .error_message
            .map(|m| m.to_string())
            .unwrap_or_default();
        assert!(
            !message.contains(password) && !message.contains(BOB_PASSWORD),
            "{message}"
        );
        messages.push(message);
        assert!(raw.is_closed().await);
    }
    assert_eq!(messages[0], messages[1]);
    assert_eq!(
        messages[0],
        "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"
    );
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_scram_creates_the_first_user_when_the_directory_is_formatted() {
    let dir = tempfile::tempdir().expect("dir");
    let overrides: Vec<(String, String)> = vec![
        ("log.dirs".into(), dir.path().display().to_string()),
        ("listeners".into(), "SASL_PLAINTEXT://127.0.0.1:0".into()),
        ("sasl.enabled.mechanisms".into(), "SCRAM-SHA-512".into()),
    ];
    let mut config = ktui_broker::BrokerConfig::from_properties("", &overrides).expect("config");
    config.add_scram = vec![Secret::from(
        "SCRAM-SHA-512=[name=root,password=root-pw-77]",
    )];
    let running = ktui_broker::RunningBroker::start(config)
        .await
        .expect("starts");
    let b = running.local_addr().to_string();
    // The listener serves once the credential is in the metadata, so the first login works.
    round_trip(
        &b,
        &sasl_scram("SASL_PLAINTEXT", "SCRAM-SHA-512", "root", "root-pw-77"),
        "boot",
        5,
    )
    .await;
    assert!(
        !dir.path().join("bootstrap-scram.json").exists(),
        "written and forgotten"
    );
    running.shutdown().await;
}
