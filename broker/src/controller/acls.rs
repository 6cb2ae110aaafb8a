//! ACL decisions (Kafka's `AclControlManager`): CreateAcls writes one AccessControlEntry
//! record per new ACL, under a fresh id (an ACL equal to one that exists is not written again,
//! and its creation still succeeds); DeleteAcls writes one RemoveAccessControlEntry record per
//! ACL any of its filters matches, and answers each filter with the ACLs it removed.
//!
//! The bindings and filters were checked by the broker that took the request (`api::acls`).

use std::collections::BTreeSet;

use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::{ControllerResponse, Decision};
use crate::authorizer::{Acl, AclFilter};
use crate::cluster::records::MetadataRecord;
use crate::cluster::{ClusterImage, Refusal};

/// Most records one CreateAcls or DeleteAcls may write (Kafka's controller
/// `MAX_RECORDS_PER_USER_OP`), so that one request cannot make a metadata batch without end.
pub(super) const ACL_RECORDS_PER_REQUEST_MAX: usize = 10_000;

pub(super) fn create(image: &ClusterImage, acls: &[Acl]) -> Result<Decision, Refusal> {
    let mut new: Vec<&Acl> = Vec::new();
    for acl in acls {
        if image.acls.find(acl).is_none() && !new.contains(&acl) {
            new.push(acl);
        }
    }
    if new.len() > ACL_RECORDS_PER_REQUEST_MAX {
        return Err(too_many());
    }
    let mut ids = BTreeSet::new();
    let records = new
        .into_iter()
        .map(|acl| {
            let id = fresh_id(image, &ids);
            ids.insert(id);
            record_of(id, acl)
        })
        .collect();
    Ok(Decision {
        records,
        response: ControllerResponse::AclsCreated,
    })
}

pub(super) fn delete(image: &ClusterImage, filters: &[AclFilter]) -> Result<Decision, Refusal> {
    let mut removed: BTreeSet<Uuid> = BTreeSet::new();
    let mut per_filter = Vec::with_capacity(filters.len());
    for filter in filters {
        let matched: Vec<(Uuid, Acl)> = image
            .acls
            .matching(filter)
            .map(|(id, acl)| (*id, acl.clone()))
            .collect();
        removed.extend(matched.iter().map(|(id, _)| *id));
        if removed.len() > ACL_RECORDS_PER_REQUEST_MAX {
            return Err(too_many());
        }
        per_filter.push(matched.into_iter().map(|(_, acl)| acl).collect());
    }
    let records = removed
        .into_iter()
        .map(|id| MetadataRecord::RemoveAccessControlEntry { id })
        .collect();
    Ok(Decision {
        records,
        response: ControllerResponse::AclsDeleted(per_filter),
    })
}

/// An id no ACL has, nor one of this batch.
fn fresh_id(image: &ClusterImage, taken: &BTreeSet<Uuid>) -> Uuid {
    loop {
        let id = Uuid::new_v4();
        if image.acls.get(&id).is_none() && !taken.contains(&id) {
            return id;
        }
    }
}

fn record_of(id: Uuid, acl: &Acl) -> MetadataRecord {
    MetadataRecord::AccessControlEntry {
        id,
        resource_type: acl.resource_type.code(),
        resource_name: acl.resource_name.clone(),
        pattern_type: acl.pattern_type.code(),
        principal: acl.principal.clone(),
        host: acl.host.clone(),
        operation: acl.operation.code(),
        permission_type: acl.permission_type.code(),
    }
}

fn too_many() -> Refusal {
    Refusal::new(
        ResponseError::InvalidRequest,
        format!(
            "Cannot create or remove more than {ACL_RECORDS_PER_REQUEST_MAX} ACLs in a single request."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorizer::{AclOperation, PatternType, PermissionType, ResourceType};

    fn acl(name: &str, principal: &str) -> Acl {
        Acl {
            resource_type: ResourceType::Topic,
            resource_name: name.into(),
            pattern_type: PatternType::Literal,
            principal: principal.into(),
            host: "*".into(),
            operation: AclOperation::Read,
            permission_type: PermissionType::Allow,
        }
    }

    fn apply(image: &mut ClusterImage, decision: &Decision) {
        for record in &decision.records {
            image.apply(record);
        }
    }

    #[test]
    fn created_once_and_deleted_by_filter() {
        let mut image = ClusterImage::new("c".into(), 1);
        let a = acl("orders", "User:alice");
        let b = acl("orders", "User:bob");
        let first = create(&image, &[a.clone(), a.clone(), b.clone()]).expect("created");
        assert_eq!(first.records.len(), 2, "the same ACL twice is one record");
        apply(&mut image, &first);
        let again = create(&image, std::slice::from_ref(&a)).expect("created");
        assert!(
            again.records.is_empty(),
            "an existing ACL is not written again"
        );
        let alice = AclFilter {
            resource_type: ResourceType::Any,
            resource_name: None,
            pattern_type: PatternType::Any,
            principal: Some("User:alice".into()),
            host: None,
            operation: AclOperation::Any,
            permission_type: PermissionType::Any,
        };
        let everyone = AclFilter {
            principal: None,
            ..alice.clone()
        };
        let deleted = delete(&image, &[alice, everyone]).expect("deleted");
        assert_eq!(
            deleted.records.len(),
            2,
            "an ACL two filters match is removed once"
        );
        let ControllerResponse::AclsDeleted(per_filter) = &deleted.response else {
            panic!("{:?}", deleted.response);
        };
        assert_eq!(per_filter[0], vec![a]);
        assert_eq!(per_filter[1].len(), 2);
        apply(&mut image, &deleted);
        assert!(image.acls.is_empty());
    }
}
