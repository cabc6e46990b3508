"""Each overlay renders (without a kustomize binary) to what `kubectl kustomize` renders, and every rendered
manifest is valid offline: the built-in kinds against the Kubernetes schemas kubernetes-validate bundles, the
Strimzi, CloudNativePG and Prometheus Operator resources against their vendored CRD schemas; and the checks
refuse what they should."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from frontdoor_k8s import kustomize, validate
from frontdoor_k8s.generate import K8S

OVERLAYS = ("development", "production")
CUSTOM = {("kafka.strimzi.io/v1", "Kafka"), ("kafka.strimzi.io/v1", "KafkaNodePool"),
          ("kafka.strimzi.io/v1", "KafkaTopic"), ("kafka.strimzi.io/v1", "KafkaUser"),
          ("postgresql.cnpg.io/v1", "Cluster"), ("postgresql.cnpg.io/v1", "Database"),
          ("monitoring.coreos.com/v1", "ServiceMonitor")}


def rendered(overlay: str) -> list[dict[str, Any]]:
    return kustomize.render(K8S / "overlays" / overlay)


def by_identity(documents: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(d["apiVersion"], d["kind"], d["metadata"]["name"]): d for d in documents}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_manifest_is_valid(overlay: str) -> None:
    documents = rendered(overlay)
    assert validate.check(documents) == []
    kinds = {(d["apiVersion"], d["kind"]) for d in documents}
    assert kinds >= CUSTOM  # each operator's resources are there, so their schemas were used
    assert set(validate.crd_schemas()) == CUSTOM


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_python_render_equals_kubectl_kustomize(overlay: str) -> None:
    """Against `kubectl kustomize`'s output kept in deploy/k8s/rendered/ (`make k8s` writes it where kubectl
    is installed); where kubectl is here, that file must also be what kubectl renders now."""
    kept = (K8S / "rendered" / f"{overlay}.yaml").read_text(encoding="utf-8")
    theirs = by_identity([doc for doc in yaml.safe_load_all(kept) if doc])
    assert by_identity(rendered(overlay)) == theirs
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        output = subprocess.run([kubectl, "kustomize", str(K8S / "overlays" / overlay)], capture_output=True,
                                text=True, check=True, timeout=120).stdout
        assert by_identity([doc for doc in yaml.safe_load_all(output) if doc]) == theirs


def mutated(overlay: str, kind: str, change: Any) -> dict[str, Any]:
    document = copy.deepcopy(next(d for d in rendered(overlay) if d["kind"] == kind))
    change(document)
    return document


@pytest.mark.parametrize(("kind", "change", "field"), [
    ("Deployment", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(imagePullPolcy="Always"),
     "imagePullPolcy"),
    ("NetworkPolicy", lambda d: d["spec"].update(policyTypes="Egress"), "policyTypes"),
    ("Kafka", lambda d: d["spec"]["kafka"]["listeners"][0].update(authentication={"type": "scram-sha-256"}),
     "authentication.type"),
    ("KafkaTopic", lambda d: d["spec"].update(partition=3), "partition"),
    ("KafkaUser", lambda d: d["spec"]["authorization"]["acls"][0].update(operations=["Reed"]), "operations.0"),
    ("Cluster", lambda d: d["spec"].update(instances="three"), "instances"),
    ("Database", lambda d: d["spec"].pop("owner"), "owner"),
    ("ServiceMonitor", lambda d: d["spec"]["endpoints"][0].update(prot="http"), "prot"),
])
def test_a_wrong_field_is_refused_naming_it(kind: str, change: Any, field: str) -> None:
    found = validate.problems(mutated("production", kind, change))
    assert found and field in " ".join(found), found


def test_a_kind_without_a_schema_and_a_bad_name_are_refused() -> None:
    unknown = {"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert "no schema" in validate.problems(unknown)[0]
    bad = mutated("development", "ConfigMap", lambda d: d["metadata"].update(name="Frontdoor_Settings"))
    assert "DNS subdomain" in validate.problems(bad)[0]


def test_the_vendored_schemas_name_their_source_and_version() -> None:
    for path in sorted((K8S / "schemas").glob("*.json")):
        vendored = json.loads(path.read_text())
        assert {"apiVersion", "kind", "source", "openAPIV3Schema"} <= set(vendored), path.name
        assert any(version in vendored["source"] for version in ("1.2.0", "0.95.2", "1.30.0")), path.name


# --- the renderer ------------------------------------------------------------------------------------


def test_a_strategic_merge_merges_named_items_in_built_in_kinds_and_replaces_lists_in_custom_ones() -> None:
    target = {"spec": {"containers": [{"name": "a", "image": "x", "args": ["serve"]}, {"name": "b"}],
                       "drop": 1, "keep": {"x": 1}}}
    patch = {"spec": {"containers": [{"name": "a", "image": "y"}, {"name": "c"}], "drop": None, "keep": {"y": 2}}}
    assert kustomize.merge(target, patch, by_name=True) == {"spec": {
        "containers": [{"name": "a", "image": "y", "args": ["serve"]}, {"name": "b"}, {"name": "c"}],
        "keep": {"x": 1, "y": 2}}}
    assert kustomize.merge(target, patch, by_name=False)["spec"]["containers"] == [{"name": "a", "image": "y"},
                                                                                   {"name": "c"}]
    assert target["spec"]["drop"] == 1  # the target is not changed in place


def write_overlay(folder: Path, kustomization: dict[str, Any], **files: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    for name, documents in files.items():
        (folder / name).write_text(yaml.safe_dump_all(documents))
    return folder


def test_the_renderer_refuses_what_it_does_not_do_and_a_patch_without_a_target(tmp_path: Path) -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                  "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "reg/img:1"}]}}}}
    write_overlay(tmp_path / "base", {"resources": ["d.yaml"]}, **{"d.yaml": [deployment]})
    with pytest.raises(kustomize.KustomizeError, match="namePrefix"):
        kustomize.render(write_overlay(tmp_path / "a", {"resources": ["../base"], "namePrefix": "x-"}))
    missing = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "other"}}
    with pytest.raises(kustomize.KustomizeError, match="no resource"):
        kustomize.render(write_overlay(tmp_path / "b", {"resources": ["../base"], "patches": [{"path": "p.yaml"}]},
                                       **{"p.yaml": [missing]}))
    with pytest.raises(kustomize.KustomizeError, match="twice"):
        kustomize.render(write_overlay(tmp_path / "c", {"resources": ["../base", "../base/d.yaml"]}))
    (done,) = kustomize.render(write_overlay(tmp_path / "d", {
        "resources": ["../base"],
        "images": [{"name": "reg/img", "newName": "other/img", "newTag": "2"}],
        "replicas": [{"name": "d", "count": 3}]}))
    assert done["spec"]["replicas"] == 3
    assert done["spec"]["template"]["spec"]["containers"][0]["image"] == "other/img:2"
