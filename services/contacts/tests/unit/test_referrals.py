import uuid
from datetime import UTC, datetime

import pytest

from contacts.domain.referrals import is_re_referral, is_referral, referral_flags
from frontdoor_contracts.periods import within_twelve_months
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


def test_window_is_the_twelve_calendar_months_before() -> None:
    decided = at("2026-06-15T10:00:00")
    assert is_re_referral(decided, [at("2025-06-15T23:00:00")])  # 00:00 on 16 June in England (BST): inside
    assert not is_re_referral(decided, [at("2025-06-15T10:00:00")])  # on the anniversary: 12 months are over
    assert not is_re_referral(decided, [at("2025-06-14T22:59:59")])  # 23:59 on 14 June in England: outside
    assert is_re_referral(decided, [at("2026-06-15T09:00:00")])
    assert not is_re_referral(decided, [at("2026-06-15T10:00:00")])  # not itself
    assert not is_re_referral(decided, [at("2026-07-01T00:00:00")])  # later ones do not count
    assert not is_re_referral(decided, [])


def test_the_months_are_counted_on_dates_in_england() -> None:
    # 23:30 UTC on 14 June 2026 is 00:30 on 15 June in England: a referral of 15 June 2025 is 12 months back
    assert not is_re_referral(at("2026-06-14T23:30:00"), [at("2025-06-15T09:00:00")])
    assert is_re_referral(at("2026-06-14T22:30:00"), [at("2025-06-15T09:00:00")])


def test_leap_day_window() -> None:
    assert is_re_referral(at("2025-02-28T08:00:00"), [at("2024-02-29T09:00:00")])  # 12 months from 29 February
    assert not is_re_referral(at("2025-03-01T08:00:00"), [at("2024-02-29T09:00:00")])  # ... end with 28 February
    assert not is_re_referral(at("2025-02-28T08:00:00"), [at("2024-02-28T08:00:00")])
    assert is_re_referral(at("2025-02-28T08:00:00"), [at("2024-03-01T08:00:00")])
    assert is_re_referral(at("2028-02-29T08:00:00"), [at("2027-03-01T08:00:00")])  # 365 days, inside a leap year


@pytest.mark.parametrize(("earlier", "later"), [
    ("2025-06-15T10:00:00", "2026-06-15T09:00:00"), ("2025-06-15T10:00:00", "2026-06-14T22:59:00"),
    ("2024-02-29T17:45:00", "2025-02-28T17:45:00"), ("2024-02-29T17:45:00", "2025-03-01T00:00:00"),
    ("2025-10-26T00:30:00", "2026-10-25T23:30:00"), ("2026-01-31T12:00:00", "2026-02-28T12:00:00"),
])
def test_a_re_referral_is_the_contracts_within_twelve_months(earlier: str, later: str) -> None:
    # the one definition the outcomes service also uses for closed cases not re-referred
    assert is_re_referral(at(later), [at(earlier)]) is within_twelve_months(at(earlier), at(later))


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
