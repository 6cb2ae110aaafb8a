//! `meta.properties`: which cluster and node a data directory belongs to, as Kafka's
//! `kafka-storage.sh format` writes it. A directory of another cluster or node is refused.

use std::path::Path;

use uuid::Uuid;

const FILE_NAME: &str = "meta.properties";

/// Why a data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{dir} belongs to cluster {found}, not {wanted}; use another directory, or remove it to start afresh")]
    OtherCluster {
        dir: String,
        found: String,
        wanted: String,
    },
    #[error("{dir} belongs to node {found}, not node {wanted}")]
    OtherNode {
        dir: String,
        found: i32,
        wanted: i32,
    },
    #[error("{dir}/meta.properties: {message}")]
    Invalid { dir: String, message: String },
    #[error("{dir}: {source}")]
    Io { dir: String, source: std::io::Error },
}

/// Kafka's cluster ids are a random UUID in URL-safe base64 without padding (22 characters).
pub fn new_cluster_id() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Uuid::new_v4().as_bytes())
}

/// Whether the directory has been formatted (has its `meta.properties`).
pub fn is_formatted(dir: &Path) -> bool {
    dir.join(FILE_NAME).exists()
}

/// Returns the directory's cluster id, formatting it first when it has none: with `wanted`,
/// else `fallback`, else a new id. A formatted directory must match `wanted` and `node_id`.
pub fn ensure_formatted(
    dir: &Path,
    node_id: i32,
    wanted: Option<&str>,
    fallback: Option<&str>,
) -> Result<String, StorageError> {
    let shown = dir.display().to_string();
    let io = |source| StorageError::Io {
        dir: shown.clone(),
        source,
    };
    let path = dir.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let props = crate::config::parse_properties(&text);
            let get = |key: &str| props.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
            let invalid = |message: &str| StorageError::Invalid {
                dir: shown.clone(),
                message: message.into(),
            };
            let cluster = get("cluster.id").ok_or_else(|| invalid("no cluster.id"))?;
            let node: i32 = get("node.id")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| invalid("no node.id"))?;
            if let Some(w) = wanted.filter(|w| *w != cluster) {
                return Err(StorageError::OtherCluster {
                    dir: shown.clone(),
                    found: cluster,
                    wanted: w.to_string(),
                });
            }
            if node != node_id {
                return Err(StorageError::OtherNode {
                    dir: shown.clone(),
                    found: node,
                    wanted: node_id,
                });
            }
            Ok(cluster)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let cluster = wanted
                .or(fallback)
                .map_or_else(new_cluster_id, str::to_string);
            std::fs::create_dir_all(dir).map_err(io)?;
            let text = format!(
                "#\n#{}\nversion=1\nnode.id={node_id}\ncluster.id={cluster}\ndirectory.id={}\n",
                "written by ktui's broker (kafka-storage.sh format)",
                new_cluster_id()
            );
            let tmp = dir.join(format!("{FILE_NAME}.tmp"));
            std::fs::write(&tmp, text).map_err(io)?;
            std::fs::rename(&tmp, &path).map_err(io)?;
            tracing::info!(dir = %shown, cluster_id = %cluster, node_id, "data directory formatted");
            Ok(cluster)
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_keeps_its_cluster_and_node() {
        let dir = tempfile::tempdir().expect("dir");
        let id = ensure_formatted(dir.path(), 1, Some("abc"), None).expect("format");
        assert_eq!(id, "abc");
        assert_eq!(
            ensure_formatted(dir.path(), 1, None, None).expect("reopen"),
            "abc"
        );
        let other = ensure_formatted(dir.path(), 1, Some("xyz"), None).expect_err("other");
        assert!(
            other
                .to_string()
                .contains("belongs to cluster abc, not xyz"),
            "{other}"
        );
        assert!(ensure_formatted(dir.path(), 2, None, None).is_err());
        let fresh = tempfile::tempdir().expect("dir");
        assert_eq!(
            ensure_formatted(fresh.path(), 0, None, None)
                .expect("new")
                .len(),
            22
        );
    }
}
