"""Loads the thresholds (`domain.thresholds.Thresholds`) from their versioned
configuration file: `thresholds.json` beside this module by default (SHIPPED),
or the file OUTCOMES_THRESHOLDS names. A wrong file is refused naming the field."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from .domain.thresholds import Thresholds

SHIPPED = Path(__file__).with_name("thresholds.json")


class ThresholdsError(ValueError):
    """Names the field that is wrong."""


def load_thresholds(path: Path = SHIPPED) -> Thresholds:
    try:
        document = json.loads(path.read_text())
        document.pop("source", None)
        return Thresholds.model_validate(document)
    except (OSError, ValueError) as error:
        if isinstance(error, ValidationError):
            fields = ", ".join(".".join(map(str, e["loc"])) + f": {e['msg']}" for e in error.errors())
            raise ThresholdsError(f"{path}: {fields}") from None
        raise ThresholdsError(f"{path}: {type(error).__name__}: {error}") from None
