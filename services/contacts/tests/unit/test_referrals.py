import uuid
from datetime import UTC, datetime

import pytest

from contacts.domain.referrals import is_re_referral, is_referral, months_before, referral_flags
from frontdoor_contracts.vocabulary import Decision


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        (Decision.S47_STRATEGY_DISCUSSION, True),
        (Decision.SOCIAL_CARE_ASSESSMENT, True),
        (Decision.EARLY_HELP, False),
        (Decision.ADVICE_EARLY_HELP_ASSESSMENT, False),
        (Decision.SIGNPOSTED, False),
        (Decision.NO_FURTHER_ACTION, False),
    ],
)
def test_only_s47_and_assessment_are_referrals(decision: Decision, expected: bool) -> None:
    assert is_referral(decision) is expected


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_months_before_keeps_the_wall_clock() -> None:
    assert months_before(at("2026-06-15T09:30:00"), 12) == at("2025-06-15T09:30:00")
    assert months_before(at("2026-03-31T00:00:00"), 1) == at("2026-02-28T00:00:00")
    assert months_before(at("2024-02-29T12:00:00"), 12) == at("2023-02-28T12:00:00")
    assert months_before(at("2026-01-10T00:00:00"), 13) == at("2024-12-10T00:00:00")


def test_window_is_the_twelve_months_before() -> None:
    decided = at("2026-06-15T10:00:00")
    assert is_re_referral(decided, [at("2025-06-15T10:00:00")])  # exactly 12 months: inside
    assert not is_re_referral(decided, [at("2025-06-15T09:59:59")])  # a second more: outside
    assert is_re_referral(decided, [at("2026-06-15T09:00:00")])
    assert not is_re_referral(decided, [at("2026-06-15T10:00:00")])  # not itself
    assert not is_re_referral(decided, [at("2026-07-01T00:00:00")])  # later ones do not count
    assert not is_re_referral(decided, [])


def test_leap_day_window() -> None:
    decided = at("2025-02-28T08:00:00")
    assert is_re_referral(decided, [at("2024-02-28T08:00:00")])
    assert not is_re_referral(decided, [at("2024-02-27T23:00:00")])


def test_flags_are_per_child() -> None:
    seen, fresh = uuid.uuid4(), uuid.uuid4()
    decided = at("2026-06-15T10:00:00")
    flags = referral_flags(
        Decision.SOCIAL_CARE_ASSESSMENT, decided, [seen, fresh], {seen: [at("2026-01-01T00:00:00")]}
    )
    assert [(f.child_id, f.referral, f.re_referral) for f in flags] == [(seen, True, True), (fresh, True, False)]


def test_a_non_referral_is_never_a_re_referral() -> None:
    child = uuid.uuid4()
    flags = referral_flags(Decision.EARLY_HELP, at("2026-06-15T10:00:00"), [child], {child: [at("2026-06-01T00:00")]})
    assert flags[0].referral is False and flags[0].re_referral is False


def test_the_re_referral_window_is_a_setting_with_the_dfe_default() -> None:
    from contacts.settings import Settings

    decided = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    earlier = [datetime(2025, 9, 1, 10, 0, tzinfo=UTC)]  # nine months before
    assert Settings().re_referral_window_months == 12
    assert is_re_referral(decided, earlier) and is_re_referral(decided, earlier, window_months=12)
    assert not is_re_referral(decided, earlier, window_months=6)
