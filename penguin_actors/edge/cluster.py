"""Start a local Ray or join a cluster, and read the cluster's nodes."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

import ray

from penguin_actors.config import Settings
from penguin_actors.edge.auth import choose_ray_auth_mode
from penguin_actors.errors import Unavailable

log = logging.getLogger(__name__)


def check_reachable(address: str, timeout_s: float) -> None:
    """Fail fast, with a clear message, when a ``host:port`` Ray address does not answer."""
    if address == "auto" or "://" in address:
        return
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit():
        raise Unavailable(f"Ray address {address!r} is not host:port: pass e.g. 127.0.0.1:6379, or 'auto'")
    try:
        with socket.create_connection((host, int(port_text)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise Unavailable(
            f"cannot reach a Ray cluster at {address} within {timeout_s:g}s ({exc.strerror or exc}): "
            "start one with `ray start --head`, or leave --address unset to run a local Ray"
        ) from None


@dataclass(frozen=True)
class Connection:
    """What ``connect`` did: whether this process started Ray, and where its dashboard is."""

    started_local: bool
    address: str
    dashboard_url: str | None


def connect(settings: Settings) -> Connection:
    """Start a local Ray or join ``settings.ray.address`` (or ``RAY_ADDRESS``)."""
    address = settings.ray.address or os.environ.get("RAY_ADDRESS") or None
    choose_ray_auth_mode(settings, joining=bool(address))  # too late if Ray is loaded: callers do it first
    if address:
        check_reachable(address, settings.ray.connect_timeout_s)
        try:
            context = ray.init(address=address, namespace=settings.ray.namespace, logging_level=logging.WARNING)
        except ConnectionError as exc:
            raise Unavailable(f"cannot join the Ray cluster at {address}: {exc}") from None
        return Connection(False, context.address_info["gcs_address"], _url(context.dashboard_url))
    context = ray.init(
        address="local",  # a new local Ray: never join one found on this machine by accident
        namespace=settings.ray.namespace,
        num_cpus=settings.ray.num_cpus,
        include_dashboard=settings.ray.dashboard,
        dashboard_host=settings.ray.dashboard_host,
        dashboard_port=settings.ray.dashboard_port,
        logging_level=logging.WARNING,
    )
    dashboard = _url(context.dashboard_url) if settings.ray.dashboard else None
    return Connection(True, context.address_info["gcs_address"], dashboard)


def _url(address: str | None) -> str | None:
    if not address:
        return None
    return address if "://" in address else f"http://{address}"


HEAD_NODE_RESOURCE = "node:__internal_head__"  # Ray gives the head node 1 of it


def cluster_nodes() -> list[dict[str, Any]]:
    """The cluster's nodes as Ray's GCS reports them (a blocking call: run it off the event loop)."""
    nodes = []
    for node in ray.nodes():
        resources = {k: float(v) for k, v in node.get("Resources", {}).items() if not k.startswith("node:")}
        nodes.append(
            {
                "node_id": node["NodeID"],
                "address": node.get("NodeManagerAddress", ""),
                "alive": bool(node.get("Alive")),
                "is_head": HEAD_NODE_RESOURCE in node.get("Resources", {}),
                "resources": resources,
                "metrics_port": node.get("MetricsExportPort"),
            }
        )
    return nodes
