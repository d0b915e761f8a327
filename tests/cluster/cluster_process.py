"""A Ray cluster of a head and two worker nodes on this machine, driven over stdin by a test.

Run as ``python -m tests.cluster.cluster_process``. It prints one JSON line with the
cluster's address and the worker node ids, then obeys one command per line:
``remove <i>`` kills worker ``i`` without grace (answers ``removed <node id>``).
At end of input it shuts the whole cluster down.
"""

from __future__ import annotations

import json
import sys

from ray.cluster_utils import Cluster

WORKER_RESOURCES = {"penguin_conversations": 1000.0}


def main() -> None:
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "resources": {"penguin_ingress": 10.0},
            "include_dashboard": False,
            # Notice a dead node in about 3 s, not Ray's default 15 s.
            "_system_config": {"health_check_period_ms": 1000, "health_check_failure_threshold": 3},
        },
    )
    try:
        workers = [cluster.add_node(num_cpus=1, resources=WORKER_RESOURCES) for _ in range(2)]
        cluster.wait_for_nodes()
        info = {"address": cluster.address, "head": cluster.head_node.node_id, "workers": [w.node_id for w in workers]}
        print(json.dumps(info), flush=True)
        for line in sys.stdin:
            command = line.split()
            if command[:1] == ["remove"]:
                worker = workers[int(command[1])]
                cluster.remove_node(worker, allow_graceful=False)
                print(f"removed {worker.node_id}", flush=True)
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main()
