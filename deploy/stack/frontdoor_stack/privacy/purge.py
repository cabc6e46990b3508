"""`frontdoor-stack privacy purge-exports [--older-than DAYS]`: the exports the privacy command wrote under the
run directory (`.run/privacy/<request id>/`) deleted once they are older than DAYS (default 30: an answer is
due within a month, UK GDPR Art. 12(3); an export is kept until it is sent, then deleted).

Only what the command writes is deleted: a directory named as a request id holding nothing but
`export.json` and `export.html`. Anything else there (a file someone put beside them, a directory of another
name, a link) is left as it is and counted (not named: a file's name may be a person's), so a DPO's own notes
are never deleted. An export written
elsewhere with `--out` is the DPO's to delete. Its age is that of its newest file. Nothing printed is
personal: request ids, counts and paths."""

from __future__ import annotations

import stat
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

EXPORT_FILES = frozenset({"export.json", "export.html"})
DAY = 86_400.0


@dataclass
class Purged:
    deleted: list[str] = field(default_factory=list)  # request ids
    kept: int = 0  # exports younger than the limit
    left: int = 0  # entries that are not an export of ours, left as they are


def _request_id(name: str) -> bool:
    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False


def _age_days(files: list[Path], now: float) -> float:
    newest = max((path.lstat().st_mtime for path in files), default=0.0)
    return (now - newest) / DAY


def purge_exports(folder: Path, older_than_days: float, now: float | None = None) -> Purged:
    """Delete the exports in `folder` (`.run/privacy/`) older than `older_than_days`."""
    now = time.time() if now is None else now
    purged = Purged()
    if not folder.is_dir():
        return purged
    for entry in sorted(folder.iterdir()):
        mode = entry.lstat().st_mode
        files = sorted(entry.iterdir()) if stat.S_ISDIR(mode) else []
        ours = (stat.S_ISDIR(mode) and _request_id(entry.name) and {f.name for f in files} <= EXPORT_FILES
                and all(stat.S_ISREG(f.lstat().st_mode) for f in files))
        if not ours:
            purged.left += 1
            continue
        if _age_days(files, now) < older_than_days:
            purged.kept += 1
            continue
        for path in files:
            path.unlink()
        entry.rmdir()
        purged.deleted.append(entry.name)
    return purged
