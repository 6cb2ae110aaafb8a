//! JAAS login module configuration, as Kafka's `sasl.jaas.config` values write it:
//!
//! ```text
//! org.apache.kafka.common.security.plain.PlainLoginModule required
//!     username="admin" password="admin-secret" user_admin="admin-secret";
//! ```
//!
//! One login module, its control flag, options as `name=value` (the value a word or a quoted
//! string with backslash escapes), and a closing `;` (Kafka's `JaasConfig`). Option values are
//! kept as [`Secret`]s where they may be passwords, and a parse error never quotes the text.

use std::collections::BTreeMap;

use super::Secret;

/// A parsed login module entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JaasEntry {
    /// The login module's class name.
    pub module: String,
    /// `required`, `requisite`, `sufficient` or `optional`.
    pub flag: String,
    /// The options; every value is treated as secret.
    pub options: BTreeMap<String, Secret>,
}

impl JaasEntry {
    /// An option's value as text (user names), if set and UTF-8.
    pub fn text(&self, name: &str) -> Option<String> {
        let value = self.options.get(name)?;
        String::from_utf8(value.expose().to_vec()).ok()
    }

    /// The PLAIN users of Kafka's `PlainLoginModule`: every `user_<name>` option.
    pub fn plain_users(&self) -> BTreeMap<String, Secret> {
        self.options
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("user_")?.to_string(), v.clone())))
            .collect()
    }
}

/// Why a JAAS value was refused; the message never quotes the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JaasError(&'static str);

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
    Semicolon,
}

/// Parses a `sasl.jaas.config` value: exactly one login module, as Kafka requires.
pub fn parse(text: &str) -> Result<JaasEntry, JaasError> {
    let tokens = tokenize(text)?;
    let mut it = tokens.into_iter().peekable();
    let module = match it.next() {
        Some(Token::Word(w)) => w,
        _ => return Err(JaasError("expected a login module class name")),
    };
    let flag = match it.next() {
        Some(Token::Word(w)) => w.to_ascii_lowercase(),
        _ => return Err(JaasError("expected a control flag after the login module")),
    };
    if !matches!(
        flag.as_str(),
        "required" | "requisite" | "sufficient" | "optional"
    ) {
        return Err(JaasError(
            "the control flag must be required, requisite, sufficient or optional",
        ));
    }
    let mut options = BTreeMap::new();
    loop {
        match it.next() {
            Some(Token::Semicolon) => break,
            Some(Token::Word(name)) => {
                if it.next() != Some(Token::Equals) {
                    return Err(JaasError("expected '=' after an option name"));
                }
                let value = match it.next() {
                    Some(Token::Word(v) | Token::Quoted(v)) => v,
                    _ => return Err(JaasError("expected a value after '='")),
                };
                options.insert(name, Secret::from(value));
            }
            _ => {
                return Err(JaasError(
                    "expected an option or ';' to end the login module",
                ))
            }
        }
    }
    if it.next().is_some() {
        return Err(JaasError(
            "sasl.jaas.config must contain exactly one login module",
        ));
    }
    Ok(JaasEntry {
        module,
        flag,
        options,
    })
}

fn tokenize(text: &str) -> Result<Vec<Token>, JaasError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '=' => {
                chars.next();
                tokens.push(Token::Equals);
            }
            ';' => {
                chars.next();
                tokens.push(Token::Semicolon);
            }
            '"' | '\'' => {
                chars.next();
                tokens.push(Token::Quoted(quoted(&mut chars, c)?));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '=' | ';' | '"' | '\'') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

/// A quoted string after its opening quote, with Java's `StreamTokenizer` escapes.
fn quoted(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    quote: char,
) -> Result<String, JaasError> {
    let mut out = String::new();
    loop {
        match chars.next() {
            None => return Err(JaasError("a quoted value is not closed")),
            Some(c) if c == quote => return Ok(out),
            Some('\\') => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(c) => out.push(c),
                None => return Err(JaasError("a quoted value is not closed")),
            },
            Some(c) => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_plain_login_module() {
        let entry = parse(
            "org.apache.kafka.common.security.plain.PlainLoginModule required \
             username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" \
             user_alice=\"al\\\"ice;=\";",
        )
        .expect("parses");
        assert!(entry.module.ends_with("PlainLoginModule"));
        assert_eq!(entry.flag, "required");
        assert_eq!(entry.text("username").as_deref(), Some("admin"));
        let users = entry.plain_users();
        assert_eq!(users.len(), 2);
        assert_eq!(users["alice"].expose(), b"al\"ice;=");
        assert_eq!(users["admin"].expose(), b"admin-secret");
    }

    #[test]
    fn errors_never_quote_the_value() {
        let cases = [
            "",
            "Module",
            "Module bogus password=\"s3cret\";",
            "Module required password=\"s3cret\"",
            "Module required password=\"s3cret;",
            "Module required password=\"s3cret\"; Other required;",
            "Module required password;",
        ];
        for text in cases {
            let err = parse(text).expect_err(text);
            assert!(!err.to_string().contains("s3cret"), "{err}");
        }
        assert!(format!("{:?}", parse("M required password=x;")).contains("[hidden]"));
    }
}
