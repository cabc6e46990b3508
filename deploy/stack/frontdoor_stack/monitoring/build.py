"""Writes deploy/monitoring/ from this package: the Prometheus rules and
configuration, the Alertmanager configuration and Grafana's provisioning
with the dashboards' JSON.

    python -m frontdoor_stack.monitoring.build          write the files
    python -m frontdoor_stack.monitoring.build --check  exit 1 if any differs

The promtool tests (deploy/monitoring/prometheus/tests/) and the runbooks
(docs/runbooks/) are written by hand: they check what this makes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..paths import repo_root
from . import alerts, recording
from .boards import DASHBOARDS
from .configs import COMPOSE_ALERTMANAGER, COMPOSE_RULE_FILES, alertmanager_config, compose_targets, prometheus_config
from .rules import Group, rules_document, to_yaml

RECORDING_FILE = Path("prometheus/rules/recording.rules.yml")
ALERTS_FILE = Path("prometheus/rules/alerts.rules.yml")
DASHBOARDS_DIR = Path("grafana/provisioning/dashboards/frontdoor")
GRAFANA_DASHBOARDS_MOUNT = "/etc/grafana/provisioning/dashboards/frontdoor"  # deploy/monitoring/compose.yml


def monitoring_dir() -> Path:
    return repo_root() / "deploy" / "monitoring"


def rule_groups() -> tuple[Group, ...]:
    return (*recording.GROUPS, *alerts.GROUPS)


def _datasources() -> dict[str, Any]:
    return {"apiVersion": 1, "datasources": [{
        "name": "Prometheus", "uid": "prometheus", "type": "prometheus", "access": "proxy",
        "url": "http://prometheus:9090", "isDefault": True, "editable": False}]}


def _dashboard_provider() -> dict[str, Any]:
    return {"apiVersion": 1, "providers": [{
        "name": "frontdoor", "folder": "Front Door", "type": "file", "disableDeletion": True,
        "allowUiUpdates": False, "options": {"path": GRAFANA_DASHBOARDS_MOUNT}}]}


def files() -> dict[Path, str]:
    """Every generated file, by its path under deploy/monitoring/."""
    made = {
        RECORDING_FILE: to_yaml(rules_document(recording.GROUPS)),
        ALERTS_FILE: to_yaml(rules_document(alerts.GROUPS)),
        Path("prometheus/prometheus.yml"): to_yaml(prometheus_config(compose_targets(), COMPOSE_ALERTMANAGER,
                                                                     COMPOSE_RULE_FILES)),
        Path("alertmanager/alertmanager.yml"): to_yaml(alertmanager_config()),
        Path("grafana/provisioning/datasources/prometheus.yml"): to_yaml(_datasources()),
        Path("grafana/provisioning/dashboards/frontdoor.yml"): to_yaml(_dashboard_provider()),
    }
    for dashboard in DASHBOARDS:
        made[DASHBOARDS_DIR / f"{dashboard.uid}.json"] = dashboard.text()
    return made


def differing(root: Path) -> list[Path]:
    """The generated files missing under `root` or different there, and dashboards there no longer made."""
    wanted = files()
    stale = [p.relative_to(root) for p in (root / DASHBOARDS_DIR).glob("*.json") if p.relative_to(root) not in wanted]
    return [path for path, text in wanted.items()
            if not (root / path).is_file() or (root / path).read_text() != text] + stale


def write(root: Path) -> list[Path]:
    changed = differing(root)
    wanted = files()
    for path in changed:
        if path in wanted:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(wanted[path])
        else:
            (root / path).unlink()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m frontdoor_stack.monitoring.build", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file differs")
    args = parser.parse_args(argv)
    root = monitoring_dir()
    changed = differing(root) if args.check else write(root)
    for path in changed:
        print(f"{'differs' if args.check else 'wrote'}: deploy/monitoring/{path}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
