"""Data at rest on this machine is its owner's alone: data directories 0700,
database files 0600, whatever the umask (issue 15). `mkdir -p` leaves the
directories it makes to the umask (usually 0755: anyone may list and read),
and SQLite creates its files 0644; these make them private from the start
and tighten what an earlier run left open."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600

log = logging.getLogger("frontdoor.files")


def private_directory(path: Path | str, *, tighten: bool = False) -> Path:
    """`path` as a directory: every directory missing on the way made 0700.
    `tighten`: `path` itself is made 0700 even when it was there already (a
    folder that is ours alone, never a shared parent such as /tmp)."""
    path = Path(path)
    missing: list[Path] = []
    current = path
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile (another process): judged below
            directory.mkdir(mode=DIRECTORY_MODE)
            os.chmod(directory, DIRECTORY_MODE)  # mkdir's mode passes through the umask
    if tighten:
        os.chmod(path, DIRECTORY_MODE)
    return path


def private_file(path: Path | str, *companions: str) -> Path:
    """`path` as a file only its owner may read or write: created empty 0600
    when missing (before whatever fills it creates it under the umask), else
    tightened to 0600, with any `companions` (name suffixes such as `-wal`)
    that exist. A file we may not change is left as it is, with a warning."""
    path = Path(path)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for file in (path, *(path.with_name(path.name + suffix) for suffix in companions)):
        try:
            os.chmod(file, FILE_MODE)
        except FileNotFoundError:
            continue
        except PermissionError:
            log.warning("a data file could not be made private (0600): it is not ours", extra={"file": str(file)})
    return path
