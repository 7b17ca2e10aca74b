"""Placement on a multi-node cluster: 4 members of 1 GPU over two nodes of 2 GPUs land 2 per
node, each actor holding exactly one GPU id of its own. Runs in a subprocess with its own
ray.cluster_utils.Cluster, so the suite's shared local Ray stays untouched."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_four_gpu_members_fill_two_two_gpu_nodes(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tests.placement_run", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=400)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    members = report["members"]
    assert sorted(m["member"] for m in members) == list(range(4))
    per_node = Counter(m["node"] for m in members)
    assert set(per_node) == set(report["workers"]) and sorted(per_node.values()) == [2, 2]
    for node in per_node:
        ids = [tuple(m["gpu_ids"]) for m in members if m["node"] == node]
        assert all(len(i) == 1 for i in ids) and len(set(ids)) == 2
