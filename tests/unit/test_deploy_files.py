"""The deploy/ examples use real settings, shut down within their stop timeouts, hold no secrets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SETTING = re.compile(r"DBCONNECTOR_[A-Z_]+")


def _known_settings() -> set[str]:
    text = (ROOT / "dbconnector" / "config.py").read_text() + (ROOT / "README.md").read_text()
    return set(SETTING.findall(text))


def _graceful_timeout() -> int:
    match = re.search(r"^graceful_timeout = (\d+)", (ROOT / "gunicorn.conf.py").read_text(), re.M)
    assert match
    return int(match.group(1))


def test_compose_runs_two_replicas_with_shared_state():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    service = compose["services"]["dbconnector"]
    assert service["deploy"]["replicas"] == 2
    env = service["environment"]
    assert env["DBCONNECTOR_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["DBCONNECTOR_RATELIMIT_STORAGE_URL"].startswith("redis://")
    assert env["DBCONNECTOR_SECRET_KEY"].startswith("${")  # from the environment, never literal
    assert "/admin/ok" in " ".join(service["healthcheck"]["test"])
    assert int(service["stop_grace_period"].rstrip("s")) > _graceful_timeout()
    assert {"metadata", "redis", "nginx"} <= set(compose["services"])


def test_ecs_task_takes_secrets_from_the_secret_stores():
    task = json.loads((DEPLOY / "ecs-task-definition.json").read_text())
    [container] = task["containerDefinitions"]
    secret_names = {entry["name"] for entry in container["secrets"]}
    assert {"DBCONNECTOR_SECRET_KEY", "DBCONNECTOR_DATABASE_URL"} <= secret_names
    plain = {entry["name"] for entry in container["environment"]}
    assert not plain & {
        "DBCONNECTOR_SECRET_KEY",
        "DBCONNECTOR_DATABASE_URL",
        "DBCONNECTOR_OWNER_PASSWORD",
    }
    assert "/admin/ok" in " ".join(container["healthCheck"]["command"])
    assert container["stopTimeout"] > _graceful_timeout()
    assert container["user"] != "0"


def test_every_setting_named_in_deploy_files_exists():
    known = _known_settings()
    for path in DEPLOY.iterdir():
        for name in SETTING.findall(path.read_text()):
            assert name in known, f"{path.name} names {name}, which is not a setting"
