"""Does every node reach the workspace and the store? A probe written here, read on each node.

On a cluster the file tools run on any node and the store may restart on another one,
so the workspace (and a local storage path) must be one shared file system. The head
writes a probe file with a fresh token into each such folder; a task pinned to each
alive node reads it back. A node that cannot is reported with what it lacks.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from penguin_actors.config import Settings

PROBE = ".penguin-node-probe"


def shared_folders(settings: Settings) -> dict[str, Path]:
    """The folders every node must reach: the workspace, and the store's parent if it is a local path."""
    folders = {"workspace": settings.workspace}
    local = settings.local_storage_path  # None for an object store (s3://…): reached with credentials, not a mount
    if local is not None:
        folders["store"] = local.parent
    return folders


def write_probes(folders: dict[str, Path]) -> str:
    """Write a probe with a new token into each folder (creating it); the token."""
    token = secrets.token_hex(16)
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / PROBE).write_text(token)
    return token


def read_probes(folders: dict[str, Path], token: str) -> list[str]:
    """What this process cannot reach: a folder whose probe is missing, different or not writable."""
    problems = []
    for role, folder in folders.items():
        probe = folder / PROBE
        try:
            found = probe.read_text()
        except OSError as exc:
            problems.append(f"the {role} ({folder}) is not reachable here: {exc.strerror or exc}")
            continue
        if found != token:
            problems.append(f"the {role} ({folder}) here is not the same folder as on the head (another disk)")
        elif not os.access(folder, os.W_OK):
            problems.append(f"the {role} ({folder}) is read-only here")
    return problems


def check_nodes(settings: Settings, timeout_s: float = 30.0) -> dict[str, list[str]]:
    """Each alive node's problems reaching the shared folders (an empty list: none). Needs Ray connected."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    folders = shared_folders(settings)
    token = write_probes(folders)
    probe = ray.remote(num_cpus=0, max_retries=0)(read_probes)
    refs: dict[str, Any] = {}
    for node in ray.nodes():
        if node.get("Alive"):
            strategy = NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            refs[node["NodeID"]] = probe.options(scheduling_strategy=strategy).remote(folders, token)
    ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=timeout_s)
    results: dict[str, list[str]] = {}
    for node_id, ref in refs.items():
        if ref not in ready:
            results[node_id] = [f"the node did not answer the check within {timeout_s:g} s"]
            ray.cancel(ref, force=True)
            continue
        try:
            results[node_id] = ray.get(ref)
        except ray.exceptions.RayError as exc:
            results[node_id] = [f"the check failed on the node: {type(exc).__name__}"]
    return results
