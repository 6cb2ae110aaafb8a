"""kafka-python's admin client, for the CLI tests' cross-checks of the cluster-admin
subcommands: prints one JSON document.

Usage: kafka_python_admin.py BOOTSTRAP quorum|reassignments

- quorum: {"leader_id", "leader_epoch", "voters": [id]} from describe_metadata_quorum();
- reassignments: [{"topic", "partition", "replicas", "adding", "removing"}] from
  list_partition_reassignments().
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
else:
    sys.exit(f"unknown request {what}")
admin.close()
