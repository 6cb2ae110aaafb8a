//! The `:` command line: `:topics [urp]`, `:groups`, `:brokers`, `:events`, `:topic T`,
//! `:group G`, `:tail T[:P,P] [beginning|end|offset N|15m|2026-11-25T10:00:00Z]`,
//! `:produce T`, `:create`, `:elect [T [P]]`, `:acls`, `:users`, `:transactions`, `:help`,
//! `:q`. Parsing is pure; the app applies the resulting [`Action`].

use crate::tui::action::{Action, DialogKind, ElectionScope, Route, TailStart};

/// The action a command line asks for, or what is wrong with it.
pub fn parse(line: &str, now_ms: i64) -> Result<Action, String> {
    let mut words = line.split_whitespace();
    let Some(word) = words.next() else {
        return Ok(Action::None);
    };
    let arg = words.next().map(str::to_string);
    let rest: Vec<&str> = words.collect();
    let need = |what: &str| arg.clone().ok_or_else(|| format!(":{word} needs a {what}"));
    let action = match word {
        "topics" | "tp" => match arg.as_deref() {
            None => Action::Root(Route::Topics),
            Some("urp" | "unhealthy") => Action::Root(Route::UnhealthyTopics),
            Some(other) => {
                return Err(format!(
                    ":topics takes 'urp' (only unhealthy topics), not '{other}'"
                ))
            }
        },
        "events" | "ev" => Action::Root(Route::Events),
        "acls" => Action::Root(Route::Acls),
        "users" => Action::Root(Route::Users),
        "transactions" | "txn" | "txns" => Action::Root(Route::Transactions),
        "elect" => {
            let scope = match (arg.clone(), rest.first()) {
                (None, _) => ElectionScope::All,
                (Some(t), None) => ElectionScope::Topic(t),
                (Some(t), Some(p)) => {
                    let p = p
                        .parse()
                        .map_err(|_| format!(":elect: partition '{p}' is not a number"))?;
                    ElectionScope::Partition(t, p)
                }
            };
            Action::Dialog(DialogKind::Elect(scope))
        }
        "groups" | "cg" => Action::Root(Route::Groups),
        "brokers" | "br" => Action::Root(Route::Brokers),
        "topic" => Action::Open(Route::Topic(need("topic")?)),
        "group" => Action::Open(Route::Group(need("group")?)),
        "tail" => {
            let start = tail_start(&rest.join(" "), now_ms)?;
            let spec = need("topic")?;
            let _ = topic_spec(&spec)?;
            Action::Open(Route::Tail(spec, start))
        }
        "produce" => Action::Open(Route::Produce(need("topic")?)),
        "create" => Action::Dialog(DialogKind::CreateTopic),
        "help" => Action::Help,
        "q" | "quit" | "q!" => Action::Quit,
        _ => {
            return Err(format!(
                "unknown command ':{word}'; try :topics [urp] :groups :brokers :events :acls :users :transactions :tail T :produce T :elect [T [P]]"
            ))
        }
    };
    Ok(action)
}

/// `TOPIC` or `TOPIC:P,P` (Kafka topic names cannot hold `:`): the topic and the chosen
/// partitions.
pub fn topic_spec(spec: &str) -> Result<(&str, Option<Vec<i32>>), String> {
    let Some((topic, list)) = spec.split_once(':') else {
        return Ok((spec, None));
    };
    let partitions = list
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<i32>()
                .map_err(|_| format!("partition '{p}' in '{spec}' is not a number"))
        })
        .collect::<Result<Vec<i32>, String>>()?;
    Ok((topic, Some(partitions)))
}

/// Where a tail starts: `end` (default), `beginning`, `offset N` (or `@N`), a duration ago
/// (`15m`) or an RFC 3339 time.
pub fn tail_start(text: &str, now_ms: i64) -> Result<TailStart, String> {
    let text = text.trim();
    let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
    let offset = |s: &str| {
        s.trim()
            .parse::<i64>()
            .map_err(|_| format!("offset '{s}' is not a number"))
    };
    match word {
        "" | "end" | "latest" => Ok(TailStart::End),
        "beginning" | "earliest" | "begin" => Ok(TailStart::Beginning),
        "offset" => Ok(TailStart::Offset(offset(rest)?)),
        _ if word.starts_with('@') => Ok(TailStart::Offset(offset(&word[1..])?)),
        _ => {
            if let Ok(ago) = humantime::parse_duration(text) {
                let ms = i64::try_from(ago.as_millis()).unwrap_or(i64::MAX);
                Ok(TailStart::Timestamp(now_ms.saturating_sub(ms)))
            } else if let Ok(at) = humantime::parse_rfc3339_weak(text) {
                let ms = at
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
                Ok(TailStart::Timestamp(ms))
            } else {
                Err(format!(
                    "'{text}' is not end, beginning, offset N, a duration (15m) or a time"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: i64 = 1_795_600_800_000;

    #[test]
    fn commands_parse() {
        assert_eq!(parse("topics", NOW_MS), Ok(Action::Root(Route::Topics)));
        assert_eq!(
            parse("topics urp", NOW_MS),
            Ok(Action::Root(Route::UnhealthyTopics))
        );
        assert!(parse("topics ok", NOW_MS).is_err_and(|e| e.contains("'urp'")));
        assert_eq!(parse("events", NOW_MS), Ok(Action::Root(Route::Events)));
        assert_eq!(parse("txn", NOW_MS), Ok(Action::Root(Route::Transactions)));
        assert_eq!(
            parse("elect", NOW_MS),
            Ok(Action::Dialog(DialogKind::Elect(ElectionScope::All)))
        );
        assert_eq!(
            parse("elect orders 2", NOW_MS),
            Ok(Action::Dialog(DialogKind::Elect(ElectionScope::Partition(
                "orders".into(),
                2
            ))))
        );
        assert!(parse("elect orders x", NOW_MS).is_err_and(|e| e.contains("'x'")));
        assert_eq!(parse("  cg ", NOW_MS), Ok(Action::Root(Route::Groups)));
        assert_eq!(
            parse("group billing", NOW_MS),
            Ok(Action::Open(Route::Group("billing".into())))
        );
        assert_eq!(parse("", NOW_MS), Ok(Action::None));
        assert!(parse("tail", NOW_MS).is_err_and(|e| e.contains("needs a topic")));
        assert!(parse("bogus", NOW_MS).is_err_and(|e| e.contains("':bogus'")));
        assert_eq!(
            parse("tail orders:0,2 beginning", NOW_MS),
            Ok(Action::Open(Route::Tail(
                "orders:0,2".into(),
                TailStart::Beginning
            )))
        );
        assert!(parse("tail orders:x", NOW_MS).is_err());
        assert_eq!(topic_spec("orders:1, 3"), Ok(("orders", Some(vec![1, 3]))));
        assert_eq!(topic_spec("orders"), Ok(("orders", None)));
    }

    #[test]
    fn tail_starts_parse() {
        assert_eq!(tail_start("", NOW_MS), Ok(TailStart::End));
        assert_eq!(tail_start("beginning", NOW_MS), Ok(TailStart::Beginning));
        assert_eq!(tail_start("offset 42", NOW_MS), Ok(TailStart::Offset(42)));
        assert_eq!(tail_start("@7", NOW_MS), Ok(TailStart::Offset(7)));
        assert_eq!(
            tail_start("15m", NOW_MS),
            Ok(TailStart::Timestamp(NOW_MS - 15 * 60 * 1000))
        );
        assert_eq!(
            tail_start("2026-11-25T10:00:00Z", NOW_MS),
            Ok(TailStart::Timestamp(NOW_MS))
        );
        assert!(tail_start("offset x", NOW_MS).is_err());
        assert!(tail_start("yesterday-ish", NOW_MS).is_err());
    }
}
