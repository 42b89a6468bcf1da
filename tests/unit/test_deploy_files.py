"""The operator files in deploy/ say what the code and the Dockerfile say.

No Docker here: the files are parsed and compared with the settings the application reads,
the Dockerfile's health check and gunicorn's graceful_timeout.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from dbconnector.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_PATH = DEPLOY / "docker-compose.yml"
ECS_PATH = DEPLOY / "ecs-task-definition.json"
NGINX_PATH = DEPLOY / "nginx.conf"

NAME = re.compile(r"\bDBCONNECTOR_[A-Z0-9_]*[A-Z0-9]\b")
SECRET_NAMES = {"DBCONNECTOR_SECRET_KEY", "DBCONNECTOR_OWNER_PASSWORD", "POSTGRES_PASSWORD"}
INTERPOLATION = re.compile(r"^\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_PATH.read_text())


@pytest.fixture(scope="module")
def ecs() -> dict:
    return json.loads(ECS_PATH.read_text())


@pytest.fixture(scope="module")
def container(ecs) -> dict:
    (only,) = ecs["containerDefinitions"]
    return only


def known_settings() -> set[str]:
    text = (ROOT / "dbconnector" / "config.py").read_text() + (
        ROOT / "docs" / "operations.md"
    ).read_text()
    return set(NAME.findall(text))


def graceful_timeout() -> int:
    tree = ast.parse((ROOT / "gunicorn.conf.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "graceful_timeout" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError("graceful_timeout not set in gunicorn.conf.py")


def dockerfile_health_one_liner() -> str:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    match = re.search(r"^HEALTHCHECK .*?\bCMD (.+)$", text, re.MULTILINE)
    assert match, "Dockerfile has no HEALTHCHECK"
    argv = shlex.split(match.group(1))
    assert argv[:2] == ["python", "-c"]
    return argv[2]


def app_service(compose: dict) -> dict:
    return compose["services"]["dbconnector"]


def test_two_replicas(compose):
    assert app_service(compose)["deploy"]["replicas"] == 2


def test_app_is_built_from_the_repository_dockerfile(compose):
    build = app_service(compose)["build"]
    assert (COMPOSE_PATH.parent / build["context"]).resolve() == ROOT
    assert build["dockerfile"] == "Dockerfile"


def test_every_dbconnector_name_is_a_real_setting():
    known = known_settings()
    assert "DBCONNECTOR_SECRET_KEY" in known  # the grep works at all
    for path in (COMPOSE_PATH, ECS_PATH, NGINX_PATH, DEPLOY / "README.md"):
        used = set(NAME.findall(path.read_text()))
        assert used <= known, f"{path.name} names unknown settings: {sorted(used - known)}"


def test_compose_settings_for_a_shared_production_setup(compose):
    env = app_service(compose)["environment"]
    assert env["DBCONNECTOR_ENV"] == "production"
    assert env["DBCONNECTOR_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in env["DBCONNECTOR_DATABASE_URL"]
    assert env["DBCONNECTOR_RATELIMIT_STORAGE_URL"] == "redis://redis:6379/0"
    assert str(env["DBCONNECTOR_TRUSTED_PROXIES"]) == "1"
    assert env["DBCONNECTOR_SECRET_KEY"] == "${DBCONNECTOR_SECRET_KEY:?set it}"


def test_compose_environment_is_accepted_by_settings(compose, tmp_path):
    """Interpolate placeholders as compose would and let the application parse the result."""
    values = {"DBCONNECTOR_SECRET_KEY": "x" * 40, "POSTGRES_PASSWORD": "pw"}

    def interpolate(value: object) -> str:
        return re.sub(r"\$\{([A-Z0-9_]+)[^}]*\}", lambda m: values.get(m.group(1), ""), str(value))

    env = {k: interpolate(v) for k, v in app_service(compose)["environment"].items()}
    env["DBCONNECTOR_DATA_DIR"] = str(tmp_path)
    settings = Settings.from_env(env)
    assert settings.production
    assert settings.trusted_proxies == 1
    assert settings.ratelimit_storage_url == "redis://redis:6379/0"


def test_depends_on_waits_for_healthy_services(compose):
    services = compose["services"]
    assert app_service(compose)["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert services["nginx"]["depends_on"]["dbconnector"] == {"condition": "service_healthy"}


def test_compose_healthchecks(compose):
    services = compose["services"]
    app_test = app_service(compose)["healthcheck"]["test"]
    assert app_test[:3] == ["CMD", "python", "-c"]
    assert "/admin/ok" in app_test[3]
    assert app_test[3] == dockerfile_health_one_liner()
    assert "/admin/ok" in " ".join(services["nginx"]["healthcheck"]["test"])
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert services["redis"]["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]


def test_compose_stop_grace_outlasts_gunicorn(compose):
    grace = app_service(compose)["stop_grace_period"]
    assert int(grace.rstrip("s")) > graceful_timeout()


def test_nginx_forwards_the_client_address():
    text = NGINX_PATH.read_text()
    assert re.search(r"proxy_set_header\s+X-Forwarded-For\s+\$", text)
    assert re.search(r"proxy_pass\s+http://dbconnector;", text)
    assert re.search(r"server\s+dbconnector:8000\b", text)


def test_ecs_task_definition(container, ecs):
    assert ecs["requiresCompatibilities"] == ["FARGATE"]
    assert ecs["networkMode"] == "awsvpc"
    assert ".dkr.ecr." in container["image"]
    assert container["user"] == "10001"
    assert container["portMappings"][0]["containerPort"] == 8000
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["DBCONNECTOR_ENV"] == "production"
    secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    assert set(secrets) == {
        "DBCONNECTOR_SECRET_KEY",
        "DBCONNECTOR_DATABASE_URL",
        "DBCONNECTOR_OWNER_PASSWORD",
    }
    assert all(re.match(r"^arn:aws:(secretsmanager|ssm):", arn) for arn in secrets.values())
    assert not set(env) & set(secrets)


def test_ecs_healthcheck_and_stop_timeout(container):
    command = container["healthCheck"]["command"]
    assert command[0] == "CMD"
    assert "/admin/ok" in " ".join(command)
    assert container["stopTimeout"] > graceful_timeout()
    assert container["stopTimeout"] <= 120  # Fargate's maximum


def test_no_literal_secrets(compose, container):
    for service in compose["services"].values():
        env = service.get("environment") or {}
        for name, value in env.items():
            if name in SECRET_NAMES:
                assert INTERPOLATION.match(str(value)), f"{name} is a literal: {value!r}"
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", str(value)):
                assert INTERPOLATION.match(password), f"{name} carries a literal password"
    env = {e["name"]: e["value"] for e in container["environment"]}
    for name, value in env.items():
        assert name not in SECRET_NAMES
        assert not re.search(r"://[^:/@\s]+:[^@\s]+@", value), f"{name} carries a password"
