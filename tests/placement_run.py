"""Run in a subprocess by tests/test_placement.py: 4 GPU members on a two-node fake cluster
(plus a CPU-only head for the driver and pool); prints each member's node and GPU ids."""
from __future__ import annotations

import glob
import json
import os
import sys

import ray
from ray.cluster_utils import Cluster

from gtl_ray.config_checks import load_config
from gtl_ray.service.run import evolve
from tests.conftest import TINY


def main(storage: str) -> None:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 0})
    nodes = [cluster.add_node(num_cpus=2, num_gpus=2) for _ in range(2)]
    try:
        ray.init(address=cluster.address, namespace="gtl_ray", log_to_driver=False)
        cluster.wait_for_nodes()
        config = load_config(None, TINY + [f"storage={storage}", "name=placement", "population.size=4", "population.gpus_per_member=1", "evolution.generations=1", "evolution.tournament_size=2"])
        outcome = evolve(config)
        rows = []
        for path in glob.glob(os.path.join(outcome.run_dir, "tune-from-*", "*", "result.json")):
            with open(path) as handle:
                rows += [json.loads(line) for line in handle if line.strip()]
        workers = {n.node_id for n in nodes}
        print(json.dumps({"members": [{"member": r["member"], "node": r["node_id"], "gpu_ids": r["gpu_ids"]} for r in rows], "workers": sorted(workers)}))
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    main(sys.argv[1])
