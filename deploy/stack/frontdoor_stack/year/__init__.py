"""The seeds' year of a borough's front door, generated: calibrated,
seeded, pure (no broker, no clock). `generate` yields what to publish and
which API moves to make at which business instant (`events`); `expected`
computes the KPI report's figures from that stream, as the outcomes service
defines them; `parameters.json` holds every share with its source."""

from .events import Acknowledge, CaseMove, CaseRef, Expect, Move, PartnerRecordRef, Publish, YearEvent
from .generator import generate
from .parameters import Parameters, load

__all__ = ["Acknowledge", "CaseMove", "CaseRef", "Expect", "Move", "Parameters", "PartnerRecordRef", "Publish",
           "YearEvent", "generate", "load"]
