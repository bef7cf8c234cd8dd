"""The scenario transcript's ``refuse``: the expected error type, and every way to misbehave."""

from __future__ import annotations

import pytest

from safeshare._transcript import Transcript
from safeshare.errors import AuditIntegrityError, PolicyError, SafeShareError, UsageError


def _raise(error: SafeShareError) -> None:
    raise error


def test_refuse_expects_policy_error_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    t = Transcript()
    error = t.refuse("opening", lambda: _raise(PolicyError("not for this purpose")))
    assert isinstance(error, PolicyError)
    assert t.failures == []
    assert "refused as expected: PolicyError: not for this purpose" in capsys.readouterr().out


def test_refuse_with_another_error_type(capsys: pytest.CaptureFixture[str]) -> None:
    t = Transcript()
    error = t.refuse(
        "the report", lambda: _raise(AuditIntegrityError("bad")), error=AuditIntegrityError
    )
    assert isinstance(error, AuditIntegrityError)
    assert t.failures == []
    assert "refused as expected: AuditIntegrityError: bad" in capsys.readouterr().out


def test_refuse_records_the_wrong_error(capsys: pytest.CaptureFixture[str]) -> None:
    t = Transcript()
    assert (
        t.refuse("the report", lambda: _raise(PolicyError("no")), error=AuditIntegrityError) is None
    )
    assert t.failures == ["the report"]
    assert (
        "MISBEHAVED: expected AuditIntegrityError, got PolicyError: no" in capsys.readouterr().out
    )


def test_refuse_records_an_accepted_action(capsys: pytest.CaptureFixture[str]) -> None:
    t = Transcript()
    assert t.refuse("opening", lambda: None) is None
    assert t.failures == ["opening"]
    assert "MISBEHAVED: opening was accepted" in capsys.readouterr().out


def test_refuse_takes_only_safeshare_error_types() -> None:
    with pytest.raises(UsageError):
        Transcript().refuse("x", lambda: None, error=ValueError)  # type: ignore[type-var]
