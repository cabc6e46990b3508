"""The families' pictures during a rebuild, in bounded memory: the `keep`
most recently used held as objects, the others as JSON in a temporary
SQLite file of their own (created readable by this user alone, removed at
the end, whatever happens). The stream's processor reads and writes them
as a plain mapping (`objects=True`: it mutates what it loaded, and stores
every picture a batch changed when the batch commits), so a picture
leaves memory only between batches (`trim`), never while a batch holds it.

A picture goes to the file as the live stream's tables keep it (its JSON,
about 2 kB) and comes back validated, as they give it back (about 0.1 ms
a family, twice as fast as pickle here and no code in the file); the
file holds what the rebuild's database holds anyway (ids, dates and
measures, no names), and lives as long as the rebuild."""

from __future__ import annotations

import heapq
import os
import sqlite3
import tempfile
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from types import TracebackType

from ..domain.family import Family

KEEP = 20_000  # pictures held in memory (about 14 kB each for a family of a few contacts and facts)
PAGE = 2_000  # family ids read from the file at a time when every picture is gone through


class Pictures(MutableMapping[str, Family]):
    """`with Pictures(keep) as pictures`: a mapping of family id to picture."""

    def __init__(self, keep: int = KEEP, directory: Path | None = None):
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.keep = keep
        descriptor, name = tempfile.mkstemp(prefix="outcomes-rebuild-pictures-", suffix=".db", dir=directory)
        os.close(descriptor)  # mkstemp made it 0600
        self.path = Path(name)
        self._db = sqlite3.connect(self.path)
        self._db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; "
                               "CREATE TABLE pictures (family_id TEXT PRIMARY KEY, picture TEXT NOT NULL);")
        self._held: OrderedDict[str, Family] = OrderedDict()
        self.spilled = 0  # pictures written to the file
        self.read_back = 0  # pictures read from it

    def __enter__(self) -> Pictures:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._held.clear()
        self._db.close()
        self.path.unlink(missing_ok=True)

    def get(self, key: str, default: Family | None = None) -> Family | None:  # type: ignore[override]
        family = self._held.get(key)
        if family is not None:
            self._held.move_to_end(key)
            return family
        row = self._db.execute("SELECT picture FROM pictures WHERE family_id = ?", (key,)).fetchone()
        if row is None:
            return default
        family = Family.model_validate_json(row[0])
        self.read_back += 1
        self._held[key] = family
        return family

    def __getitem__(self, key: str) -> Family:
        family = self.get(key)
        if family is None:
            raise KeyError(key)
        return family

    def __setitem__(self, key: str, family: Family) -> None:
        self._held[key] = family
        self._held.move_to_end(key)

    def __delitem__(self, key: str) -> None:
        held = self._held.pop(key, None)
        gone = self._db.execute("DELETE FROM pictures WHERE family_id = ?", (key,)).rowcount
        if held is None and not gone:
            raise KeyError(key)

    def drop(self, keys: list[str]) -> None:
        """Remove these pictures, held or on disk, at once (the final pass, done with them)."""
        for key in keys:
            self._held.pop(key, None)
        self._db.executemany("DELETE FROM pictures WHERE family_id = ?", [(key,) for key in keys])

    def trim(self) -> None:
        """Write the least recently used pictures to the file until `keep` are held (between batches)."""
        if len(self._held) > self.keep:
            self._write([self._held.popitem(last=False) for _ in range(len(self._held) - self.keep)])

    def _write(self, out: list[tuple[str, Family]]) -> None:
        self._db.executemany("INSERT OR REPLACE INTO pictures (family_id, picture) VALUES (?, ?)",
                             [(key, family.model_dump_json()) for key, family in out])
        self.spilled += len(out)

    def __len__(self) -> int:
        return sum(1 for _ in self.ordered())

    def __iter__(self) -> Iterator[str]:
        return self.ordered()

    def ordered(self) -> Iterator[str]:
        """Every family id once, in order: those held (as they are now) merged with those in the file, read
        `PAGE` at a time. Pictures may be read, changed and trimmed meanwhile (none added or removed)."""
        last = None
        for key in heapq.merge(sorted(self._held), self._stored()):
            if key != last:  # a picture held may have an older copy in the file
                yield key
                last = key

    def _stored(self) -> Iterator[str]:
        after = ""
        while page := [key for (key,) in self._db.execute(
                "SELECT family_id FROM pictures WHERE family_id > ? ORDER BY family_id LIMIT ?", (after, PAGE))]:
            yield from page
            after = page[-1]
