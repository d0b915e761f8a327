"""The deployment files pass Ray's own checks and cannot drift from the code, Serve config or metrics."""

from __future__ import annotations

import copy
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import ray
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config
from ray.serve.schema import ServeDeploySchema

from penguin_actors.config import load_settings
from penguin_actors.metrics import SPECS
from serve_app.app import APP_NAME, PenguinApiDeployment
from serve_app.cli import _parser

ROOT = Path(__file__).parents[2]
CLUSTER_CONFIGS = ["cluster.yaml", "deploy/cluster-local.yaml"]
SHELL_OPERATORS = {">", ">>", "<", "&", "&&", "||", ";", "|", "2>&1"}


def load(relative: str) -> Any:
    return yaml.safe_load((ROOT / relative).read_text())


def rayservice() -> dict[str, Any]:
    (service,) = [
        d for d in yaml.safe_load_all((ROOT / "deploy/rayservice.yaml").read_text()) if d["kind"] == "RayService"
    ]
    assert isinstance(service, dict)
    return service


def start_commands(config: dict[str, Any]) -> list[str]:
    return [*config["head_start_ray_commands"], *config["worker_start_ray_commands"]]


def invocations(command: str, program: list[str]) -> list[list[str]]:
    """The arguments of each call of ``program`` (e.g. ``["ray", "start"]``) in a shell command line."""
    words = shlex.split(command.replace(";", " ; "))
    found = []
    for i in range(len(words)):
        if words[i : i + len(program)] == program:
            args = []
            for word in words[i + len(program) :]:
                if word in SHELL_OPERATORS:
                    break
                args.append(word)
            found.append(args)
    return found


@pytest.mark.parametrize("relative", CLUSTER_CONFIGS)
def test_cluster_config_passes_ray_validation(relative: str) -> None:
    """Each cluster launcher config, filled out as `ray up` does, passes Ray's schema and checks."""
    prepared = prepare_config(copy.deepcopy(load(relative)))
    validate_config(prepared)
    assert prepared["head_node_type"] in prepared["available_node_types"]


@pytest.mark.parametrize("relative", CLUSTER_CONFIGS)
def test_cluster_commands_use_flags_that_exist(relative: str) -> None:
    """Every `ray start` parses with Ray's own CLI, and the head runs `penguin-actors serve` with real flags."""
    from ray.scripts.scripts import start

    config = load(relative)
    ray_starts = [args for c in start_commands(config) for args in invocations(c, ["ray", "start"])]
    assert len(ray_starts) == 2
    for args in ray_starts:
        args = [a.replace("$RAY_HEAD_IP", "10.0.0.1") for a in args]
        start.make_context("ray start", list(args))  # raises on an unknown option or a bad value
        assert any(a.startswith("--metrics-export-port=") for a in args)
    (head,) = [args for args in ray_starts if "--head" in args]
    assert "--include-dashboard=true" in head
    (serve,) = [args for c in config["head_start_ray_commands"] for args in invocations(c, ["penguin-actors"])]
    parsed = _parser().parse_args(serve)
    assert parsed.command == "serve" and parsed.address == "auto"


@pytest.mark.parametrize("relative", CLUSTER_CONFIGS)
def test_cluster_nodes_share_the_ray_token_on_purpose(relative: str) -> None:
    """Every Ray start sets RAY_AUTH_MODE=token and every node gets the token file Ray reads by default."""
    from ray._private.authentication.authentication_token_setup import _get_default_token_path

    config = load(relative)
    for command in start_commands(config):
        for program in ("ray start", "penguin-actors serve"):
            if program in command:
                assert command.index("export RAY_AUTH_MODE=token;") < command.index(program), command
    token_file = "~/" + str(_get_default_token_path().relative_to(Path.home()))
    assert config["file_mounts"][token_file] == token_file
    assert any("*.whl" in c and "pip install" in c for c in config["setup_commands"])


def test_images_match_the_installed_ray() -> None:
    """The cluster image, the Dockerfile's base and the RayService's rayVersion are this package's Ray."""
    version = ray.__version__
    assert load("cluster.yaml")["docker"]["image"] == f"rayproject/ray:{version}-py311"
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    assert re.search(rf"^FROM rayproject/ray:{re.escape(version)}-py311$", dockerfile, re.MULTILINE)
    assert rayservice()["spec"]["rayClusterConfig"]["rayVersion"] == version


def test_rayservice_serves_the_serve_config_application() -> None:
    """serveConfigV2 is valid for Serve and its application equals serve_config.yaml's, deployment names included."""
    serve_config = load("serve_config.yaml")
    inner = yaml.safe_load(rayservice()["spec"]["serveConfigV2"])
    ServeDeploySchema.model_validate(inner)
    assert inner["applications"] == serve_config["applications"]
    (app,) = inner["applications"]
    assert (app["name"], app["import_path"], app["route_prefix"]) == (APP_NAME, "serve_app:app", "/")
    names = {d["name"] for a in inner["applications"] for d in a.get("deployments", [])}
    assert names == {d["name"] for a in serve_config["applications"] for d in a.get("deployments", [])}
    assert names <= {PenguinApiDeployment.name}
    assert inner["proxy_location"] == serve_config["proxy_location"]
    expected_http = serve_config["http_options"] | {"host": "0.0.0.0"}  # reachable from the pod's Service
    assert inner["http_options"] == expected_http


def test_rayservice_pods_share_valid_settings_and_the_volume() -> None:
    """Head and workers get the same PENGUIN_* variables, valid settings whose workspace is the shared volume."""
    spec = rayservice()["spec"]["rayClusterConfig"]
    (head,) = spec["headGroupSpec"]["template"]["spec"]["containers"]
    workers = [c for g in spec["workerGroupSpecs"] for c in g["template"]["spec"]["containers"]]
    assert spec["authOptions"] == {"mode": "token"}
    for container in workers:
        assert container["env"] == head["env"] and container["volumeMounts"] == head["volumeMounts"]
        assert container["image"] == head["image"]
    literal = {e["name"]: e["value"] for e in head["env"] if "value" in e}
    settings = load_settings(env=literal | {"PENGUIN_API_KEY": "from-the-secret"})
    mounts = {m["mountPath"] for m in head["volumeMounts"]}
    assert str(settings.workspace) in mounts
    assert settings.resolved_storage_uri.startswith(str(settings.workspace))
    claims = {v["persistentVolumeClaim"]["claimName"] for v in spec["headGroupSpec"]["template"]["spec"]["volumes"]}
    pvcs = [
        d
        for d in yaml.safe_load_all((ROOT / "deploy/rayservice.yaml").read_text())
        if d["kind"] == "PersistentVolumeClaim"
    ]
    assert {p["metadata"]["name"] for p in pvcs} == claims
    assert all(p["spec"]["accessModes"] == ["ReadWriteMany"] for p in pvcs)


def test_grafana_dashboard_charts_every_metric() -> None:
    """Every metric of metrics.py is charted under its exported name: rates of counters, quantiles of histograms."""
    dashboard = json.loads((ROOT / "deploy/grafana-dashboard.json").read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    targets = [t for panel in dashboard["panels"] for t in panel["targets"]]
    assert all(t["datasource"]["uid"] == "${datasource}" for t in targets)
    exprs = [t["expr"] for t in targets]
    for spec in SPECS:
        name = spec.exported_name
        if spec.kind == "counter":
            assert any(f"rate({name}[" in e for e in exprs), name
        elif spec.kind == "histogram":
            assert any(e.startswith("histogram_quantile(0.95") and f"rate({name}_bucket[" in e for e in exprs), name
            assert any(e.startswith("histogram_quantile(0.5") and f"rate({name}_bucket[" in e for e in exprs), name
        else:
            assert any(re.search(rf"\b{name}\b", e) for e in exprs), name
