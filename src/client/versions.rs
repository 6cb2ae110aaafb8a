//! Which version of each API to send a broker: the highest that the broker advertises, that
//! kafka-protocol can encode and that ktui's code fills in correctly (the caps below). An API
//! with no common version is an error naming the API, never a guess.

use std::collections::HashMap;

use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};
use kafka_protocol::protocol::Request;

use crate::error::{Error, Result};

/// The highest version of an API that ktui's request building is written for. Newer versions
/// change fields ktui would have to fill (for example Fetch v13 and Produce v13 address topics
/// by id), so they are capped until that code exists.
fn client_max(key: i16) -> i16 {
    match ApiKey::try_from(key) {
        Ok(ApiKey::Produce) => 12,
        Ok(ApiKey::Fetch) => 12,
        Ok(ApiKey::ListOffsets) => 9,
        Ok(ApiKey::Metadata) => 12,
        Ok(ApiKey::OffsetFetch) => 9,
        Ok(ApiKey::OffsetCommit) => 9,
        Ok(ApiKey::FindCoordinator) => 6,
        Ok(ApiKey::DescribeGroups) => 5,
        Ok(ApiKey::ListGroups) => 4,
        Ok(ApiKey::DeleteGroups) => 2,
        Ok(ApiKey::CreateTopics) => 7,
        Ok(ApiKey::DeleteTopics) => 5,
        Ok(ApiKey::CreatePartitions) => 3,
        Ok(ApiKey::DescribeConfigs) => 4,
        Ok(ApiKey::IncrementalAlterConfigs) => 1,
        Ok(ApiKey::DescribeCluster) => 1,
        Ok(ApiKey::ElectLeaders) => 2,
        Ok(ApiKey::AlterPartitionReassignments) => 1,
        Ok(ApiKey::ListPartitionReassignments) => 0,
        Ok(ApiKey::DescribeQuorum) => 2,
        Ok(ApiKey::AddRaftVoter) => 0,
        Ok(ApiKey::RemoveRaftVoter) => 0,
        Ok(ApiKey::ConsumerGroupDescribe) => 1,
        Ok(ApiKey::SaslHandshake) => 1,
        Ok(ApiKey::SaslAuthenticate) => 2,
        _ => i16::MAX,
    }
}

/// A broker's advertised version range per API key.
#[derive(Debug, Default, Clone)]
pub struct Versions {
    ranges: HashMap<i16, (i16, i16)>,
}

impl Versions {
    /// The table from an ApiVersions response.
    pub fn from_response(response: &ApiVersionsResponse) -> Self {
        let ranges = response
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        Versions { ranges }
    }

    /// The highest common version of `key`, given the crate's own range, if any.
    pub fn common(&self, key: i16, crate_min: i16, crate_max: i16) -> Option<i16> {
        let (theirs_min, theirs_max) = *self.ranges.get(&key)?;
        let max = theirs_max.min(crate_max).min(client_max(key));
        let min = theirs_min.max(crate_min);
        (min <= max).then_some(max)
    }

    /// Whether the broker serves `key` at `version` or above (within ktui's range).
    pub fn at_least(&self, key: ApiKey, version: i16) -> bool {
        let key = key as i16;
        self.common(key, 0, i16::MAX).is_some_and(|v| v >= version)
    }

    /// The version to send `R` at, or an error naming the API and `addr`.
    pub fn pick<R: Request>(&self, addr: &str) -> Result<i16> {
        let ours = R::VERSIONS;
        self.common(R::KEY, ours.min, ours.max)
            .ok_or_else(|| Error::UnsupportedVersion {
                addr: addr.to_string(),
                api: super::connection::api_name(R::KEY),
                ours: format!("v{}-v{}", ours.min, ours.max.min(client_max(R::KEY))),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::api_versions_response::ApiVersion;
    use kafka_protocol::messages::{FetchRequest, ProduceRequest};

    fn table(entries: &[(ApiKey, i16, i16)]) -> Versions {
        let mut response = ApiVersionsResponse::default();
        for (key, min, max) in entries {
            response.api_keys.push(
                ApiVersion::default()
                    .with_api_key(*key as i16)
                    .with_min_version(*min)
                    .with_max_version(*max),
            );
        }
        Versions::from_response(&response)
    }

    #[test]
    fn picks_the_highest_common_version_and_refuses_none() {
        let v = table(&[(ApiKey::Produce, 3, 13), (ApiKey::Fetch, 14, 17)]);
        assert_eq!(v.pick::<ProduceRequest>("b:1").expect("produce"), 12);
        // Fetch 14+ only: ktui's cap is 12, so there is no common version.
        assert!(v.pick::<FetchRequest>("b:1").is_err());
        let old = table(&[(ApiKey::Produce, 0, 7)]);
        assert_eq!(old.pick::<ProduceRequest>("b:1").expect("produce"), 7);
        assert!(!old.at_least(ApiKey::OffsetFetch, 8));
    }
}
