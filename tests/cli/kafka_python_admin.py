"""kafka-python's admin client, for the CLI tests' cross-checks of the cluster-admin
subcommands: prints one JSON document.

Usage: kafka_python_admin.py BOOTSTRAP quorum|reassignments|acls

- quorum: {"leader_id", "leader_epoch", "voters": [id]} from describe_metadata_quorum();
- reassignments: [{"topic", "partition", "replicas", "adding", "removing"}] from
  list_partition_reassignments().
- acls: [{"principal", "host", "operation", "permission", "resource_type", "name", "pattern"}]
  from describe_acls() with a filter matching every ACL.
"""

import json
import sys

from kafka import KafkaAdminClient

bootstrap, what = sys.argv[1], sys.argv[2]
admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=20000)
if what == "quorum":
    partition = admin.describe_metadata_quorum()["topics"][0]["partitions"][0]
    print(
        json.dumps(
            {
                "leader_id": partition["leader_id"],
                "leader_epoch": partition["leader_epoch"],
                "voters": sorted(v["replica_id"] for v in partition["current_voters"]),
            }
        )
    )
elif what == "reassignments":
    ongoing = admin.list_partition_reassignments()
    print(
        json.dumps(
            sorted(
                (
                    {
                        "topic": tp.topic,
                        "partition": tp.partition,
                        "replicas": r["replicas"],
                        "adding": r["adding_replicas"],
                        "removing": r["removing_replicas"],
                    }
                    for tp, r in ongoing.items()
                ),
                key=lambda r: (r["topic"], r["partition"]),
            )
        )
    )
elif what == "acls":
    from kafka.admin import (
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePatternFilter,
        ResourceType,
    )

    every = ACLFilter(
        principal=None,
        host=None,
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(
            ResourceType.ANY, None, ACLResourcePatternType.ANY
        ),
    )
    acls, error = admin.describe_acls(every)
    if error.errno != 0:
        sys.exit(f"describe_acls: {error}")
    print(
        json.dumps(
            sorted(
                (
                    {
                        "principal": a.principal,
                        "host": a.host,
                        "operation": a.operation.name,
                        "permission": a.permission_type.name,
                        "resource_type": a.resource_pattern.resource_type.name,
                        "name": a.resource_pattern.resource_name,
                        "pattern": a.resource_pattern.pattern_type.name,
                    }
                    for a in acls
                ),
                key=lambda a: (a["principal"], a["name"], a["operation"]),
            )
        )
    )
else:
    sys.exit(f"unknown request {what}")
admin.close()
