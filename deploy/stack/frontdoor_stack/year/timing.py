"""When things happen in a borough's week: contacts mostly in office hours
on working days, police DA notifications some hours after incidents that
happen mostly in the evening and at night, MASH decisions the same working
day or the next, and the school-day deadline a DA notification has."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from .calendar import LONDON, SchoolTerms, at_local, is_working_day, local_date, next_working_day


def contact_time(rng: random.Random, first_day: date, days: int, office_share: float) -> datetime:
    """A contact's arrival in the `days` from `first_day`."""
    while True:
        day = first_day + timedelta(days=rng.randrange(days))
        if rng.random() < office_share:
            if is_working_day(day):
                return at_local(day, time(rng.randrange(8, 18), rng.randrange(60)))
        elif not is_working_day(day) or rng.random() < 0.5:
            hour = rng.randrange(24) if not is_working_day(day) else rng.choice((18, 19, 20, 21, 22, 6, 7))
            return at_local(day, time(hour, rng.randrange(60)))


def decision_time(rng: random.Random, received_at: datetime, same_day_share: float) -> datetime:
    local = received_at.astimezone(LONDON)
    day = local.date()
    if is_working_day(day) and local.hour < 15 and rng.random() < same_day_share:
        return received_at + timedelta(minutes=rng.randrange(30, 150))
    after = next_working_day(day + timedelta(days=1))
    return at_local(after, time(rng.randrange(9, 17), rng.randrange(60)))


def school_deadline(terms: SchoolTerms, reported_at: datetime, starts: time = time(8, 30)) -> datetime | None:
    """The start of the next school day after the report (that morning when reported before it starts)."""
    local = reported_at.astimezone(LONDON)
    day = local.date()
    if terms.is_school_day(day) and local.time() < starts:
        return at_local(day, starts)
    following = terms.next_school_day(day)
    return at_local(following, starts) if following is not None else None


def acknowledgement_time(rng: random.Random, reported_at: datetime, deadline: datetime | None,
                         on_time: bool) -> datetime:
    if deadline is None:
        return reported_at + timedelta(hours=rng.randrange(2, 48))
    if on_time:
        room = (deadline - reported_at).total_seconds()
        return reported_at + timedelta(seconds=room * rng.uniform(0.3, 0.95))
    return deadline + timedelta(minutes=rng.randrange(20, 36 * 60))


def days_in(start: datetime, end: datetime) -> int:
    return (local_date(end) - local_date(start)).days
