"""Every alert has its runbook (docs/runbooks/<alert>.md: what it means for
a child or a family, what to check, what to do) and its runbook_url points
there; every runbook has its alert; the index lists them all."""

from __future__ import annotations

import re

from monitoring_kit import RUNBOOKS, alert_rules

from frontdoor_stack.monitoring.rules import RUNBOOK_BASE

SECTIONS = ("## What it means for a child or a family", "## What to check", "## What to do")


def test_every_alert_has_its_runbook_and_points_at_it() -> None:
    for rule in alert_rules():
        name = rule["alert"]
        assert rule["annotations"]["runbook_url"] == f"{RUNBOOK_BASE}{name}.md"
        assert RUNBOOK_BASE.endswith("/docs/runbooks/")
        page = RUNBOOKS / f"{name}.md"
        assert page.is_file(), f"no runbook for {name}"
        text = page.read_text()
        assert text.startswith(f"# {name}\n"), page.name
        positions = [text.find(section) for section in SECTIONS]
        assert -1 not in positions and positions == sorted(positions), f"{page.name}: {SECTIONS} in order"
        assert f"**Severity:** {rule['labels']['severity']}" in text or rule["labels"]["severity"] in \
            text.split("\n\n", 2)[1], f"{page.name} names the severity {rule['labels']['severity']}"


def test_every_runbook_has_its_alert_and_the_index_lists_each() -> None:
    names = {rule["alert"] for rule in alert_rules()}
    pages = {page.stem for page in RUNBOOKS.glob("*.md") if page.name != "README.md"}
    assert pages == names
    index = (RUNBOOKS / "README.md").read_text()
    listed = set(re.findall(r"^\| \[(\w+)\]\((\w+)\.md\)", index, re.MULTILINE))
    assert listed == {(name, name) for name in names}
