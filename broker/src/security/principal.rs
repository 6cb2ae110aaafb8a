//! The principal of a TLS client with a certificate, as Kafka's `DefaultKafkaPrincipalBuilder`
//! and `SslPrincipalMapper` make it: the certificate's subject as an RFC 2253 string (Java's
//! `X500Principal.getName()`: most specific RDN first, `CN=alice,OU=eng,O=Acme`), mapped by
//! `ssl.principal.mapping.rules`: `DEFAULT` keeps it, `RULE:pattern/replacement/[LU]` rewrites
//! a subject the pattern matches whole (lower- or upper-casing it with `L` or `U`); the first
//! rule that applies wins, and a subject no rule applies to is refused.

use regex::Regex;

use crate::authorizer::Principal;

/// One mapping rule.
#[derive(Debug, Clone)]
enum Rule {
    Default,
    Rewrite {
        /// The pattern, anchored: it must match the whole subject.
        whole: Regex,
        pattern: Regex,
        /// The replacement, with Java's `$1` written as `${1}`.
        replacement: String,
        case: Option<char>,
    },
}

/// `ssl.principal.mapping.rules`, parsed.
#[derive(Debug, Clone)]
pub struct PrincipalMapper {
    rules: Vec<Rule>,
}

impl PrincipalMapper {
    /// Parses the rules; the message names the rule that is wrong.
    pub fn parse(rules: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        let mut rest = rules.trim();
        while !rest.is_empty() {
            let (rule, after) = if let Some(after) = rest.strip_prefix("DEFAULT") {
                (Rule::Default, after)
            } else if let Some(after) = rest.strip_prefix("RULE:") {
                parse_rewrite(after)?
            } else {
                return Err(format!("invalid rule '{rest}'"));
            };
            out.push(rule);
            let after = after.trim_start();
            rest = match after.strip_prefix(',') {
                Some(next) => next.trim_start(),
                None if after.is_empty() => after,
                None => return Err(format!("unmatched text '{after}' after a rule")),
            };
        }
        if out.is_empty() {
            out.push(Rule::Default);
        }
        Ok(PrincipalMapper { rules: out })
    }

    /// The principal for a subject DN; `None` when no rule applies (Kafka refuses the
    /// connection then).
    pub fn principal(&self, subject: &str) -> Option<Principal> {
        self.rules.iter().find_map(|rule| match rule {
            Rule::Default => Some(Principal::user(subject)),
            Rule::Rewrite {
                whole,
                pattern,
                replacement,
                case,
            } => {
                if !whole.is_match(subject) {
                    return None;
                }
                let name = pattern.replace_all(subject, replacement.as_str());
                let name = match case {
                    Some('L') => name.to_lowercase(),
                    Some('U') => name.to_uppercase(),
                    _ => name.into_owned(),
                };
                Some(Principal::user(name))
            }
        })
    }
}

/// `pattern/replacement/[LU]` up to the end of the rule.
fn parse_rewrite(text: &str) -> Result<(Rule, &str), String> {
    let (pattern, rest) = until_slash(text).ok_or_else(|| format!("invalid rule 'RULE:{text}'"))?;
    let (replacement, rest) =
        until_slash(rest).ok_or_else(|| format!("invalid rule 'RULE:{text}'"))?;
    let (case, rest) = match rest.chars().next() {
        Some(c @ ('L' | 'U')) => (Some(c), &rest[1..]),
        _ => (None, rest),
    };
    let compile = |p: &str| Regex::new(p).map_err(|e| format!("rule pattern '{pattern}': {e}"));
    let rule = Rule::Rewrite {
        whole: compile(&format!("^(?:{pattern})$"))?,
        pattern: compile(pattern)?,
        replacement: java_replacement(replacement),
        case,
    };
    // Anything up to the next ',' belongs to this rule (Kafka's lazy `.*?`).
    let end = rest.find(',').unwrap_or(rest.len());
    Ok((rule, &rest[end..]))
}

/// Splits at the first '/' not escaped by a backslash.
fn until_slash(text: &str) -> Option<(&str, &str)> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '/' if !escaped => return Some((&text[..i], &text[i + 1..])),
            _ => escaped = false,
        }
    }
    None
}

/// Java's replacement syntax (`$1`, `\$` for a literal) in the regex crate's (`${1}`, `$$`).
fn java_replacement(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' if chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                out.push_str(&format!("${{{digits}}}"));
            }
            '$' => out.push_str("$$"),
            other => out.push(other),
        }
    }
    out
}

/// The subject of a DER certificate as RFC 2253 writes it; `None` if it does not parse.
pub fn subject_dn(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let mut rdns = Vec::new();
    for rdn in cert.subject().iter() {
        let parts: Vec<String> = rdn
            .iter()
            .map(|attr| {
                let oid = attr.attr_type().to_id_string();
                let value = attr
                    .as_str()
                    .map(escape)
                    .unwrap_or_else(|_| format!("#{}", hex(attr.as_slice())));
                format!("{}={value}", keyword(&oid).unwrap_or(&oid))
            })
            .collect();
        rdns.push(parts.join("+"));
    }
    rdns.reverse();
    Some(rdns.join(","))
}

/// RFC 2253's attribute type keywords, as Java writes them.
fn keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// RFC 2253 escaping of an attribute value.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_mapping_rules() {
        let dn = "CN=Alice,OU=Eng,O=Acme,C=GB";
        let default = PrincipalMapper::parse("DEFAULT").expect("rules");
        assert_eq!(default.principal(dn), Some(Principal::user(dn)));
        let rules = PrincipalMapper::parse(
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/, RULE:^CN=(.*?),OU=(.*?),O=(.*?),C=(.*)$/$1@$2/L, DEFAULT",
        )
        .expect("rules");
        assert_eq!(rules.principal(dn), Some(Principal::user("alice@eng")));
        assert_eq!(
            rules.principal("CN=svc,OU=ServiceUsers,O=Acme"),
            Some(Principal::user("svc"))
        );
        assert_eq!(rules.principal("CN=x"), Some(Principal::user("CN=x")));
        let strict = PrincipalMapper::parse("RULE:^CN=([a-z]+)$/$1/U").expect("rules");
        assert_eq!(strict.principal("CN=bob"), Some(Principal::user("BOB")));
        assert_eq!(strict.principal("CN=Bob,O=x"), None);
        assert!(PrincipalMapper::parse("NONSENSE").is_err());
        assert!(PrincipalMapper::parse("RULE:^(a$/x/").is_err());
    }

    #[test]
    fn values_are_escaped_as_rfc_2253_says() {
        assert_eq!(escape("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape(" #x "), "\\ #x\\ ");
    }
}
