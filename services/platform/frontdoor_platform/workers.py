"""Two processes per service, so both cores work: `serve` runs the HTTP API
and starts a child, `consume`, that runs the consumer, the outbox relay and
the service's timers. They share the database and Prometheus's
multiprocess files (one /metrics for both); the child reports its
readiness in a status file the API's /readyz reads, dies with its parent,
and is restarted by it if it stops.

Why: the consumer's batches are CPU work under the GIL. In one process
every HTTP request waited for the GIL behind them (p50 250 ms at 64
connections); apart, the API answers on its own core."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("frontdoor.workers")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
STATUS_FILE = "worker-status.json"
STALE_AFTER_SECONDS = 5.0


def multiproc_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: a SIGKILLed parent takes its worker along


class Worker:
    """The parent's handle on its `consume` child, restarted if it stops."""

    def __init__(self, module: str, env: dict[str, str]):
        self._command = [sys.executable, "-m", module, "consume"]
        self._env = env
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._watch = threading.Thread(target=self._run, name="worker-watchdog", daemon=True)

    def start(self) -> None:
        self._watch.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._process = subprocess.Popen(self._command, env=self._env, preexec_fn=_die_with_parent)
            code = self._process.wait()
            if not self._stopping.is_set():
                log.error("worker stopped; restarting it", extra={"exit_code": code})
                time.sleep(1.0)

    def stop(self) -> None:
        self._stopping.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self._watch.join(timeout=5)


def serve_with_worker(module: str, serve: Callable[[], None]) -> None:
    """Run `serve` (the API) here and the worker beside it."""
    prefix = f"frontdoor-{module.split('.')[0]}-"
    _remove_abandoned(Path(tempfile.gettempdir()), prefix)
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))
    os.environ[MULTIPROC_ENV] = str(folder)  # before prometheus_client is imported by the app
    worker = Worker(module, dict(os.environ))
    worker.start()
    try:
        serve()
    finally:
        worker.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _remove_abandoned(parent: Path, prefix: str) -> None:
    """Metrics folders left by a `serve` that was killed (SIGKILL skips its clean-up)."""
    for folder in parent.glob(prefix + "*-*"):
        pid = folder.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def write_status(status: dict[str, bool]) -> None:
    folder = multiproc_dir()
    if folder is None:
        return
    temporary = folder / (STATUS_FILE + ".tmp")
    temporary.write_text(json.dumps(status))
    temporary.replace(folder / STATUS_FILE)


def read_status() -> dict[str, bool] | None:
    """The worker's last word, or None if it has said nothing lately."""
    folder = multiproc_dir()
    path = folder / STATUS_FILE if folder else None
    if path is None or not path.is_file() or time.time() - path.stat().st_mtime > STALE_AFTER_SECONDS:
        return None
    with contextlib.suppress(ValueError, OSError):
        status: dict[str, bool] = json.loads(path.read_text())
        return status
    return None


async def report_status(status: Callable[[], dict[str, bool]], every: float = 1.0) -> None:
    while True:
        write_status(status())
        await asyncio.sleep(every)


def run_worker(app: Any) -> None:
    """The child: the app's lifespan (consumer, relay, timers), no HTTP."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with app.router.lifespan_context(app):
            await stop.wait()

    asyncio.run(main())
