"""deploy/monitoring/ is what frontdoor_stack.monitoring makes: the rules,
the configurations and the dashboards' JSON never drift from the code (run
`python -m frontdoor_stack.monitoring.build` after changing it)."""

from __future__ import annotations

import json
from pathlib import Path

from monitoring_kit import MONITORING

from frontdoor_stack.monitoring import build
from frontdoor_stack.monitoring.boards import DASHBOARDS


def test_every_generated_file_is_checked_in_as_the_code_makes_it() -> None:
    assert build.differing(MONITORING) == [], "run: .venv/bin/python -m frontdoor_stack.monitoring.build"


def test_the_check_finds_a_changed_file_and_a_stale_dashboard_and_write_puts_them_right(tmp_path: Path) -> None:
    assert build.write(tmp_path)  # everything, the first time
    assert build.differing(tmp_path) == []
    rules = tmp_path / build.ALERTS_FILE
    rules.write_text(rules.read_text().replace("severity: page", "severity: ticket", 1))
    stale = tmp_path / build.DASHBOARDS_DIR / "gone.json"
    stale.write_text("{}")
    assert set(build.differing(tmp_path)) == {build.ALERTS_FILE, build.DASHBOARDS_DIR / "gone.json"}
    build.write(tmp_path)
    assert build.differing(tmp_path) == [] and not stale.exists()


def test_each_dashboard_is_grafana_json_with_unique_ids_on_the_grid() -> None:
    uids = [d.uid for d in DASHBOARDS]
    assert len(set(uids)) == len(uids) == 5
    for dashboard in DASHBOARDS:
        made = json.loads((MONITORING / build.DASHBOARDS_DIR / f"{dashboard.uid}.json").read_text())
        assert made["uid"] == dashboard.uid and made["panels"]
        ids = [panel["id"] for panel in made["panels"]]
        assert len(set(ids)) == len(ids)
        for panel in made["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
            assert panel["datasource"]["uid"] == "prometheus" and panel["targets"], panel["title"]
            assert all(target["expr"].strip() for target in panel["targets"])
