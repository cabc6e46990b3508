"""One privacy request's export: every service's answer (per class of the retention schedule, what it did
and to how many records), and for a subject access request each service's part opened with the request's
one-off private key (its records per class, and the read log's reads of them), as `export.json` and a page
a data protection officer can read, `export.html` (Jinja2, autoescaped: the records' text is data, never
markup), in a directory only its owner can open (0700, the files 0600, never overwritten).

An access export holds more than the person's data: a MASH rationale or a police reference may name a
parent, a sibling or the person who harmed them. `REVIEW` (printed by the command and at the top of the
page, `review_lines`) tells the data protection officer to review it for third parties' data before it is
sent and to delete it once sent (`purge.py`: `frontdoor-stack privacy purge-exports`).

`summary_lines` is what the command prints: services, classes, actions and counts, never a record."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from jinja2 import Environment, FileSystemLoader, Undefined, select_autoescape

from frontdoor_contracts.personal import SealBroken, open_reply
from frontdoor_contracts.privacy import PrivacyAnswered, PrivacyKind, reply_context
from frontdoor_contracts.retention import Schedule

TEMPLATE = "export.html.j2"
PART_BROKEN = "its part did not open with this request's key"
KEEP_DAYS = 30  # an export is kept until the answer is sent: at most the month UK GDPR Art. 12(3) allows
REVIEW = ("Before it is sent, the data protection officer must review it for other people's data: a MASH "
          "rationale, a referral's free text or a police reference may name a parent, a sibling or the person who "
          "harmed the child. Withhold a third party's data unless they consented or disclosing it without their "
          "consent is reasonable (DPA 2018 Sch. 2 para. 16), and social work, education or health data whose "
          "disclosure would be likely to cause serious harm to the child or anyone else (DPA 2018 Sch. 3, the "
          "serious harm test). Delete the export once the answer is sent "
          f"(`frontdoor-stack privacy purge-exports` deletes those over {KEEP_DAYS} days old).")


@dataclass(frozen=True)
class Export:
    document: dict[str, Any]
    broken: tuple[str, ...]  # services whose part did not open


def _part(private_key: X25519PrivateKey, answer: PrivacyAnswered) -> dict[str, Any] | None:
    if answer.part is None:
        return None
    return open_reply(private_key, answer.part, reply_context(answer.request_id, answer.service))


def _records(part: Mapping[str, Any] | None, name: str) -> list[Any]:
    classes = (part or {}).get("classes")
    records = classes.get(name) if isinstance(classes, Mapping) else None
    return list(records) if isinstance(records, list) else []


def _titles(schedule: Schedule | None) -> dict[str, str]:
    if schedule is None:
        return {}
    return {name: held.title for name, held in schedule.classes.items()}


def assemble(request_id: uuid.UUID, kind: PrivacyKind, asked: Mapping[str, Any], answers: Mapping[str, PrivacyAnswered],
             missing: list[str], private_key: X25519PrivateKey, schedule: Schedule | None = None,
             ignored: Mapping[str, int] | None = None) -> Export:
    """The export's document: `asked` is contacts' 202 answer (how many people, the services asked, why an
    erasure is refused); `ignored` the answers not taken, by the service they named, because their source was
    not that service's."""
    titles, services, broken = _titles(schedule), {}, []
    for service, answer in sorted(answers.items()):
        try:
            part, error = _part(private_key, answer), None
        except SealBroken:
            part, error = None, PART_BROKEN
            broken.append(service)
        reads = (part or {}).get("reads")
        services[service] = {
            "answered_at": answer.answered_at.isoformat(),
            "classes": [{"class": c.retention_class, "title": titles.get(c.retention_class, c.retention_class),
                         "action": c.action.value, "records": c.records, "reason": c.reason,
                         "held": _records(part, c.retention_class)} for c in answer.classes],
            "reads": list(reads) if isinstance(reads, list) else [],
            **({"error": error} if error else {}),
        }
    document = {"request_id": str(request_id), "kind": kind.value,
                "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "people": asked.get("people"), "erasure_refused": asked.get("erasure_refused"),
                "complete": not missing and not broken,
                "not_answered": list(missing), "review": REVIEW,
                "answers_ignored": dict(sorted((ignored or {}).items())), "services": services}
    return Export(document, tuple(broken))


def private_directory(path: Path) -> Path:
    """`path` made (parents too) and kept 0700."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def new_export_directory(path: Path) -> Path:
    """`path` private, and empty: an export is never written over another."""
    if any(private_directory(path).iterdir()):
        raise FileExistsError("the export directory is not empty")
    return path


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def columns(records: list[Any]) -> list[str]:
    """The keys of a class's records, in first-seen order (the page's table columns)."""
    seen: dict[str, None] = {}
    for record in records:
        if isinstance(record, Mapping):
            seen.update(dict.fromkeys(str(key) for key in record))
    return list(seen)


def cell(value: Any) -> str:
    """A value as the page shows it (escaped by the template): text as itself, anything else as JSON."""
    if value is None or isinstance(value, Undefined):
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def review_lines(directory: Path) -> list[str]:
    """Where the export is, and what must happen to it before and after it is sent (the command's stderr)."""
    return [f"the export is in {directory} (readable by you alone); it holds the person's data and may hold "
            "other people's.", REVIEW]


def render_html(document: Mapping[str, Any]) -> str:
    environment = Environment(loader=FileSystemLoader(Path(__file__).parent),
                              autoescape=select_autoescape(default=True, default_for_string=True))
    environment.globals.update(columns=columns, cell=cell, review=REVIEW)
    return environment.get_template(TEMPLATE).render(export=document)


def write(directory: Path, export: Export) -> tuple[Path, Path]:
    """export.json and export.html in `directory` (made private first; it must be empty)."""
    new_export_directory(directory)
    json_path, html_path = directory / "export.json", directory / "export.html"
    _write_private(json_path, json.dumps(export.document, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    _write_private(html_path, render_html(export.document))
    return json_path, html_path


def summary_lines(answers: Mapping[str, PrivacyAnswered]) -> list[str]:
    """Per service and class: the action and the count (the schedule's reason for a class kept, once each)."""
    lines = [f"  {'service':<14} {'class':<20} {'action':<10} records"]
    reasons: dict[str, int] = {}
    for service, answer in sorted(answers.items()):
        for c in answer.classes:
            note = ""
            if c.reason:
                number = reasons.setdefault(c.reason, len(reasons) + 1)
                note = f"  (reason {number})"
            lines.append(f"  {service:<14} {c.retention_class:<20} {c.action.value:<10} {c.records}{note}")
    lines += [f"  reason {number}: {reason}" for reason, number in reasons.items()]
    return lines
