"""The repository's Serve config is valid for `serve deploy` and names this app."""

from __future__ import annotations

from pathlib import Path

import yaml
from ray.serve.schema import ServeDeploySchema

ROOT = Path(__file__).parents[2]


def test_serve_config_validates_with_serve_schema() -> None:
    """serve_config.yaml passes Serve's own schema and deploys serve_app:app at /."""
    schema = ServeDeploySchema.model_validate(yaml.safe_load((ROOT / "serve_config.yaml").read_text()))
    (app,) = schema.applications
    assert app.import_path == "serve_app:app" and app.route_prefix == "/"
