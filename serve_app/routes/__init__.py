"""One module per resource; ``api_routes`` lists what an app serves."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts


@dataclass(frozen=True)
class RouteInfo:
    path: str
    methods: frozenset[str]
    websocket: bool


def api_routes(app: FastAPI, prefix: str = "/api/v1") -> list[RouteInfo]:
    """Every HTTP and WebSocket route under ``prefix``, including those of included routers."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path or ""
        if not path.startswith(prefix) or not isinstance(route, APIRoute | APIWebSocketRoute):
            continue
        websocket = isinstance(route, APIWebSocketRoute)
        found.append(RouteInfo(path, frozenset(context.methods or ()), websocket))
    return found
