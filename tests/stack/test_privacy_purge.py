"""`frontdoor-stack privacy purge-exports [--older-than DAYS]`: the exports the privacy command wrote under
`.run/privacy/` deleted once older than DAYS (30 by default), younger ones kept; anything there that is not
such an export (a file beside them, a directory not named as a request id, one holding a DPO's notes, a
link) left as it is and counted, never named; nothing printed is personal."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from frontdoor_stack import cli
from frontdoor_stack.privacy.purge import DAY, purge_exports


def an_export(folder: Path, days_old: float, *, notes: bool = False) -> Path:
    directory = folder / str(uuid.uuid4())
    directory.mkdir(parents=True, mode=0o700)
    written = time.time() - days_old * DAY
    for name in ("export.json", "export.html", *(["Quibble Testerton.txt"] if notes else [])):
        (directory / name).write_text("Quibble Testerton")
        os.utime(directory / name, (written, written))
    return directory


def test_old_exports_go_young_ones_and_anything_else_stay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "privacy"
    old, older, young = an_export(folder, 31), an_export(folder, 400), an_export(folder, 2)
    with_notes = an_export(folder, 90, notes=True)
    (folder / "Quibble Testerton.pdf").write_text("a DPO's letter")
    (folder / "not-a-request").mkdir()
    (folder / str(uuid.uuid4())).symlink_to(young)
    code = cli.main(["--run-dir", str(tmp_path), "privacy", "purge-exports"])
    out, err = capsys.readouterr()
    assert code == 0
    assert not old.exists() and not older.exists() and young.is_dir() and with_notes.is_dir()
    assert (folder / "Quibble Testerton.pdf").is_file() and (folder / "not-a-request").is_dir()
    assert "2 deleted (over 30 days old), 1 kept" in out and old.name in out and older.name in out
    assert "4 entries there are not exports the command wrote: left as they are" in err
    assert "Quibble" not in out + err


def test_older_than_zero_deletes_every_export_and_a_bad_age_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "privacy"
    an_export(folder, 0), an_export(folder, 1)
    for bad in ("-1", "nan", "inf"):
        assert cli.main(["--run-dir", str(tmp_path), "privacy", "purge-exports", "--older-than", bad]) == 2
        assert "--older-than: must be a number of days, 0 or more" in capsys.readouterr().err
    assert len(list(folder.iterdir())) == 2
    assert cli.main(["--run-dir", str(tmp_path), "privacy", "purge-exports", "--older-than", "0"]) == 0
    assert list(folder.iterdir()) == []


def test_no_exports_folder_is_nothing_to_do(tmp_path: Path) -> None:
    purged = purge_exports(tmp_path / "privacy", 30)
    assert purged.deleted == [] and purged.kept == 0 and purged.left == 0
