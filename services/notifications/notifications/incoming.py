"""A DA incident's child as this service uses it: the ids and categories
in clear on the event, the name, date of birth, UPN and police reference
opened from its sealed `personal` with the child's data key
(`frontdoor_contracts.personal`). A sealed value that is not the child's
(another key), does not open with its key (altered, or copied from another
incident or child), or opens to fields that are not a DA child's is the
record's fault: InvalidEvent, naming the field and the rule, never a value."""

from __future__ import annotations

import uuid

from pydantic import ValidationError

from frontdoor_contracts.contacts import DAChildPersonal, DAChildReported, da_child_context
from frontdoor_contracts.errors import FieldError, InvalidEvent, field_errors
from frontdoor_contracts.personal import SealBroken, open_sealed
from frontdoor_contracts.tolerance import LENIENT


def check_child(index: int, child: DAChildReported) -> None:
    """A child's fields are sealed with the child's own key (key_id = child_id)."""
    if child.personal.key_id != child.child_id:
        raise InvalidEvent("sealed_for_another", [FieldError(f"children.{index}.personal.key_id", "not_the_child",
                                                             "the sealed fields must be under the child's key")])


def open_child(key: bytes, contact_id: uuid.UUID, index: int, child: DAChildReported) -> DAChildPersonal:
    """The child's personal fields, opened with its key; InvalidEvent when they do not open or are not a
    DA child's (newer optional fields are ignored, as on the wire)."""
    where = f"children.{index}.personal"
    try:
        fields = open_sealed(key, child.personal, da_child_context(contact_id, child.child_id))
    except SealBroken:
        broken = FieldError(where, "does_not_open", "the child's sealed fields do not open with its key")
        raise InvalidEvent("sealed_broken", [broken]) from None
    try:
        return DAChildPersonal.model_validate(fields, extra="ignore", context={LENIENT: True})
    except ValidationError as exc:
        raise InvalidEvent("invalid_sealed_fields", field_errors(exc, (where,))) from None
