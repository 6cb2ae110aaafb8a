//! The JSON files of kafka-reassign-partitions.sh, read and written as that tool does: the
//! topics to move (`{"version":1,"topics":[{"topic":"t"}]}`) and a reassignment plan
//! (`{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],
//! "log_dirs":["any","any"]}]}`), with its checks and, as far as they go, its error texts. Log directories other than `any`
//! (AlterReplicaLogDirs) are refused: ktui does not move replicas between directories.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::topic_partitions::{self, tp_name};
use crate::client::admin::TopicPartition;

/// The only version of both files.
const VERSION: i64 = 1;
/// A replica's log directory when the broker chooses it.
const ANY_LOG_DIR: &str = "any";

/// A plan as the tool writes it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Plan {
    version: i64,
    partitions: Vec<PlannedPartition>,
}

#[derive(Debug, Clone, Serialize)]
struct PlannedPartition {
    topic: String,
    partition: i32,
    replicas: Vec<i32>,
    log_dirs: Vec<String>,
}

impl Plan {
    /// A plan of `assignments`, sorted by topic and partition.
    pub(super) fn new(assignments: &BTreeMap<TopicPartition, Vec<i32>>) -> Self {
        let partitions = assignments
            .iter()
            .map(|((topic, partition), replicas)| PlannedPartition {
                topic: topic.clone(),
                partition: *partition,
                replicas: replicas.clone(),
                log_dirs: vec![ANY_LOG_DIR.to_string(); replicas.len()],
            })
            .collect();
        Plan {
            version: VERSION,
            partitions,
        }
    }

    /// One line of compact JSON, as the tool prints plans.
    pub(super) fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[derive(Debug, Deserialize)]
struct PlanFile {
    version: Option<i64>,
    partitions: Option<Vec<FilePartition>>,
}

#[derive(Debug, Deserialize)]
struct FilePartition {
    topic: String,
    partition: i32,
    replicas: Vec<i32>,
    log_dirs: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct TopicsFile {
    version: Option<i64>,
    topics: Option<Vec<FileTopic>>,
}

#[derive(Debug, Deserialize)]
struct FileTopic {
    topic: String,
}

fn read<T: serde::de::DeserializeOwned>(flag: &str, path: &Path) -> anyhow::Result<T> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {flag} '{shown}': {e}"))?;
    serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{flag} '{shown}' is not a valid file: {e}"))
}

fn check_version(flag: &str, path: &Path, version: Option<i64>) -> anyhow::Result<()> {
    match version.unwrap_or(VERSION) {
        VERSION => Ok(()),
        other => anyhow::bail!(
            "{flag} '{}': Not supported version field value {other}",
            path.display()
        ),
    }
}

/// The partitions and target replicas of `--reassignment-json-file`, in file order.
pub(super) fn read_plan(path: &Path) -> anyhow::Result<Vec<(TopicPartition, Vec<i32>)>> {
    const FLAG: &str = "--reassignment-json-file";
    let file: PlanFile = read(FLAG, path)?;
    check_version(FLAG, path, file.version)?;
    let shown = path.display();
    let partitions = file.partitions.unwrap_or_default();
    if partitions.is_empty() {
        anyhow::bail!("{FLAG} '{shown}': Partition reassignment list cannot be empty");
    }
    let mut plan = Vec::with_capacity(partitions.len());
    for p in partitions {
        let tp = (p.topic, p.partition);
        check_replicas(&tp, &p.replicas, p.log_dirs.as_deref())
            .map_err(|e| anyhow::anyhow!("{FLAG} '{shown}': {e}"))?;
        plan.push((tp, p.replicas));
    }
    let tps: Vec<TopicPartition> = plan.iter().map(|(tp, _)| tp.clone()).collect();
    if let Some(dup) = topic_partitions::first_duplicate(&tps) {
        anyhow::bail!(
            "{FLAG} '{shown}': Partition reassignment contains duplicate topic partitions: {}",
            tp_name(dup)
        );
    }
    Ok(plan)
}

fn check_replicas(
    tp: &TopicPartition,
    replicas: &[i32],
    log_dirs: Option<&[String]>,
) -> anyhow::Result<()> {
    if replicas.is_empty() {
        anyhow::bail!("Partition replica list cannot be empty ({})", tp_name(tp));
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = replicas.iter().find(|r| !seen.insert(**r)) {
        anyhow::bail!(
            "Partition replica lists may not contain duplicate entries: {} contains \
             multiple entries for {dup}",
            tp_name(tp)
        );
    }
    let Some(dirs) = log_dirs else {
        return Ok(());
    };
    if dirs.len() != replicas.len() {
        anyhow::bail!(
            "Size of replicas list {replicas:?} is different from size of log dirs list \
             {dirs:?} for partition {}",
            tp_name(tp)
        );
    }
    if let Some(dir) = dirs.iter().find(|d| d.as_str() != ANY_LOG_DIR) {
        anyhow::bail!(
            "log dir '{dir}' for partition {}: ktui does not move replicas between log \
             directories; use \"any\"",
            tp_name(tp)
        );
    }
    Ok(())
}

/// The topics of `--topics-to-move-json-file`.
pub(super) fn read_topics(path: &Path) -> anyhow::Result<Vec<String>> {
    const FLAG: &str = "--topics-to-move-json-file";
    let file: TopicsFile = read(FLAG, path)?;
    check_version(FLAG, path, file.version)?;
    let shown = path.display();
    let topics: Vec<String> = file
        .topics
        .unwrap_or_default()
        .into_iter()
        .map(|t| t.topic)
        .collect();
    if topics.is_empty() {
        anyhow::bail!(
            "{FLAG} '{shown}' names no topics: give {{\"topics\":[{{\"topic\":\"t\"}}]}}"
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = topics.iter().find(|t| !seen.insert(t.as_str())) {
        anyhow::bail!(
            "{FLAG} '{shown}': List of topics to reassign contains duplicate entries: {dup}"
        );
    }
    Ok(topics)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut f, text.as_bytes()).expect("write");
        f
    }

    #[test]
    fn plans_round_trip_in_kafkas_shape() {
        let assignments = BTreeMap::from([
            (("t".to_string(), 1), vec![2, 3]),
            (("t".to_string(), 0), vec![1, 2]),
        ]);
        let line = Plan::new(&assignments).to_line();
        assert_eq!(
            line,
            r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any","any"]},{"topic":"t","partition":1,"replicas":[2,3],"log_dirs":["any","any"]}]}"#
        );
        let f = file(&line);
        let read = read_plan(f.path()).expect("read");
        assert_eq!(read[0], (("t".to_string(), 0), vec![1, 2]));
        // log_dirs and version may be left out.
        let f = file(r#"{"partitions":[{"topic":"u","partition":2,"replicas":[5]}]}"#);
        assert_eq!(read_plan(f.path()).expect("read")[0].1, vec![5]);
    }

    #[test]
    fn bad_plans_are_refused_with_kafkas_reasons() {
        let cases = [
            ("{not json", "is not a valid file"),
            (
                r#"{"version":2,"partitions":[]}"#,
                "Not supported version field value 2",
            ),
            (
                r#"{"version":1}"#,
                "Partition reassignment list cannot be empty",
            ),
            (
                r#"{"partitions":[{"topic":"t","partition":0,"replicas":[]}]}"#,
                "Partition replica list cannot be empty",
            ),
            (
                r#"{"partitions":[{"topic":"t","partition":0,"replicas":[1,1]}]}"#,
                "t-0 contains multiple entries for 1",
            ),
            (
                r#"{"partitions":[{"topic":"t","partition":0,"replicas":[1]},{"topic":"t","partition":0,"replicas":[2]}]}"#,
                "duplicate topic partitions: t-0",
            ),
            (
                r#"{"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any"]}]}"#,
                "is different from size of log dirs list",
            ),
            (
                r#"{"partitions":[{"topic":"t","partition":0,"replicas":[1],"log_dirs":["/data"]}]}"#,
                "log dir '/data'",
            ),
            (
                r#"{"partitions":[{"topic":"t","replicas":[1]}]}"#,
                "missing field `partition`",
            ),
        ];
        for (text, reason) in cases {
            let f = file(text);
            let e = read_plan(f.path()).expect_err(text).to_string();
            assert!(e.contains(reason), "{text}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
        let f = file(r#"{"version":1,"topics":[{"topic":"a"},{"topic":"a"}]}"#);
        let e = read_topics(f.path()).expect_err("dup").to_string();
        assert!(e.contains("duplicate entries: a"), "{e}");
        let f = file(r#"{"version":1,"topics":[{"topic":"a"},{"topic":"b"}]}"#);
        assert_eq!(read_topics(f.path()).expect("topics"), vec!["a", "b"]);
    }
}
