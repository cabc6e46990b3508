"""The manifests' generator and renderer (deploy/k8s/frontdoor_k8s) importable by these tests, as `make k8s`
runs them (deploy/k8s on PYTHONPATH)."""

from __future__ import annotations

import sys
from pathlib import Path

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
if str(K8S) not in sys.path:
    sys.path.insert(0, str(K8S))
