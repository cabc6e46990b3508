"""The part of kustomize the overlays use, in Python, so `make test` renders them without a kustomize binary:
`resources` (files, and directories holding a kustomization.yaml), `patches` (strategic-merge patch files: a
patch names its target by apiVersion, kind and metadata.name), `images` (newName, newTag) and `replicas`. A
kustomization using anything else is refused, naming the field, so what renders here is what kustomize renders
(tests/k8s compare both where `kubectl kustomize` is on the machine)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

KNOWN = frozenset({"apiVersion", "kind", "resources", "patches", "images", "replicas"})
# Built-in kinds merge lists of named items by name (containers, env, volumes, ports); a custom resource's
# patch replaces a list whole, as kustomize does without a schema for it.
BUILT_IN_GROUPS = frozenset({"v1", "apps", "policy", "batch", "autoscaling"})


class KustomizeError(ValueError):
    pass


def _load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _identity(doc: dict[str, Any]) -> tuple[str, str, str]:
    return doc["apiVersion"], doc["kind"], doc["metadata"]["name"]


def _built_in(api_version: str) -> bool:
    group = api_version.split("/")[0] if "/" in api_version else "v1"
    return group in BUILT_IN_GROUPS or group.endswith(".k8s.io")


def merge(target: Any, patch: Any, by_name: bool) -> Any:
    """A strategic-merge patch: maps merge key by key (null removes a key); a list of named maps merges item
    by name when `by_name`; any other value or list is replaced."""
    if isinstance(target, dict) and isinstance(patch, dict):
        merged = dict(target)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = merge(target[key], value, by_name) if key in target else copy.deepcopy(value)
        return merged
    if by_name and isinstance(target, list) and isinstance(patch, list) and _named(target) and _named(patch):
        items = {item["name"]: item for item in target}
        merged_list = [merge(item, next((p for p in patch if p["name"] == item["name"]), {}), by_name)
                       for item in target]
        return merged_list + [copy.deepcopy(p) for p in patch if p["name"] not in items]
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(item, dict) and "name" in item for item in items)


def _image_name(reference: str) -> str:
    """An image reference without its tag or digest."""
    head, _, last = reference.split("@")[0].rpartition("/")
    return (head + "/" if head else "") + last.split(":")[0]


def _images(doc: dict[str, Any], images: list[dict[str, str]]) -> None:
    pod = doc.get("spec", {}).get("template", {}).get("spec", {})
    for container in [*pod.get("containers", []), *pod.get("initContainers", [])]:
        name = _image_name(container["image"])
        for rule in (rule for rule in images if rule["name"] == name):
            new_name = rule.get("newName", name)
            container["image"] = f"{new_name}:{rule['newTag']}" if "newTag" in rule else new_name


def render(directory: Path) -> list[dict[str, Any]]:
    """The documents `kustomize build directory` gives (in resource order)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = sorted(set(kustomization) - KNOWN)
    if unknown:
        raise KustomizeError(f"{directory / 'kustomization.yaml'}: {unknown[0]} is not supported here")
    documents: list[dict[str, Any]] = []
    for resource in kustomization.get("resources", []):
        path = (directory / resource).resolve()
        documents += render(path) if path.is_dir() else _load_all(path)
    seen = [_identity(doc) for doc in documents]
    if len(seen) != len(set(seen)):
        raise KustomizeError(f"{directory}: a resource is listed twice")
    for entry in kustomization.get("patches", []):
        if set(entry) != {"path"}:
            raise KustomizeError(f"{directory}: a patch is a file (path) naming its own target")
        for patch in _load_all(directory / entry["path"]):
            index = next((i for i, doc in enumerate(documents) if _identity(doc) == _identity(patch)), None)
            if index is None:
                raise KustomizeError(f"{entry['path']}: no resource {'/'.join(_identity(patch))} to patch")
            documents[index] = merge(documents[index], patch, _built_in(patch["apiVersion"]))
    for doc in documents:
        _images(doc, kustomization.get("images", []))
        for rule in kustomization.get("replicas", []):
            if doc["metadata"]["name"] == rule["name"] and doc["kind"] in ("Deployment", "StatefulSet"):
                doc["spec"]["replicas"] = rule["count"]
    return documents
