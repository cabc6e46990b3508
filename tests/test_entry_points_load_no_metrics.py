"""`serve` points Prometheus at its multiprocess directory after the service's
command line is imported: a metrics library loaded by that import would
keep the API's own counters (requests, rejections, moves) out of /metrics
on a running stack, while every in-process test still sees them. The
allocation board's page once pulled it in through its moves."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("service", ["contacts", "allocation", "notifications", "outcomes"])
def test_importing_a_services_command_line_loads_no_metrics_library(service: str) -> None:
    found = subprocess.run([sys.executable, "-c", f"import {service}.main, sys; "
                            "print(sorted(m for m in sys.modules if m.startswith('prometheus_client')))"],
                           capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
