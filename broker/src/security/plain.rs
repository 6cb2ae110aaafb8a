//! SASL/PLAIN (RFC 4616) as Kafka's `PlainSaslServer` checks it: one client message,
//! `[authzid] NUL authcid NUL passwd`, checked against the `user_<name>` options of the
//! listener's `PlainLoginModule`. Passwords are compared in constant time and never echoed.

use std::collections::BTreeMap;

use super::secret::constant_time_eq;
use super::Secret;

/// Why a PLAIN message was refused: the message is the one Kafka sends the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainRefusal(pub &'static str);

/// Checks one PLAIN client message; returns the authenticated user name.
pub fn authenticate(
    message: &[u8],
    users: &BTreeMap<String, Secret>,
) -> Result<String, PlainRefusal> {
    let mut parts = message.split(|b| *b == 0);
    let (Some(authzid), Some(user), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(PlainRefusal(
            "Invalid SASL/PLAIN response: expected 3 tokens",
        ));
    };
    let Ok(user) = std::str::from_utf8(user) else {
        return Err(PlainRefusal(
            "Authentication failed: Invalid username or password",
        ));
    };
    if user.is_empty() {
        return Err(PlainRefusal(
            "Authentication failed: username not specified",
        ));
    }
    if password.is_empty() {
        return Err(PlainRefusal(
            "Authentication failed: password not specified",
        ));
    }
    let known = users
        .get(user)
        .is_some_and(|expected| constant_time_eq(expected.expose(), password));
    if !known {
        return Err(PlainRefusal(
            "Authentication failed: Invalid username or password",
        ));
    }
    if !authzid.is_empty() && authzid != user.as_bytes() {
        return Err(PlainRefusal(
            "Authentication failed: Client requested an authorization id that is different from username",
        ));
    }
    Ok(user.to_string())
}

/// The PLAIN message a client sends for `user` and `password`.
pub fn client_message(user: &str, password: &Secret) -> Vec<u8> {
    let mut out = Vec::with_capacity(user.len() + password.expose().len() + 2);
    out.push(0);
    out.extend_from_slice(user.as_bytes());
    out.push(0);
    out.extend_from_slice(password.expose());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_answers() {
        let users: BTreeMap<String, Secret> = [("alice".to_string(), Secret::from("pw"))].into();
        let ok = authenticate(&client_message("alice", &Secret::from("pw")), &users);
        assert_eq!(ok, Ok("alice".into()));
        assert_eq!(
            authenticate(b"alice\0alice\0pw", &users),
            Ok("alice".into())
        );
        let refused = |m: &[u8]| authenticate(m, &users).expect_err("refused").0;
        assert!(refused(b"\0alice\0nope").contains("Invalid username or password"));
        assert!(refused(b"\0bob\0pw").contains("Invalid username or password"));
        assert!(refused(b"\0\0pw").contains("username not specified"));
        assert!(refused(b"\0alice\0").contains("password not specified"));
        assert!(refused(b"bob\0alice\0pw").contains("authorization id"));
        assert!(refused(b"alice\0pw").contains("expected 3 tokens"));
        assert!(refused(b"a\0b\0c\0d").contains("expected 3 tokens"));
    }
}
