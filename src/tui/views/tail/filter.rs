//! The tail's filter: text (case-insensitive) or a regex after `~`, over key, value and
//! headers; or, starting with `$`, a JSONPath filter on the value parsed as JSON
//! (`$.customer.id == "42"`, `$.amount > 100 && $.currency == 'EUR'`, `$.items[?@.sku]`).
//!
//! A JSONPath filter is an RFC 9535 filter expression in which `$` is the record's value:
//! it is evaluated as `$[?EXPR]` (with `$` read as `@`) over a one-element array holding the
//! value, by `serde_json_path`, so comparisons, `&&`, `||`, `!`, existence tests and the
//! standard functions (`length`, `count`, `match`, `search`, `value`) all work. A value that
//! is not JSON (or was cut to the bytes the tail keeps) never matches.

use regex::Regex;
use serde_json_path::JsonPath;

use crate::tui::model::TailRecord;

/// A compiled filter.
#[derive(Debug, Clone)]
pub(super) enum Filter {
    None,
    Text(String),
    Regex(Regex),
    Json(JsonPath),
}

impl Filter {
    pub(super) fn parse(text: &str) -> Result<Filter, String> {
        if text.is_empty() {
            Ok(Filter::None)
        } else if let Some(re) = text.strip_prefix('~') {
            Regex::new(re)
                .map(Filter::Regex)
                .map_err(|e| format!("bad regex: {e}"))
        } else if text.trim_start().starts_with('$') {
            let query = format!("$[?{}]", current_node_for_root(text.trim()));
            JsonPath::parse(&query)
                .map(Filter::Json)
                .map_err(|e| format!("bad JSONPath filter: {e}"))
        } else {
            Ok(Filter::Text(text.to_lowercase()))
        }
    }

    pub(super) fn accepts(&self, r: &TailRecord) -> bool {
        match self {
            Filter::None => true,
            Filter::Json(path) => r
                .value
                .as_deref()
                .and_then(|v| serde_json::from_slice::<serde_json::Value>(v).ok())
                .is_some_and(|value| {
                    !path
                        .query(&serde_json::Value::Array(vec![value]))
                        .all()
                        .is_empty()
                }),
            Filter::Text(_) | Filter::Regex(_) => {
                let test = |bytes: &[u8]| {
                    let text = String::from_utf8_lossy(bytes);
                    match self {
                        Filter::Text(t) => text.to_lowercase().contains(t.as_str()),
                        Filter::Regex(re) => re.is_match(&text),
                        Filter::None | Filter::Json(_) => true,
                    }
                };
                r.key.as_deref().is_some_and(test)
                    || r.value.as_deref().is_some_and(test)
                    || r.headers
                        .iter()
                        .any(|(k, v)| test(k.as_bytes()) || v.as_deref().is_some_and(test))
            }
        }
    }
}

/// `expr` with every `$` outside string literals turned into `@` (the value is the current
/// node of the filter the expression becomes).
fn current_node_for_root(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in expr.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None => {
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
                out.push(if c == '$' { '@' } else { c });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value: &str) -> TailRecord {
        TailRecord {
            value: Some(value.as_bytes().to_vec()),
            value_len: value.len(),
            ..TailRecord::default()
        }
    }

    fn accepts(filter: &str, value: &str) -> bool {
        Filter::parse(filter)
            .expect("filter")
            .accepts(&record(value))
    }

    #[test]
    fn json_path_filters_match_on_the_value() {
        let order = r#"{"customer":{"id":"42","tier":"gold"},"amount":120,"items":[{"sku":"a"}]}"#;
        assert!(accepts(r#"$.customer.id == "42""#, order));
        assert!(!accepts(r#"$.customer.id == "43""#, order));
        assert!(accepts(
            "$.amount > 100 && $.customer.tier == 'gold'",
            order
        ));
        assert!(!accepts(
            "$.amount > 200 || $.customer.tier == 'silver'",
            order
        ));
        assert!(accepts("$.customer", order), "existence");
        assert!(!accepts("$.shipping", order));
        assert!(accepts("$.items[?@.sku == 'a']", order), "a nested filter");
        assert!(accepts(
            "$.items[0].sku == 'a' && length($.items) == 1",
            order
        ));
        assert!(
            accepts(r#"$.customer.id == "4$2" || $.amount == 120"#, order),
            "$ in a string"
        );
        assert!(
            !accepts("$.amount > 1", "not json"),
            "a value that is not JSON"
        );
    }

    #[test]
    fn bad_filters_say_what_is_wrong() {
        assert!(Filter::parse("$.a ==").is_err_and(|e| e.starts_with("bad JSONPath filter")));
        assert!(Filter::parse("~(").is_err_and(|e| e.starts_with("bad regex")));
        assert!(matches!(Filter::parse("Plain"), Ok(Filter::Text(t)) if t == "plain"));
    }

    #[test]
    fn dollars_in_strings_stay() {
        assert_eq!(
            current_node_for_root(r#"$.a == "$x" && $['b\'$'] == '$'"#),
            r#"@.a == "$x" && @['b\'$'] == '$'"#
        );
    }
}
