"""A throwaway PostgreSQL server from Debian's packages, for the tests (and
for trying the services on PostgreSQL): initdb into a fresh directory, start
on a loopback port, stop and delete.

Debian's server refuses to run as root, so as root it runs as `postgres`.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType


class PostgresUnavailable(RuntimeError):
    pass


def server_bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if not found:
        raise PostgresUnavailable("PostgreSQL server is not installed: `make postgres` installs Debian's package")
    return Path(found[-1]).parent


class PostgresServer:
    def __init__(self, port: int):
        self.port = port
        self._root: Path | None = None

    @property
    def _as_postgres(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str | Path) -> None:
        result = subprocess.run([*self._as_postgres, *map(str, args)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PostgresUnavailable(f"{Path(str(args[0])).name} failed: {result.stderr.strip()[-500:]}")

    def start(self) -> None:
        bin_dir = server_bin_dir()
        self._root = Path(tempfile.mkdtemp(prefix="frontdoor-pg-", dir="/tmp"))
        self._root.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self._root, "postgres", "postgres")
        data = self._root / "data"
        self._run(bin_dir / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        options = f"-p {self.port} -k {self._root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", self._root / "server.log", "-w", "start")

    def create_database(self, name: str) -> str:
        self._run(server_bin_dir() / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self._root is None:
            return
        self._run(server_bin_dir() / "pg_ctl", "-D", self._root / "data", "-m", "fast", "-w", "stop")
        shutil.rmtree(self._root, ignore_errors=True)
        self._root = None

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
