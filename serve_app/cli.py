"""``penguin-actors serve|status``: start the server, or report on a running one.

Exit codes: 0 done, 1 a runtime failure (port in use, cluster unreachable),
2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from penguin_actors import __version__
from penguin_actors.config import Settings, load_settings
from penguin_actors.edge.auth import choose_ray_auth_mode
from penguin_actors.errors import ConfigError, PenguinError, Unavailable

if TYPE_CHECKING:  # Ray is imported only by the commands that need it, so errors print fast
    from penguin_actors.edge.cluster import Connection

EXIT_FAILURE = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="penguin-actors", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"penguin-actors {__version__}")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="start the server (and a local Ray unless --address is given)")
    _common(serve)
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP port (default 8000)")
    serve.add_argument("--workspace", help="workspace directory (default ./workspace; env PENGUIN_WORKSPACE)")
    serve.add_argument("--no-dashboard", action="store_true", help="start the local Ray without its dashboard")
    serve.add_argument("--num-cpus", type=int, help="CPUs of the local Ray (default: all)")
    serve.add_argument("--insecure", action="store_true", help="allow a non-loopback host without an API key")

    status = commands.add_parser("status", help="print the cluster's nodes, system actors and Serve status")
    _common(status)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="settings file (default ./penguin.yaml; env PENGUIN_CONFIG)")
    parser.add_argument("--address", help="join this Ray cluster (host:port or 'auto'; env RAY_ADDRESS)")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {"ray.address": args.address}
    if args.command == "serve":
        overrides |= {
            "server.host": args.host,
            "server.port": args.port,
            "workspace": args.workspace,
            "ray.num_cpus": args.num_cpus,
            "ray.dashboard": False if args.no_dashboard else None,
            "server.insecure": True if args.insecure else None,
        }
    return load_settings(args.config, overrides=overrides)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if not words or (words[0].startswith("-") and words[0] not in {"-h", "--help", "--version"}):
        words.insert(0, "serve")  # `python -m serve_app` with no command serves
    args = _parser().parse_args(words)
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(f"penguin-actors: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "status":
            return _status(settings)
        return _serve(settings)
    except PenguinError as exc:
        print(f"penguin-actors: {exc.message}", file=sys.stderr)
        return EXIT_FAILURE


def check_bind(host: str, port: int) -> None:
    """Fail with a clear message if ``host:port`` cannot be bound (in use, or no such address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As the HTTP server binds: connections of a server that just stopped (TIME_WAIT) do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            what = "is in use" if exc.errno == 98 else f"cannot be bound ({exc.strerror})"
            raise Unavailable(f"port {port} on {host} {what}: stop what uses it, or pass --port") from None


def check_exposure(settings: Settings) -> None:
    from serve_app.security import is_loopback

    if is_loopback(settings.server.host) or settings.server.api_key is not None or settings.server.insecure:
        return
    raise ConfigError(
        f"refusing to bind {settings.server.host} without an API key: set PENGUIN_API_KEY "
        "(or server.api_key), bind 127.0.0.1, or pass --insecure on a trusted network"
    )


def _preflight(settings: Settings) -> None:
    """Every check that needs no Ray: exposure, the model catalog, free ports, the workspace."""
    from penguin_actors.models.registry import ModelRegistry

    check_exposure(settings)
    ModelRegistry(settings)  # raises ConfigError for a bad catalog or default
    check_bind(settings.server.host, settings.server.port)
    if settings.ray.dashboard and not (settings.ray.address or os.environ.get("RAY_ADDRESS")):
        check_bind(settings.ray.dashboard_host, settings.ray.dashboard_port)
    Path(settings.workspace).mkdir(parents=True, exist_ok=True)


def _serve(settings: Settings) -> int:
    try:
        _preflight(settings)
    except ConfigError as exc:
        print(f"penguin-actors: {exc.message}", file=sys.stderr)
        return EXIT_USAGE

    joining = bool(settings.ray.address or os.environ.get("RAY_ADDRESS"))
    choose_ray_auth_mode(settings, joining=joining)  # before `import ray`, which reads it

    import ray
    from ray import serve

    from penguin_actors.edge.cluster import connect
    from penguin_actors.edge.node_check import check_nodes
    from penguin_actors.edge.system import ensure_system_actors, kill_system_actors
    from serve_app.app import APP_NAME, build

    connection = connect(settings)
    # After ray.init, which installs its own fatal-signal handlers in the driver.
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if not connection.started_local and APP_NAME in serve.status().applications:
        print(f"penguin-actors: already serving on the cluster at {connection.address}; nothing to start")
        ray.shutdown()
        return 0
    try:
        handles = ensure_system_actors(settings)
        serve.start(
            proxy_location=settings.serve.proxy_location,
            http_options={
                "host": settings.server.host,
                "port": settings.server.port,
                "request_timeout_s": settings.serve.request_timeout_s,
                "keep_alive_timeout_s": settings.serve.keep_alive_timeout_s,
            },
        )
        serve.run(build(settings), name=APP_NAME, route_prefix="/", blocking=False)
        reach = _report_nodes(check_nodes(settings))
        _announce(settings, connection, model=ray.get(handles["models"].startup_note.remote()), nodes=reach)
        while not stop.wait(1.0):
            pass
        print("penguin-actors: shutting down", flush=True)
    finally:
        if connection.started_local:
            serve.shutdown()
            kill_system_actors(settings.ray.namespace)
        else:
            serve.delete(APP_NAME)
        ray.shutdown()
    return 0


def _report_nodes(problems: dict[str, list[str]]) -> str:
    """Warn about each node that does not reach the workspace or the store; the summary for the banner."""
    failing = {node: found for node, found in problems.items() if found}
    for node, found in failing.items():
        for problem in found:
            print(f"penguin-actors: warning: node {node[:12]}: {problem}; work placed there will fail", flush=True)
    return f"{len(problems) - len(failing)} of {len(problems)} reach the workspace and the store"


def _announce(settings: Settings, connection: Connection, model: str, nodes: str) -> None:
    host = settings.server.host
    base = f"http://{'[' + host + ']' if ':' in host else host}:{settings.server.port}"
    lines = [
        f"Penguin Actors {__version__} is serving",
        f"  web UI     {base}/",
        f"  API docs   {base}/api/docs",
        f"  dashboard  {connection.dashboard_url or 'off'}",
        f"  ray        {connection.address} (namespace {settings.ray.namespace})",
        f"  workspace  {settings.workspace}",
        f"  model      {model}",
        f"  nodes      {nodes}",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)


def _status(settings: Settings) -> int:
    choose_ray_auth_mode(settings, joining=True)  # before `import ray`, which reads it
    import ray
    from ray import serve

    from penguin_actors.edge.cluster import cluster_nodes, connect
    from penguin_actors.edge.health import system_actor_states
    from penguin_actors.edge.names import DIRECTORY, SYSTEM_ROLES

    if not (settings.ray.address or os.environ.get("RAY_ADDRESS")):
        settings = settings.model_copy(update={"ray": settings.ray.model_copy(update={"address": "auto"})})
    connect(settings)
    try:
        states = asyncio.run(system_actor_states(settings.ray.namespace))
        placed: dict[str, Any] = {"by_node": {}, "hosts": []}
        if states[DIRECTORY] == "alive":
            directory = ray.get_actor(DIRECTORY, namespace=settings.ray.namespace)
            placed = ray.get(directory.stats.remote(), timeout=10)
        print("Nodes:")
        for node in cluster_nodes():
            cpus = node["resources"].get("CPU", 0)
            role = "head" if node["is_head"] else "worker"
            state = "alive" if node["alive"] else "dead"
            conversations = placed["by_node"].get(node["node_id"], 0)
            print(
                f"  {node['node_id'][:12]}  {node['address']:<15}  {role:<6}  {state:<5}  CPU {cpus:g}  "
                f"conversations {conversations}"
            )
        print("System actors:")
        for name, role in SYSTEM_ROLES.items():
            print(f"  {name:<12} {role:<22} {states[name]}")
        print("Conversation hosts:")
        if not placed["hosts"]:
            print("  none running")
        for host in placed["hosts"]:
            where = (host["node_id"] or "?")[:12]
            print(f"  {host['name']:<12} node {where}  conversations {host['conversations']}/{host['capacity']}")
        print("Serve:")
        apps = serve.status().applications
        if not apps:
            print("  not running")
        for name, app in apps.items():
            replicas = sum(sum(d.replica_states.values()) for d in app.deployments.values())
            print(f"  {name:<12} {app.status.value}  ({replicas} replicas)")
    finally:
        ray.shutdown()
    return 0
