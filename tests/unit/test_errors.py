"""The exception tree: one base class, unique codes, diagnostics for people."""

from __future__ import annotations

import re

import pytest

from safeshare import errors
from safeshare.errors import SafeShareError, UsageError, error_class_for_code

PUBLIC_CLASSES: list[type[SafeShareError]] = [getattr(errors, name) for name in errors.__all__]


def _subclasses(cls: type[SafeShareError]) -> set[type[SafeShareError]]:
    found = {cls}
    for sub in cls.__subclasses__():
        found |= _subclasses(sub)
    return found


def _documented_tree() -> dict[str, str]:
    """Child -> parent, read from the tree drawn in the module docstring."""
    doc = errors.__doc__ or ""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in doc.splitlines():
        match = re.match(r"^[\s│├└─]*([A-Z][A-Za-z]+Error)\b", line)
        if match is None:
            continue
        depth, name = match.start(1), match.group(1)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[name] = stack[-1][1]
        stack.append((depth, name))
    return parents


def test_all_lists_exactly_the_error_classes() -> None:
    public = set(PUBLIC_CLASSES)
    assert public == _subclasses(SafeShareError)
    assert all(isinstance(cls, type) for cls in public)


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda c: c.__name__)
def test_every_class_is_a_safeshare_error(cls: type[SafeShareError]) -> None:
    assert issubclass(cls, SafeShareError)
    with pytest.raises(SafeShareError) as info:
        raise cls("something went wrong")
    assert type(info.value) is cls


def test_codes_are_unique() -> None:
    codes = [cls.code for cls in PUBLIC_CLASSES]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    assert duplicates == []


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda c: c.__name__)
def test_codes_are_language_neutral_names(cls: type[SafeShareError]) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9_]*", cls.code), cls.code
    # A subclass must not inherit its parent's code: codes name one class.
    assert "code" in vars(cls)


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda c: c.__name__)
def test_error_class_for_code_round_trips(cls: type[SafeShareError]) -> None:
    assert error_class_for_code(cls.code) is cls


@pytest.mark.parametrize("code", ["", "no_such_code", "MALFORMED", "malformed "])
def test_error_class_for_unknown_code_is_a_usage_error(code: str) -> None:
    with pytest.raises(UsageError, match="unknown error code"):
        error_class_for_code(code)


def test_docstring_tree_matches_the_class_hierarchy() -> None:
    documented = _documented_tree()
    assert set(documented) | {"SafeShareError"} == {c.__name__ for c in PUBLIC_CLASSES}
    for child, parent in documented.items():
        cls = getattr(errors, child)
        assert cls.__bases__ == (getattr(errors, parent),), child


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda c: c.__name__)
def test_diagnostics_include_message_and_hint(cls: type[SafeShareError]) -> None:
    exc = cls("the registry expired at 12:00", hint="fetch the current registry")
    text = exc.diagnostics()
    assert "the registry expired at 12:00" in text
    assert "fetch the current registry" in text
    assert cls.__name__ in text
    assert cls.code in text
    assert str(exc) == "the registry expired at 12:00"
    assert exc.message == "the registry expired at 12:00"
    assert exc.hint == "fetch the current registry"


def test_diagnostics_without_hint_have_no_hint_line() -> None:
    exc = errors.KeyFileError("bad passphrase")
    assert exc.hint is None
    assert exc.diagnostics().splitlines() == ["KeyFileError (key_file): bad passphrase"]


def test_hint_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        errors.StorageError("message", "hint")  # type: ignore[call-arg]
