//! Java `.properties` parsing, as Kafka reads `server.properties`: `key=value`, `key: value`
//! or `key value`, `#` and `!` comments, and `\` at the end of a line to continue it.

/// Parses properties text into (key, value) pairs in file order.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        if let Some(body) = line.strip_suffix('\\') {
            pending.push_str(body);
            continue;
        }
        pending.push_str(line);
        if let Some(pair) = split_pair(&pending) {
            out.push(pair);
        }
        pending.clear();
    }
    if let Some(pair) = split_pair(&pending) {
        out.push(pair);
    }
    out
}

fn split_pair(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let cut = line.find(['=', ':', ' ', '\t']).unwrap_or(line.len());
    let key = line[..cut].trim();
    let rest = line[cut..].trim_start();
    let value = rest.strip_prefix(['=', ':']).unwrap_or(rest).trim();
    Some((key.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::parse_properties;

    #[test]
    fn forms_comments_and_continuations() {
        let text = "# c\n! c\na=1\nb: 2\nc 3\nd = x\\\n  y\n\n";
        let got = parse_properties(text);
        let want: Vec<(String, String)> = [("a", "1"), ("b", "2"), ("c", "3"), ("d", "xy")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
    }
}
