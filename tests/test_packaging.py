"""What can be checked of the deployment files without a Docker engine."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from pydantic_settings import BaseSettings

from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _env_names(model: type[BaseSettings]) -> set[str]:
    names: set[str] = set()
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseSettings):
            names |= _env_names(kind)
        else:
            names.add(name.upper())
    return names


def test_env_example_lists_every_setting() -> None:
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    missing = _env_names(Settings) - listed
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_compose_runs_the_bot_beside_postgres() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"bot", "db"}
    assert services["db"]["image"].startswith("postgres:15")
    assert "healthcheck" in services["db"]
    bot = services["bot"]
    assert bot["build"] == "."
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert "pgdata" in compose["volumes"]


def test_dockerfile_is_slim_non_root_and_migrates_before_running() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1[1-9]-slim", text, re.M)
    user = re.search(r"^USER (\S+)", text, re.M)
    assert user is not None and user.group(1) not in ("root", "0")
    assert 'CMD ["sh", "-c", "predictbot migrate && exec predictbot run"]' in text
    for path in ("pyproject.toml", "bot", "storage"):
        assert re.search(rf"^COPY .*\b{re.escape(path)}\b", text, re.M)


def test_console_script_and_python_floor() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["predictbot"] == "bot.cli:main"
    assert project["requires-python"] == ">=3.11"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./test.sh" in readme and "./run.sh" in readme
    assert re.search(r"^\./test\.sh\b", ci, re.M)
    assert "PREDICTBOT_REQUIRE_PG=1" in ci


def test_the_licence_is_an_spdx_string_and_its_file_is_mit() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = pyproject["project"]
    # A table (`{ text = "MIT" }`) makes setuptools print a deprecation warning at install.
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    requires = " ".join(pyproject["build-system"]["requires"])
    floor = re.search(r"setuptools>=(\d+)", requires)
    assert floor is not None and int(floor.group(1)) >= 77, requires  # PEP 639 support
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n\nCopyright (c) ")
    assert "Permission is hereby granted, free of charge, to any person obtaining a copy" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text
