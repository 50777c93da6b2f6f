"""docker-compose.yml, Dockerfile and .env.example checked against the settings the code
reads (no Docker needed: the files are parsed). A setting added to `Settings` without a line
in .env.example, a misspelt DOMUS_* variable in the compose file, a port opened to every
address or a Domus container without the shared data volume fails here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from domus.bootstrap import ConfigurationError, secret_key
from domus.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SERVES = {"postgres", "prefect-server", "web", "mailcatcher"}  # each answers a health check
DOMUS_SERVICES = {"prefect-worker", "deploy", "web"}  # run Domus's code with its settings


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def example() -> str:
    return (ROOT / ".env.example").read_text(encoding="utf-8")


def setting_variables() -> set[str]:
    return {f"DOMUS_{name.upper()}" for name in Settings.model_fields}


def documented(example: str) -> dict[str, str]:
    """Each variable of .env.example (set, or shown commented out as `# NAME=value`) with
    its value, when the line above it or the line itself carries a comment."""
    found, lines = {}, example.splitlines()
    for number, line in enumerate(lines):
        match = re.match(r"^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match and number > 0 and lines[number - 1].startswith("#"):
            found[match.group(1)] = match.group(2)
    return found


def undocumented(variables: set[str], example: str) -> set[str]:
    return variables - set(documented(example))


def interpolated(compose_text: str) -> set[str]:
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", compose_text))


def test_the_stack_has_its_services_and_one_shot_jobs(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "prefect-server", "prefect-worker", "web", "mailcatcher"} <= set(services)
    one_shots = {name for name, s in services.items() if s.get("restart") == "no"}
    assert one_shots == {"prefect-db", "deploy"}
    assert services["postgres"]["image"] == "postgres:15"
    assert services["mailcatcher"]["image"].startswith("axllent/mailpit")
    assert services["deploy"]["command"] == ["domus", "deploy"]
    assert services["web"]["command"] == ["domus", "serve", "--host", "0.0.0.0",
                                          "--port", "8000"]


def test_every_service_that_serves_something_has_a_health_check(
        compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in SERVES:
        assert services[name]["healthcheck"]["test"][0] == "CMD", name
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert "/api/health" in " ".join(services["prefect-server"]["healthcheck"]["test"])
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    for name, service in services.items():
        for needed, condition in (service.get("depends_on") or {}).items():
            wanted = ("service_completed_successfully" if services[needed].get("restart") == "no"
                      else "service_healthy")
            assert condition == {"condition": wanted}, (name, needed)


def test_no_port_is_published_beyond_this_machine(compose: dict[str, Any]) -> None:
    published = {}
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert isinstance(port, str) and port.count(":") == 2, (name, port)
            published[name] = port
            assert port.startswith("127.0.0.1:"), (name, port)
    assert published == {"prefect-server": "127.0.0.1:4200:4200", "web": "127.0.0.1:8000:8000",
                         "mailcatcher": "127.0.0.1:8025:8025"}


def test_data_lives_in_named_volumes_and_the_domus_containers_share_one(
        compose: dict[str, Any]) -> None:
    services, declared = compose["services"], set(compose["volumes"])
    mounts = {name: dict(v.split(":", 1) for v in s.get("volumes", []))
              for name, s in services.items()}
    for name, volumes in mounts.items():
        assert set(volumes) <= declared, (name, volumes)  # no bind mount of a host folder
    assert mounts["postgres"] == {"postgres-data": "/var/lib/postgresql/data"}
    for name in DOMUS_SERVICES:
        environment = services[name]["environment"]
        assert mounts[name] == {"domus-data": environment["DOMUS_DATA_DIR"]}, name
        assert environment["DOMUS_WATCH_DIR"].startswith(environment["DOMUS_DATA_DIR"] + "/")


def test_the_domus_containers_reach_postgresql_the_server_and_the_mail_catcher(
        compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in DOMUS_SERVICES:
        service = services[name]
        environment = service["environment"]
        assert service["env_file"] == ".env"
        assert environment["DOMUS_DATABASE_URL"].startswith("postgresql+psycopg://domus:")
        assert environment["DOMUS_DATABASE_URL"].endswith("@postgres:5432/domus")
        assert environment["PREFECT_API_URL"] == "http://prefect-server:4200/api"
        assert environment["DOMUS_SMTP_URL"] == "${DOMUS_SMTP_URL:-smtp://mailcatcher:1025}"
        assert service["depends_on"]["prefect-server"] == {"condition": "service_healthy"}
    worker = services["prefect-worker"]
    assert worker["command"] == ["prefect", "worker", "start", "--pool", "domus",
                                 "--type", "process"]
    assert worker["depends_on"]["deploy"] == {"condition": "service_completed_successfully"}


def test_the_prefect_server_runs_on_postgresql_behind_basic_auth(
        compose: dict[str, Any]) -> None:
    server = compose["services"]["prefect-server"]
    environment = server["environment"]
    assert server["command"][:3] == ["prefect", "server", "start"]
    assert server.get("build") == "." and server["image"] == "domus:latest"  # Domus's image
    assert environment["PREFECT_API_DATABASE_CONNECTION_URL"].startswith(
        "postgresql+asyncpg://domus:${POSTGRES_PASSWORD:?")
    assert environment["PREFECT_API_DATABASE_CONNECTION_URL"].endswith("@postgres:5432/prefect")
    assert environment["PREFECT_SERVER_API_AUTH_STRING"].startswith(
        "${PREFECT_API_AUTH_STRING:?")
    assert "env_file" not in server  # the server needs none of Domus's settings or secrets
    for name in DOMUS_SERVICES:
        assert compose["services"][name]["environment"]["PREFECT_API_AUTH_STRING"].startswith(
            "${PREFECT_API_AUTH_STRING:?")


def test_every_domus_variable_the_compose_file_sets_is_a_setting(
        compose: dict[str, Any]) -> None:
    set_here = {name for service in compose["services"].values()
                for name in (service.get("environment") or {}) if name.startswith("DOMUS_")}
    assert set_here and set_here <= setting_variables(), set_here - setting_variables()


def test_every_setting_and_every_interpolated_variable_is_documented(example: str) -> None:
    compose_text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert undocumented(setting_variables(), example) == set()
    assert undocumented(interpolated(compose_text), example) == set()
    domus_lines = {name for name in documented(example) if name.startswith("DOMUS_")}
    assert domus_lines <= setting_variables(), domus_lines - setting_variables()  # no typo
    others = {name for name in documented(example) if not name.startswith("DOMUS_")}
    assert others <= interpolated(compose_text) | {
        "PREFECT_API_URL", "PREFECT_API_DATABASE_CONNECTION_URL",
        "PREFECT_SERVER_API_AUTH_STRING"}


def test_a_setting_added_without_its_line_in_the_example_would_fail(example: str) -> None:
    assert undocumented(setting_variables() | {"DOMUS_NEW_THING"}, example) == {
        "DOMUS_NEW_THING"}
    without_comment = example.replace("# Log lines: json", "Log lines: json")
    assert "DOMUS_LOG_FORMAT" in undocumented(setting_variables(), without_comment)


def test_the_example_secrets_are_refused_until_someone_sets_them(
        compose: dict[str, Any], example: str, tmp_path: Path) -> None:
    values = documented(example)
    assert values["POSTGRES_PASSWORD"] == values["PREFECT_API_AUTH_STRING"] == ""
    compose_text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    for name in ("POSTGRES_PASSWORD", "PREFECT_API_AUTH_STRING"):  # compose refuses empty
        assert re.findall(rf"\$\{{{name}([^}}]*)\}}", compose_text)
        assert all(rest.startswith(":?") for rest in
                   re.findall(rf"\$\{{{name}([^}}]*)\}}", compose_text)), name
    settings = Settings(secret_key=values["DOMUS_SECRET_KEY"], data_dir=tmp_path)
    with pytest.raises(ConfigurationError, match="DOMUS_SECRET_KEY"):
        secret_key(settings)


def test_the_image_is_python_3_11_or_newer_with_the_project_and_libreoffice() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    base = re.search(r"^FROM python:(\d+)\.(\d+)", dockerfile, re.MULTILINE)
    assert base and (int(base.group(1)), int(base.group(2))) >= (3, 11)
    assert re.search(r"pip install [^\n]*(-e )?\.\s*(\\|&&|$)", dockerfile, re.MULTILINE)
    assert re.search(r"^COPY \. \.$", dockerfile, re.MULTILINE)  # templates are read from it
    assert "libreoffice-writer-nogui" in dockerfile and "fonts-crosextra-carlito" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    ignored = [line for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
               if line and not line.startswith("#")]
    assert ".env" in ignored and ".venv" in ignored and "domus-data" in ignored
    assert "templates" not in ignored
