"""The FastAPI app and the Ray Serve ingress deployment that serves it."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from ray import serve
from ray.serve.deployment import Application

from penguin_actors import __version__
from penguin_actors.config import Settings
from penguin_actors.edge.gateway import Gateway
from penguin_actors.edge.system import ensure_system_actors
from serve_app.errors import install_error_handlers
from serve_app.routes import auth, chat, checkpoints, conversations, files, models, projects, render, system, tasks
from serve_app.schemas import ErrorResponse
from serve_app.security import install_security, require_api_key

STATIC_DIR = Path(__file__).parent / "static"
API_PREFIX = "/api/v1"
APP_NAME = "penguin"


def create_app(settings: Settings) -> FastAPI:
    """Build the HTTP/WebSocket app; actors are looked up by name in ``settings.ray.namespace``."""
    app = FastAPI(
        title="Penguin Actors",
        version=__version__,
        description="The Penguin AI assistant's API server, as an actor-model runtime on Ray.",
        docs_url="/api/docs",
        redoc_url="/api/redoc",
        openapi_url="/api/openapi.json",
        responses={422: {"model": ErrorResponse}},
    )
    app.state.settings = settings
    app.state.gateway = Gateway(settings)
    app.state.open_streams = 0  # turns being streamed to clients by this replica (WebSocket or SSE)
    install_security(app, settings)
    install_error_handlers(app)
    api = [Depends(require_api_key)]
    for module in (system, models, conversations, chat, checkpoints, tasks, projects, files, render):
        app.include_router(module.router, prefix=API_PREFIX, dependencies=api)
    app.include_router(auth.router, prefix=API_PREFIX)  # logging in needs no key
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    @app.get("/authorize", include_in_schema=False)  # where the original's CLI sends #local_token=<key>
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    return app


class PenguinApi:
    """The Serve ingress: stateless, any number of replicas; state lives in the actors."""

    async def __init__(self, settings: Settings) -> None:  # type: ignore[misc]  # Serve awaits it
        self.settings = settings
        # `serve run` / `serve deploy` start no CLI, so the ingress makes sure the
        # system actors exist (get-or-create: a second replica joins them).
        ensure_system_actors(settings)

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_app(self.settings)


PenguinApiDeployment = serve.deployment(serve.ingress()(PenguinApi), name="PenguinApi")


def build(settings: Settings) -> Application:
    """The Serve application for these settings, ready for ``serve.run``."""
    return PenguinApiDeployment.options(
        num_replicas=settings.serve.num_replicas,
        max_ongoing_requests=settings.serve.max_ongoing_requests,
        # The ingress awaits actors and relays their output; it needs no CPU of its own.
        ray_actor_options={"num_cpus": 0, "resources": dict(settings.serve.replica_resources)},
    ).bind(settings)
