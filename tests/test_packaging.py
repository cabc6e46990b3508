"""Packaging that installs the same everywhere.

requirements.lock pins, with hashes, every version CI tested (`make lock`
writes it, `make venv` installs it). Each service must install on its own,
from its pyproject.toml alone, into a fresh venv: contracts + platform + the
service, every dependency held to the lock's version (as the Docker images
install them), and then import and start its command line. A dependency that
a service imports but does not declare fails here, not in production.

uv (in the lock) makes a fresh venv in about a second; its cache is kept in
the repository's .cache/uv, so only the first run downloads anything.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from frontdoor_stack.services import SERVICES

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
REQUIREMENTS_DEV = ROOT / "requirements-dev.txt"
SHARED = ("contracts", "services/platform")
PACKAGE_DIRS = (*SHARED, "deploy/stack", *(f"services/{spec.name}" for spec in SERVICES))
LOCAL_PREFIX = "frontdoor-"
INSTALLERS = {"pip", "setuptools"}  # what `python -m venv` seeds; no service needs them
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")
STALE = "requirements.lock is out of date: run `make lock`"


def locked_pins() -> dict[str, Version]:
    """Every pin of the lock that applies here (markers evaluated)."""
    pins: dict[str, Version] = {}
    for line in LOCK.read_text().splitlines():
        match = PIN.match(line)
        if match is None:
            continue
        name, version, marker = match.groups()
        if marker and not Marker(marker).evaluate():
            continue
        pins[canonicalize_name(name)] = Version(version)
    return pins


def declared_requirements() -> Iterator[tuple[str, Requirement]]:
    for directory in PACKAGE_DIRS:
        project = tomllib.loads((ROOT / directory / "pyproject.toml").read_text())["project"]
        for text in project.get("dependencies", []):
            yield directory, Requirement(text)
    for line in REQUIREMENTS_DEV.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            yield REQUIREMENTS_DEV.name, Requirement(line)


def test_the_lock_pins_every_declared_dependency_at_a_version_it_allows() -> None:
    pins = locked_pins()
    for where, requirement in declared_requirements():
        name = canonicalize_name(requirement.name)
        if name.startswith(LOCAL_PREFIX) or (requirement.marker and not requirement.marker.evaluate()):
            continue
        assert name in pins, f"{where} needs {requirement}, which the lock lacks; {STALE}"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{where} needs {requirement}, the lock has {pins[name]}; {STALE}"
        )


def test_the_lock_has_no_local_package_and_every_pin_has_hashes() -> None:
    lines = LOCK.read_text().splitlines()
    assert not [name for name in locked_pins() if name.startswith(LOCAL_PREFIX)]
    assert not [line for line in lines if re.match(r"(-e|\.|/|file:)", line)]
    pins = [(line, after) for line, after in zip(lines, [*lines[1:], ""], strict=True) if PIN.match(line)]
    assert pins
    for line, after in pins:
        assert after.lstrip().startswith("--hash=sha256:"), line


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "deploy/docker/service.Dockerfile"])
def test_the_images_install_from_the_lock(dockerfile: str) -> None:
    text = (ROOT / dockerfile).read_text()
    assert re.search(r"^COPY requirements\.lock ", text, re.MULTILINE), "the image must copy the lock"
    commands = re.sub(r"\\\n\s*", " ", text).replace("&&", "\n").splitlines()
    install = next(command for command in commands if "pip install" in command and "./contracts" in command)
    assert "-c requirements.lock" in install, install


# --- each service alone, in a fresh venv -------------------------------------------------------


def uv_executable() -> str | None:
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.is_file() else shutil.which("uv")


def install_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}}
    env.setdefault("UV_CACHE_DIR", str(ROOT / ".cache" / "uv"))
    env.update(
        UV_PYTHON_DOWNLOADS="never",  # the interpreter running the tests, never a downloaded one
        UV_LINK_MODE="copy",  # the cache and tmp_path may be on different file systems
        UV_NO_PROGRESS="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYTHONWARNINGS="ignore:Editable installation",
    )
    return env


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def install_alone(service: str, venv: Path) -> None:
    """contracts + platform + the service, dependencies held to the lock (as the images install them)."""
    env = install_env()
    packages = [f"./{path}" for path in (*SHARED, f"services/{service}")]
    python = str(venv / "bin" / "python")
    uv = uv_executable()
    if uv is not None:
        run([uv, "venv", "-q", "--python", sys.executable, str(venv)], ROOT, env)
        run([uv, "pip", "install", "-q", "--python", python, "-c", str(LOCK), "-b", str(LOCK), *packages], ROOT, env)
        return
    # Without uv: pip refuses hashes beside local directories, so the lock's pins without them.
    constraints = venv.parent / "constraints.txt"
    constraints.write_text(re.sub(r"\s*\\?\n\s+--hash=\S+", "", LOCK.read_text()))
    run([sys.executable, "-m", "venv", str(venv)], ROOT, env)
    run([python, "-m", "pip", "install", "-q", "-c", str(constraints), *packages], ROOT, env)


def installed(venv: Path, cwd: Path) -> dict[str, Version]:
    """What the venv holds, from the venv's own metadata (no pip or uv needed there)."""
    listing = run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.metadata as m\n"
            "for d in m.distributions(): print(d.metadata['Name'], d.version)",
        ],
        cwd,
        install_env(),
    )
    return {
        canonicalize_name(name): Version(version)
        for name, version in (line.split() for line in listing.stdout.splitlines())
    }


@pytest.mark.packaging
@pytest.mark.parametrize("service", [spec.name for spec in SERVICES])
def test_each_service_installs_alone_from_the_lock_and_starts(service: str, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    install_alone(service, venv)
    env = install_env()

    pins = locked_pins()
    held = installed(venv, tmp_path)
    assert {f"{LOCAL_PREFIX}contracts", f"{LOCAL_PREFIX}platform", f"{LOCAL_PREFIX}{service}"} <= set(held)
    for name, version in held.items():
        if name.startswith(LOCAL_PREFIX) or name in INSTALLERS:
            continue
        assert name in pins, f"{service} installed {name} {version}, which the lock lacks; {STALE}"
        assert version == pins[name], f"{service} installed {name} {version}, the lock pins {pins[name]}"

    # From outside the repository, so only the installed copy can be imported.
    imported = run(
        [str(venv / "bin" / "python"), "-c", f"import {service}.main, {service}; print({service}.__file__)"],
        tmp_path,
        env,
    )
    assert Path(imported.stdout.strip()).is_relative_to(venv), imported.stdout
    helped = run([str(venv / "bin" / f"frontdoor-{service}"), "--help"], tmp_path, env, timeout=120)
    assert f"frontdoor-{service}" in helped.stdout
    assert "serve" in helped.stdout
