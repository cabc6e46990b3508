"""`frontdoor-stack run|up` starts Prometheus and Alertmanager beside the
stack when Debian's binaries are installed (on loopback, on free ports when
the usual ones are taken) and says how to install them when they are not;
`down` finds them by their pid files. Here against a stand-in /metrics."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from frontdoor_stack.kafka_broker import free_port
from frontdoor_stack.monitoring import local
from frontdoor_stack.services import ServiceSpec
from frontdoor_stack.stack import LocalStack, running_pid, stop_recorded

METRICS = b"# TYPE frontdoor_contacts_outbox_parked_rows gauge\nfrontdoor_contacts_outbox_parked_rows 2.0\n"


@pytest.fixture
def metrics_port() -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(METRICS)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def poll(fetch: Callable[[], list[Any]], timeout: float = 30.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while not (found := fetch()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def test_the_summary_says_where_the_uis_are_or_how_to_install_them(tmp_path: Path) -> None:
    stack = LocalStack(root=tmp_path, monitoring=True)
    assert "make prometheus" in stack.summary()
    stack.monitor = local.LocalMonitoring(tmp_path / "monitoring", {}, 19090, 19095)
    summary = stack.summary()
    assert "http://127.0.0.1:19090/alerts" in summary and "http://127.0.0.1:19095" in summary
    assert "make prometheus" not in summary
    assert "Prometheus" not in LocalStack(root=tmp_path).summary()  # the tests' stacks start none


def test_a_port_in_use_gives_way_to_a_free_one() -> None:
    port = free_port()
    assert local.port_or_free(port) == port
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        other = local.port_or_free(port)
    assert other != port


def test_prometheus_scrapes_with_the_rules_alertmanager_behind_and_down_stops_both(
        tmp_path: Path, metrics_port: int) -> None:
    assert local.binaries() is not None, "`make prometheus` installs Debian's prometheus and prometheus-alertmanager"
    spec = ServiceSpec("contacts", metrics_port)
    say: list[str] = []
    monitor = local.for_stack(tmp_path / "monitoring", (spec,), free_port(), free_port(), say.append,
                              kafka=f"127.0.0.1:{metrics_port}")  # the stand-in as the broker's too
    assert monitor is not None and say == [f"Prometheus is up on {monitor.prometheus_url}, Alertmanager on "
                                           f"{monitor.alertmanager_url}"]
    try:
        api = f"{monitor.prometheus_url}/api/v1"
        rules = httpx.get(f"{api}/rules", timeout=10).json()["data"]["groups"]
        assert sum(len(group["rules"]) for group in rules) > 100  # the checked-in rules, every one
        am = poll(lambda: httpx.get(f"{api}/alertmanagers", timeout=10).json()["data"]["activeAlertmanagers"])
        assert [a["url"] for a in am] == [f"{monitor.alertmanager_url}/api/v2/alerts"]
        targets = poll(lambda: httpx.get(f"{api}/targets", timeout=10).json()["data"]["activeTargets"])
        by_job = {target["labels"]["job"]: target for target in targets}
        assert sorted(by_job) == ["frontdoor", "kafka"]
        target, broker = by_job["frontdoor"], by_job["kafka"]
        alerts_page = f"{monitor.prometheus_url}{monitor.ui}/alerts"  # the summary's link: the page, every alert
        assert alerts_page in "\n".join(local.summary_lines(monitor))
        page = httpx.get(alerts_page, timeout=10)
        assert page.status_code == 200 and "FrontDoorDeadLettered" in page.text and "TermDatesRunningOut" in page.text
        assert target["labels"] | {"instance": "-"} == {"job": "frontdoor", "service": "contacts", "instance": "-"}
        assert target["scrapeUrl"] == broker["scrapeUrl"] == f"http://127.0.0.1:{metrics_port}/metrics"
        assert broker["labels"] == {"job": "kafka", "instance": f"127.0.0.1:{metrics_port}"}
        for name, pid in monitor.pids().items():
            (tmp_path / "pids").mkdir(exist_ok=True)
            (tmp_path / "pids" / f"{name}.pid").write_text(f"{pid}\n")
            assert running_pid(tmp_path, name) == pid
        assert set(stop_recorded(tmp_path)) == {"prometheus", "alertmanager"}
        assert all(process.wait(timeout=20) is not None for process in
                   (monitor.prometheus_process, monitor.alertmanager_process) if process)
    finally:
        monitor.stop()
