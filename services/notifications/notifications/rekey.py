"""`frontdoor-notifications secrets rekey`: every secret sealed under a key
other than the current one (`secrets_key_id`) is opened with its own key
and sealed again under the current one: the webhook signing secrets, the
key adults' TOTP secrets and the ones being enrolled. All in one
transaction; if any is sealed under a key id that is not configured,
nothing changes and the ids are named (key ids, never keys). Afterwards
the old key can leave `secrets_keys`. Nothing is logged."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_platform.database import for_writing
from frontdoor_platform.staff.second_factor import totp_context

from .models import KeyAdultRow, PageSessionRow, SigningSecretRow
from .sealing import Keys, signing_context


class UnknownKeys(ValueError):
    """Secrets sealed under key ids that are not in secrets_keys."""


@dataclass(frozen=True)
class Rekeyed:
    signing_secrets: int
    second_factors: int
    enrolments: int


def rekey(engine: Engine, keys: Keys) -> Rekeyed:
    """Seal again under the current key whatever another key sealed; how many of each."""
    with Session(for_writing(engine)) as db:
        signing = db.exec(select(SigningSecretRow).where(col(SigningSecretRow.key_id) != keys.current)).all()
        adults = db.exec(select(KeyAdultRow).where(col(KeyAdultRow.totp_secret).is_not(None),
                                                   col(KeyAdultRow.totp_key_id) != keys.current)).all()
        enrolling = db.exec(select(PageSessionRow).where(col(PageSessionRow.enrol_secret).is_not(None),
                                                         col(PageSessionRow.enrol_key_id) != keys.current)).all()
        used = {row.key_id for row in signing} | {a.totp_key_id for a in adults} | {s.enrol_key_id for s in enrolling}
        unknown = sorted(str(key_id) for key_id in used if key_id not in keys.ids)
        if unknown:
            raise UnknownKeys(f"secrets are sealed under key ids not in secrets_keys: {', '.join(unknown)} (add "
                              "those keys and run it again; nothing changed)")
        for row in signing:
            context = signing_context(row.recipient_id)
            sealed = keys.seal(keys.open(row.key_id, row.secret, context), context)
            row.secret, row.key_id = sealed.ciphertext, sealed.key_id
            db.add(row)
        for adult in adults:
            context = totp_context(adult.staff_id)
            sealed = keys.seal(keys.open(adult.totp_key_id, adult.totp_secret or "", context), context)
            adult.totp_secret, adult.totp_key_id = sealed.ciphertext, sealed.key_id
            db.add(adult)
        for held in enrolling:
            context = totp_context(held.staff_id)
            sealed = keys.seal(keys.open(held.enrol_key_id, held.enrol_secret or "", context), context)
            held.enrol_secret, held.enrol_key_id = sealed.ciphertext, sealed.key_id
            db.add(held)
        db.commit()
        return Rekeyed(len(signing), len(adults), len(enrolling))
