"""Each image builds from what it copies: the root Dockerfile (the stack tool) and deploy/docker/service.Dockerfile
for each service. Read without Docker: the COPY lines (ARG SERVICE filled in) say which files the build has, the
`uv pip install` of the RUN line which local packages it installs. Every package installed must be copied, and
every local package (frontdoor-*) it depends on, declared in its pyproject.toml, must be installed by the same
command; then the same install, run in a folder holding only the copied files, into a fresh venv, must give a
working command (`--help`)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from frontdoor_stack.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]
LOCAL = "frontdoor-"
IMAGES = [("Dockerfile", None, "frontdoor-stack"),
          *(("deploy/docker/service.Dockerfile", spec.name, spec.command) for spec in SERVICES)]


@dataclass(frozen=True)
class Image:
    copies: tuple[str, ...]  # source paths, relative to the build context (the repository root)
    install: tuple[str, ...]  # the uv pip install arguments after `install`


def instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def read_image(text: str, args: dict[str, str]) -> Image:
    """The files a Dockerfile copies and what it installs, its ARGs set as `args`."""
    values = dict(args)
    copies: list[str] = []
    install: tuple[str, ...] = ()

    def filled(word: str) -> str:
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values[m.group(1) or m.group(2)], word)

    for keyword, rest in instructions(text):
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            values.setdefault(name, default)
        elif keyword == "COPY":
            words = [filled(w) for w in shlex.split(rest) if not w.startswith("--")]
            copies += [w.rstrip("/") for w in words[:-1]]
        elif keyword == "RUN":
            for command in rest.split("&&"):
                words = shlex.split(command)
                if words[:3] == ["uv", "pip", "install"]:
                    install = tuple(filled(w) for w in words[3:])
    return Image(tuple(copies), install)


def local_packages(image: Image) -> list[str]:
    return [word.removeprefix("./").rstrip("/") for word in image.install if word.startswith("./")]


def missing(image: Image, context: Path) -> list[str]:
    """What the install needs that the image does not have: a package not copied, or a local dependency
    (declared in a copied pyproject.toml) that the command does not install."""
    problems = []
    installed = {}
    for package in local_packages(image):
        if not any(package == c or package.startswith(c + "/") for c in image.copies):
            problems.append(f"{package} is installed but not copied")
            continue
        project = tomllib.loads((context / package / "pyproject.toml").read_text())["project"]
        installed[canonicalize_name(project["name"])] = project
    for name, project in installed.items():
        for text in project.get("dependencies", []):
            needed = canonicalize_name(Requirement(text).name)
            if needed.startswith(LOCAL) and needed not in installed:
                problems.append(f"{name} depends on {needed}, which the image does not copy and install")
    return problems


def dockerfile(path: str) -> str:
    return (ROOT / path).read_text()


@pytest.mark.parametrize(("path", "service", "command"), IMAGES, ids=lambda v: str(v))
def test_every_installed_package_and_its_local_dependencies_are_copied(path: str, service: str | None,
                                                                        command: str) -> None:
    image = read_image(dockerfile(path), {"SERVICE": service} if service else {})
    assert "requirements.lock" in image.copies and local_packages(image)
    assert missing(image, ROOT) == []


def test_the_root_image_without_the_kit_is_refused_naming_it() -> None:
    """The root Dockerfile as it was (contracts and deploy only), though the stack tool needs frontdoor-platform."""
    text = dockerfile("Dockerfile")
    old = "\n".join(line for line in text.splitlines() if "services/platform/" not in line)
    old = old.replace(" ./services/platform", "")
    image = read_image(old, {})
    assert "services/platform" not in image.copies
    assert missing(image, ROOT) == ["frontdoor-stack depends on frontdoor-platform, which the image does not copy "
                                    "and install"]
    not_copied = read_image(text.replace("COPY services/platform/ services/platform/\n", ""), {})
    assert missing(not_copied, ROOT)[0] == "services/platform is installed but not copied"


def install_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}}
    env.setdefault("UV_CACHE_DIR", str(ROOT / ".cache" / "uv"))
    env.update(UV_PYTHON_DOWNLOADS="never", UV_LINK_MODE="copy", UV_NO_PROGRESS="1")
    return env


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=install_env(), capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode == 0, f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.packaging
@pytest.mark.parametrize(("path", "service", "command"), IMAGES, ids=lambda v: str(v))
def test_the_images_install_runs_from_only_the_copied_files_into_a_fresh_venv(
        path: str, service: str | None, command: str, tmp_path: Path) -> None:
    image = read_image(dockerfile(path), {"SERVICE": service} if service else {})
    context = tmp_path / "src"  # the image's WORKDIR: only what it copies
    for source in image.copies:
        target = context / source
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, target, ignore=shutil.ignore_patterns(
                "__pycache__", "*.egg-info", "build", ".pytest_cache", ".mypy_cache"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / source, target)
    uv = str(Path(sys.executable).parent / "uv")
    venv = tmp_path / "venv"
    run([uv, "venv", "-q", "--python", sys.executable, str(venv)], tmp_path)
    flags = [w for w in image.install if w not in ("-q", "--system", "--compile-bytecode")]
    run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), *flags], context)
    helped = run([str(venv / "bin" / command), "--help"], tmp_path)
    assert command in helped.stdout
