"""TOTP codes as authenticator apps make them (checked against pyotp's
own): the step before, of and after now are taken, none further; a code
of a step already taken is not taken again; only six digits (spaces
ignored) are a code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp

from frontdoor_platform.staff import totp

NOW = datetime(2026, 12, 7, 7, 30, 10, tzinfo=UTC)


def test_codes_of_the_steps_around_now_are_taken_and_no_others() -> None:
    secret = totp.new_secret()
    app = pyotp.TOTP(secret)
    step = totp.step_at(NOW)
    assert app.at(NOW) == totp.code_at(secret, step)  # what the key adult's app shows now
    for seconds, expected in [(-30, step - 1), (0, step), (30, step + 1)]:
        assert totp.matching_step(secret, app.at(NOW + timedelta(seconds=seconds)), NOW) == expected
    for seconds in (-60, 60, 3600):
        code = app.at(NOW + timedelta(seconds=seconds))
        if code not in {app.at(NOW + timedelta(seconds=s)) for s in (-30, 0, 30)}:  # a rare coincidence aside
            assert totp.matching_step(secret, code, NOW) is None


def test_a_code_of_a_step_already_taken_is_not_taken_again() -> None:
    secret = totp.new_secret()
    code = pyotp.TOTP(secret).at(NOW)
    step = totp.matching_step(secret, code, NOW)
    assert step is not None
    assert totp.matching_step(secret, code, NOW, after=step) is None
    assert totp.matching_step(secret, pyotp.TOTP(secret).at(NOW - timedelta(seconds=30)), NOW, after=step) is None
    later = pyotp.TOTP(secret).at(NOW + timedelta(seconds=30))
    assert totp.matching_step(secret, later, NOW, after=step) == step + 1


def test_only_six_digits_are_a_code() -> None:
    secret = totp.new_secret()
    code = pyotp.TOTP(secret).at(NOW)
    assert totp.matching_step(secret, f" {code[:3]} {code[3:]} ", NOW) is not None
    for given in ["", "12345", "1234567", "abcdef", code + "0", "１２３４５６"]:
        assert totp.matching_step(secret, given, NOW) is None


def test_the_uri_is_one_an_app_takes() -> None:
    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, "dsl-100001")
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri and "dsl-100001" in uri
    assert pyotp.parse_uri(uri).secret == secret
