//! The cluster's ACLs, as the metadata image holds them (Kafka's `AclCache`): by id, as the
//! metadata records name them, and indexed by resource so that authorizing one action looks
//! up the resource's name, the wildcard and the name's prefixes instead of every ACL.
//!
//! Snapshots store the ACLs by id; the index is rebuilt when a snapshot is read.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::acl::{Acl, AclFilter};
use super::kinds::{PatternType, ResourceType, WILDCARD};

/// Every ACL of the cluster.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "BTreeMap<Uuid, Acl>", into = "BTreeMap<Uuid, Acl>")]
pub struct AclCache {
    by_id: BTreeMap<Uuid, Acl>,
    /// ACL ids by resource type and pattern type, then by resource name.
    by_resource: HashMap<(ResourceType, PatternType), HashMap<String, BTreeSet<Uuid>>>,
}

impl From<BTreeMap<Uuid, Acl>> for AclCache {
    fn from(by_id: BTreeMap<Uuid, Acl>) -> Self {
        let mut cache = AclCache::default();
        for (id, acl) in by_id {
            cache.insert(id, acl);
        }
        cache
    }
}

impl From<AclCache> for BTreeMap<Uuid, Acl> {
    fn from(cache: AclCache) -> Self {
        cache.by_id
    }
}

impl AclCache {
    /// Adds an ACL under `id` (a record replayed twice changes nothing).
    pub fn insert(&mut self, id: Uuid, acl: Acl) {
        self.remove(&id);
        let names = self
            .by_resource
            .entry((acl.resource_type, acl.pattern_type))
            .or_default();
        names
            .entry(acl.resource_name.clone())
            .or_default()
            .insert(id);
        self.by_id.insert(id, acl);
        debug_assert_eq!(self.by_id.len(), self.indexed());
    }

    /// Removes the ACL `id`; returns it.
    pub fn remove(&mut self, id: &Uuid) -> Option<Acl> {
        let acl = self.by_id.remove(id)?;
        let key = (acl.resource_type, acl.pattern_type);
        if let Some(names) = self.by_resource.get_mut(&key) {
            if let Some(ids) = names.get_mut(&acl.resource_name) {
                ids.remove(id);
                if ids.is_empty() {
                    names.remove(&acl.resource_name);
                }
            }
            if names.is_empty() {
                self.by_resource.remove(&key);
            }
        }
        debug_assert_eq!(self.by_id.len(), self.indexed());
        Some(acl)
    }

    fn indexed(&self) -> usize {
        self.by_resource
            .values()
            .flat_map(|names| names.values())
            .map(BTreeSet::len)
            .sum()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The ACL with id `id`.
    pub fn get(&self, id: &Uuid) -> Option<&Acl> {
        self.by_id.get(id)
    }

    /// Every ACL, by id.
    pub fn iter(&self) -> impl Iterator<Item = (&Uuid, &Acl)> {
        self.by_id.iter()
    }

    /// The id of an ACL equal to `acl`, if there is one.
    pub fn find(&self, acl: &Acl) -> Option<Uuid> {
        let names = self
            .by_resource
            .get(&(acl.resource_type, acl.pattern_type))?;
        let ids = names.get(&acl.resource_name)?;
        ids.iter()
            .copied()
            .find(|id| self.by_id.get(id) == Some(acl))
    }

    /// The ACLs a filter matches, by id.
    pub fn matching<'a>(
        &'a self,
        filter: &'a AclFilter,
    ) -> impl Iterator<Item = (&'a Uuid, &'a Acl)> + 'a {
        self.by_id.iter().filter(|(_, acl)| filter.matches(acl))
    }

    /// The ACLs that apply to the resource `name` of type `resource_type`: those naming it,
    /// the wildcard `*`, and the PREFIXED ones that are a prefix of it.
    pub fn covering<'a>(
        &'a self,
        resource_type: ResourceType,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Acl> + 'a {
        let literal = self.by_resource.get(&(resource_type, PatternType::Literal));
        let literal_names = [Some(name), (name != WILDCARD).then_some(WILDCARD)];
        let literal_ids = literal_names
            .into_iter()
            .flatten()
            .filter_map(move |n| literal.and_then(|names| names.get(n)));
        let prefixed = self
            .by_resource
            .get(&(resource_type, PatternType::Prefixed));
        let prefixes = name
            .char_indices()
            .map(|(i, c)| &name[..i + c.len_utf8()])
            .take_while(move |_| prefixed.is_some());
        let prefixed_ids = prefixes.filter_map(move |p| prefixed.and_then(|names| names.get(p)));
        literal_ids
            .chain(prefixed_ids)
            .flatten()
            .filter_map(|id| self.by_id.get(id))
    }

    /// The ACLs on resources of one type, whatever their names.
    pub fn of_type(&self, resource_type: ResourceType) -> impl Iterator<Item = &Acl> + '_ {
        self.by_id
            .values()
            .filter(move |a| a.resource_type == resource_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorizer::kinds::{AclOperation, PermissionType};

    fn acl(name: &str, pattern_type: PatternType) -> Acl {
        Acl {
            resource_type: ResourceType::Topic,
            resource_name: name.into(),
            pattern_type,
            principal: "User:alice".into(),
            host: "*".into(),
            operation: AclOperation::Read,
            permission_type: PermissionType::Allow,
        }
    }

    #[test]
    fn covering_finds_literal_wildcard_and_prefixes() {
        let mut cache = AclCache::default();
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        cache.insert(ids[0], acl("orders", PatternType::Literal));
        cache.insert(ids[1], acl("*", PatternType::Literal));
        cache.insert(ids[2], acl("ord", PatternType::Prefixed));
        cache.insert(ids[3], acl("orders-eu", PatternType::Prefixed));
        cache.insert(ids[4], acl("or", PatternType::Literal));
        let names: BTreeSet<String> = cache
            .covering(ResourceType::Topic, "orders")
            .map(|a| format!("{}:{}", a.pattern_type, a.resource_name))
            .collect();
        let expected: BTreeSet<String> = ["LITERAL:orders", "LITERAL:*", "PREFIXED:ord"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(names, expected);
        assert_eq!(cache.covering(ResourceType::Group, "orders").count(), 0);
        assert_eq!(cache.find(&acl("ord", PatternType::Prefixed)), Some(ids[2]));
        assert_eq!(
            cache.remove(&ids[2]).map(|a| a.resource_name),
            Some("ord".into())
        );
        assert_eq!(cache.covering(ResourceType::Topic, "orders").count(), 2);
        assert_eq!(cache.len(), 4);
    }

    #[test]
    fn snapshots_round_trip_and_rebuild_the_index() {
        let mut cache = AclCache::default();
        let id = Uuid::new_v4();
        cache.insert(id, acl("ord", PatternType::Prefixed));
        let json = serde_json::to_string(&cache).expect("serialize");
        let back: AclCache = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back.len(), 1);
        assert_eq!(back.covering(ResourceType::Topic, "orders").count(), 1);
        assert_eq!(back.get(&id), cache.get(&id));
    }
}
