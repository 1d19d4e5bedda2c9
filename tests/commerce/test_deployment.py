"""docker-compose.yml cannot run here (no Docker engine), so check that it parses and that every
command it names for the project's own image exists in the project."""

import importlib
import importlib.util
import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands

ROOT = Path(settings.BASE_DIR)


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def project_services(compose):
    return {name: service for name, service in compose["services"].items() if "build" in service}


def test_compose_has_production_shape(compose):
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(compose["services"])
    assert set(project_services(compose)) == {"migrate", "web", "worker", "beat"}


def test_compose_images_pinned_to_major(compose):
    assert compose["services"]["postgres"]["image"].startswith("postgres:")
    assert compose["services"]["redis"]["image"].startswith("redis:")


def test_compose_environment_names_services(compose):
    environment = compose["services"]["web"]["environment"]
    assert environment["DATABASE_URL"].endswith("@postgres:5432/tandem")
    assert environment["REDIS_URL"] == "redis://redis:6379/0"


def test_compose_build_context_has_dockerfile(compose):
    for name, service in project_services(compose).items():
        context = ROOT / service["build"]
        assert (context / "Dockerfile").is_file(), f"{name}: no Dockerfile in {context}"


def test_dockerfile_copies_existing_paths():
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = re.findall(r"^COPY (.+) \S+$", dockerfile, flags=re.MULTILINE)
    assert copied
    for sources in copied:
        for source in sources.split():
            assert (ROOT / source).exists(), f"Dockerfile copies {source}, which is not in the project"


def check_command(command: list[str]) -> None:
    program = command[0]
    if program == "python":
        assert command[1] == "manage.py"
        assert (ROOT / "manage.py").is_file()
        assert command[2] in get_commands(), f"manage.py has no command {command[2]}"
    elif program == "gunicorn":
        assert importlib.util.find_spec("gunicorn") is not None, "gunicorn is not installed"
        module_name, attribute = command[1].split(":")
        assert callable(getattr(importlib.import_module(module_name), attribute))
    elif program == "celery":
        assert command[1] == "-A"
        app = importlib.import_module(command[2]).celery_app
        assert app.main == "tandem"
        assert command[3] in ("worker", "beat")
    else:
        raise AssertionError(f"Unknown program {program!r} in docker-compose.yml")


def test_compose_commands_exist(compose):
    commands = [service["command"] for service in project_services(compose).values()]
    assert len(commands) == 4
    for command in commands:
        check_command(command)


def test_dockerfile_command_exists():
    dockerfile = (ROOT / "Dockerfile").read_text()
    command = yaml.safe_load(re.search(r"^CMD (.+)$", dockerfile, flags=re.MULTILINE).group(1))
    check_command(command)


def test_pyproject_lists_every_runtime_program():
    pyproject = (ROOT / "pyproject.toml").read_text()
    for package in ("gunicorn", "celery", "Django", "psycopg"):
        assert f'"{package}' in pyproject
