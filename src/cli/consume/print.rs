//! How `ktui consume` prints a record: a `--format` template (kcat's `%t %p %o %k %v %T %h %K
//! %S`), or a JSON object per line with `-o json`, into a buffered stdout that a closed pipe
//! ends quietly.

use std::collections::BTreeMap;
use std::io::Write;

use base64::Engine;
use kafka_protocol::records::Record;
use serde::Serialize;

use super::super::output::Format;

/// `-o json`: one of these per line.
#[derive(Debug, Serialize)]
struct JsonRecord<'a> {
    topic: &'a str,
    partition: i32,
    offset: i64,
    timestamp: i64,
    key: Option<Data<'a>>,
    value: Option<Data<'a>>,
    headers: BTreeMap<&'a str, Option<Data<'a>>>,
}

/// Bytes in JSON: a string when they are UTF-8, else `{"base64": "..."}`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Data<'a> {
    Text(&'a str),
    Binary { base64: String },
}

impl<'a> Data<'a> {
    fn of(bytes: &'a [u8]) -> Data<'a> {
        match std::str::from_utf8(bytes) {
            Ok(s) => Data::Text(s),
            Err(_) => Data::Binary {
                base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            },
        }
    }
}

/// A parsed `--format`.
pub(super) struct Template {
    parts: Vec<Part>,
    /// `%v` alone: written without going through the parts.
    value_only: bool,
}

enum Part {
    Text(Vec<u8>),
    Topic,
    Partition,
    Offset,
    Key,
    Value,
    Timestamp,
    Headers,
    KeyLength,
    ValueLength,
}

impl Template {
    pub(super) fn parse(format: &str) -> Template {
        let mut parts = Vec::new();
        let mut text = Vec::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            let part = match (c, chars.clone().next()) {
                ('%', Some(n)) => match n {
                    't' => Some(Part::Topic),
                    'p' => Some(Part::Partition),
                    'o' => Some(Part::Offset),
                    'k' => Some(Part::Key),
                    'v' => Some(Part::Value),
                    'T' => Some(Part::Timestamp),
                    'h' => Some(Part::Headers),
                    'K' => Some(Part::KeyLength),
                    'S' => Some(Part::ValueLength),
                    '%' => Some(Part::Text(b"%".to_vec())),
                    _ => None,
                },
                ('\\', Some('n')) => Some(Part::Text(b"\n".to_vec())),
                ('\\', Some('t')) => Some(Part::Text(b"\t".to_vec())),
                _ => None,
            };
            match part {
                Some(part) => {
                    let _ = chars.next();
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(part);
                }
                None => {
                    let mut buf = [0u8; 4];
                    text.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        let value_only = matches!(parts.as_slice(), [Part::Value]);
        Template { parts, value_only }
    }

    fn write<W: Write>(
        &self,
        out: &mut W,
        topic: &str,
        partition: i32,
        r: &Record,
    ) -> std::io::Result<()> {
        if self.value_only {
            out.write_all(r.value.as_deref().unwrap_or_default())?;
            return out.write_all(b"\n");
        }
        for part in &self.parts {
            match part {
                Part::Text(t) => out.write_all(t)?,
                Part::Topic => out.write_all(topic.as_bytes())?,
                Part::Partition => write!(out, "{partition}")?,
                Part::Offset => write!(out, "{}", r.offset)?,
                Part::Key => out.write_all(r.key.as_deref().unwrap_or_default())?,
                Part::Value => out.write_all(r.value.as_deref().unwrap_or_default())?,
                Part::Timestamp => write!(out, "{}", r.timestamp)?,
                Part::Headers => write_headers(out, r)?,
                Part::KeyLength => {
                    write!(out, "{}", r.key.as_ref().map_or(-1, |k| k.len() as i64))?
                }
                Part::ValueLength => {
                    write!(out, "{}", r.value.as_ref().map_or(-1, |v| v.len() as i64))?
                }
            }
        }
        out.write_all(b"\n")
    }
}

fn write_headers<W: Write>(out: &mut W, r: &Record) -> std::io::Result<()> {
    for (i, (k, v)) in r.headers.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(k.as_bytes())?;
        out.write_all(b"=")?;
        out.write_all(v.as_deref().unwrap_or_default())?;
    }
    Ok(())
}

pub(super) struct Printer<'a, W: Write> {
    pub(super) format: Format,
    pub(super) template: Template,
    pub(super) topic: &'a str,
    pub(super) out: W,
    /// Records printed so far.
    pub(super) count: u64,
}

impl<W: Write> Printer<'_, W> {
    /// Writes out what is buffered; false when stdout has closed.
    pub(super) fn flush(&mut self) -> anyhow::Result<bool> {
        match self.out.flush() {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Prints as many of `records` as `limit` leaves room for, then flushes when `flush`
    /// says nothing else is waiting; returns the offset after the last record printed, if
    /// any, and false when stdout has closed.
    pub(super) fn deliver(
        &mut self,
        partition: i32,
        records: &[Record],
        limit: u64,
        flush: bool,
    ) -> anyhow::Result<(Option<i64>, bool)> {
        let left = usize::try_from(limit.saturating_sub(self.count)).unwrap_or(usize::MAX);
        let taken = &records[..records.len().min(left)];
        let next = taken.last().map(|r| r.offset + 1);
        let open = self.print(partition, taken)? && (!flush || self.flush()?);
        Ok((next, open))
    }

    /// Prints `records`; false when stdout has closed.
    pub(super) fn print(&mut self, partition: i32, records: &[Record]) -> anyhow::Result<bool> {
        let result = records.iter().try_for_each(|r| match self.format {
            Format::Table => self.template.write(&mut self.out, self.topic, partition, r),
            Format::Json => self.write_json(partition, r),
        });
        self.count += records.len() as u64;
        match result {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn write_json(&mut self, partition: i32, r: &Record) -> std::io::Result<()> {
        let record = JsonRecord {
            topic: self.topic,
            partition,
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key.as_deref().map(Data::of),
            value: r.value.as_deref().map(Data::of),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref().map(Data::of)))
                .collect(),
        };
        serde_json::to_writer(&mut self.out, &record)?;
        self.out.write_all(b"\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_strings_parse() {
        let t = Template::parse("%p %o %k=%v\\t%%");
        assert_eq!(t.parts.len(), 9);
        assert!(Template::parse("%v").value_only);
    }
}
