"""Matching children and adults to people already known.

Order: NHS number, then Unique Pupil Number, then normalised name + date of
birth + postcode. An NHS number match is taken even when the UPNs differ (a
temporary UPN is replaced by a permanent one; a child moves authority). A
UPN match whose NHS number contradicts is not the same person; nor is a
demographic candidate whose NHS number or UPN contradicts.

Partner data (`refusal`) goes through the same rules, with a few more
reasons to refuse a record instead of recording a new person.

`judge` is the one decision the service asks for: given the facts and the
people they could be (`Candidates`), who they are (or nobody yet) and what
is known of them once the facts are in, or, for partner data, why not.
"""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, overload


@dataclass(frozen=True)
class PersonFacts:
    given_name: str
    family_name: str
    date_of_birth: date | None = None
    nhs_number: str | None = None
    upn: str | None = None
    postcode: str | None = None


@dataclass(frozen=True)
class KnownPerson:
    """A person of the index, as far as the rules care."""

    person_id: uuid.UUID
    nhs_number: str | None
    upn: str | None
    postcode: str | None = None
    date_of_birth: date | None = None
    demographic_key: str | None = None

    def stored(self) -> StoredPerson:
        return StoredPerson(self.nhs_number, self.upn, self.postcode, self.date_of_birth, self.demographic_key)


@dataclass(frozen=True)
class Candidates:
    """The people the facts could be: by NHS number, by UPN, by name + date of birth + postcode."""

    by_nhs: KnownPerson | None = None
    by_upn: KnownPerson | None = None
    by_demographics: tuple[KnownPerson, ...] = ()


def normalise_name(name: str) -> str:
    """Case, accents, spaces, hyphens and apostrophes do not matter."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed.casefold() if ch.isalpha())


def normalise_postcode(postcode: str) -> str:
    return "".join(postcode.split()).upper()


def demographic_key(facts: PersonFacts) -> str | None:
    """A one-way key of normalised name + date of birth + postcode, or None
    when any part is missing (then people are matched by identifiers only)."""
    if facts.date_of_birth is None or not facts.postcode:
        return None
    given, family = normalise_name(facts.given_name), normalise_name(facts.family_name)
    if not given or not family:
        return None
    raw = f"{given}|{family}|{facts.date_of_birth.isoformat()}|{normalise_postcode(facts.postcode)}"
    return hashlib.sha256(raw.encode()).hexdigest()


def compatible(known: KnownPerson, facts: PersonFacts) -> bool:
    if known.nhs_number and facts.nhs_number and known.nhs_number != facts.nhs_number:
        return False
    return not (known.upn and facts.upn and known.upn != facts.upn)


def choose_match(
    facts: PersonFacts,
    by_nhs: KnownPerson | None,
    by_upn: KnownPerson | None,
    by_demographics: Iterable[KnownPerson],
) -> KnownPerson | None:
    """The known person these facts describe, in matching order, or None."""
    if by_nhs is not None:
        return by_nhs
    if by_upn is not None and compatible(by_upn, facts):
        return by_upn
    # Name + date of birth + postcode is weaker evidence: it decides only
    # when exactly one compatible person fits (a tie is left unmatched).
    fitting = demographic_fits(facts, by_demographics)
    return fitting[0] if len(fitting) == 1 else None


def demographic_fits(facts: PersonFacts, by_demographics: Iterable[KnownPerson]) -> list[KnownPerson]:
    """The people of the same name + date of birth + postcode whose identifiers do not contradict the facts."""
    return [candidate for candidate in by_demographics if compatible(candidate, facts)]


@dataclass(frozen=True)
class Refusal:
    """Why a partner record's person cannot be placed safely: a bounded
    reason, the field at fault ("" for the person as a whole) and a message
    that names the rule, never a value."""

    reason: str
    field: str
    message: str


def refusal(
    facts: PersonFacts,
    by_nhs: KnownPerson | None,
    by_upn: KnownPerson | None,
    by_demographics: Iterable[KnownPerson],
) -> Refusal | None:
    """Partner data is matched by the same rules as a contact, and refused
    where a contact would be recorded regardless (a contact is about a child
    someone is worried about now; a data feed's record can be corrected and
    sent again, and a wrong person made from it would spread through every
    later record):

    - its UPN belongs to a person its NHS number does not identify (another
      person holds the NHS number, or the UPN's holder has a different one):
      `identifiers_conflict` on `upn`;
    - nothing to match it on (no NHS number, no UPN, no name + date of birth
      + postcode): `unmatchable`;
    - no identifier matches and more than one person fits name + date of
      birth + postcode: `ambiguous_match`.

    An NHS number match whose UPN differs is still taken (as for contacts)."""
    if by_upn is not None and (by_upn.person_id != by_nhs.person_id if by_nhs is not None
                               else not compatible(by_upn, facts)):
        return Refusal("identifiers_conflict", "upn", "the UPN belongs to a person the NHS number does not identify")
    if by_nhs is not None or by_upn is not None:
        return None
    if not facts.nhs_number and not facts.upn and demographic_key(facts) is None:
        return Refusal("unmatchable", "", "no NHS number, UPN or name, date of birth and postcode to match on")
    if len(demographic_fits(facts, by_demographics)) > 1:
        return Refusal("ambiguous_match", "", "more than one known person has this name, date of birth and postcode")
    return None


@dataclass(frozen=True)
class StoredPerson:
    """What is known of a matched (or new) person, as far as the rules care."""

    nhs_number: str | None
    upn: str | None
    postcode: str | None
    date_of_birth: date | None
    demographic_key: str | None


def filled_in(known: StoredPerson, facts: PersonFacts, nhs_taken: bool, upn_taken: bool) -> StoredPerson:
    """What a contact adds to a person: identifiers not yet known (never one
    another person holds already), the latest postcode, a date of birth and
    a demographic key where none was known."""
    return StoredPerson(
        nhs_number=known.nhs_number or (facts.nhs_number if not nhs_taken else None),
        upn=known.upn or (facts.upn if not upn_taken else None),
        postcode=facts.postcode or known.postcode,
        date_of_birth=known.date_of_birth or facts.date_of_birth,
        demographic_key=known.demographic_key or demographic_key(facts),
    )


NOBODY_YET = StoredPerson(None, None, None, None, None)


@dataclass(frozen=True)
class Verdict:
    """Who the facts describe (`match`; None: a new person) and what is known of them once the facts are in."""

    match: KnownPerson | None
    now_known: StoredPerson


@overload
def judge(facts: PersonFacts, found: Candidates, *, strict: Literal[False] = False) -> Verdict: ...


@overload
def judge(facts: PersonFacts, found: Candidates, *, strict: bool) -> Verdict | Refusal: ...


def judge(facts: PersonFacts, found: Candidates, *, strict: bool = False) -> Verdict | Refusal:
    """The person `facts` describe among `found` (`choose_match`), or a new
    one, with what the facts add (`filled_in`: never an identifier that
    another of `found` holds). `strict` (partner data) refuses where a
    contact would be recorded regardless (`refusal`)."""
    if strict and (refused := refusal(facts, found.by_nhs, found.by_upn, found.by_demographics)) is not None:
        return refused
    match = choose_match(facts, found.by_nhs, found.by_upn, found.by_demographics)
    match_id = match.person_id if match is not None else None
    return Verdict(match, filled_in(match.stored() if match is not None else NOBODY_YET, facts,
                                    nhs_taken=found.by_nhs is not None and found.by_nhs.person_id != match_id,
                                    upn_taken=found.by_upn is not None and found.by_upn.person_id != match_id))


@dataclass(frozen=True)
class FamilyPlan:
    family_id: uuid.UUID
    merged: tuple[uuid.UUID, ...] = ()


def plan_family(
    children_families: Sequence[uuid.UUID | None], adult_families: Sequence[uuid.UUID | None],
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> FamilyPlan:
    """The family a contact's children belong to, and the families it merges.

    The children of one contact are one household: the first family known
    for any of them is theirs, and every other family known for one of them
    joins it (the contact linked them). When none of the children is known,
    the first family known for one of the adults is theirs (an adult known
    in a family brings a new child into it). Adults never merge families: a
    parent can belong to two households."""
    children_known = list(dict.fromkeys(f for f in children_families if f is not None))
    if children_known:
        return FamilyPlan(children_known[0], tuple(children_known[1:]))
    for family_id in adult_families:
        if family_id is not None:
            return FamilyPlan(family_id)
    return FamilyPlan(new_id())

