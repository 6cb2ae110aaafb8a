//! Metadata kept before the quorum: one JSON image, `cluster-metadata.json`, in the log
//! directory. A broker that finds it and no metadata log turns it into records once, so its
//! topics (and their logs) carry over, then renames the file.

use std::path::{Path, PathBuf};

use super::records::{MetadataRecord, CONFIG_RESOURCE_TOPIC};
use super::ClusterImage;

const FILE_NAME: &str = "cluster-metadata.json";

/// The old image in `dir`, if there is one.
pub fn load(dir: &Path) -> std::io::Result<Option<ClusterImage>> {
    let path = dir.join(FILE_NAME);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The records that rebuild the old image's topics and producer ids.
pub fn records(image: &ClusterImage) -> Vec<MetadataRecord> {
    let mut records = Vec::new();
    for (name, topic) in &image.topics {
        records.push(MetadataRecord::Topic {
            name: name.clone(),
            topic_id: topic.id,
        });
        records.extend(topic.configs.iter().map(|(k, v)| MetadataRecord::Config {
            resource_type: CONFIG_RESOURCE_TOPIC,
            resource_name: name.clone(),
            name: k.clone(),
            value: Some(v.clone()),
        }));
        for (index, p) in topic.partitions.iter().enumerate() {
            records.push(MetadataRecord::Partition {
                partition_id: index as i32,
                topic_id: topic.id,
                replicas: p.replicas.clone(),
                isr: p.isr.clone(),
                leader: p.leader,
                leader_epoch: p.leader_epoch,
                partition_epoch: p.partition_epoch,
            });
        }
    }
    records.push(MetadataRecord::ProducerIds {
        broker_id: -1,
        broker_epoch: -1,
        next_producer_id: image.next_producer_id,
    });
    records
}

/// Renames the old file once its records are in the metadata log.
pub fn retire(dir: &Path) -> std::io::Result<PathBuf> {
    let to = dir.join(format!("{FILE_NAME}.migrated"));
    std::fs::rename(dir.join(FILE_NAME), &to)?;
    Ok(to)
}
