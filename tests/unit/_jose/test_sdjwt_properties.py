"""Property tests of the SD-JWT codec (conceal/reveal round trips, split robustness)."""

from __future__ import annotations

import contextlib
import hashlib
import json
from types import MappingProxyType
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeshare._internal.b64 import b64u_encode
from safeshare._jose.sdjwt import (
    MAX_DISCLOSURES,
    ArraySpec,
    MemberSpec,
    Sd,
    SdSpec,
    conceal,
    digest_of,
    reveal,
    serialize,
    split,
)
from safeshare.errors import MalformedInputError, VerificationError

RESERVED = {"_sd", "...", "_sd_alg"}

keys = st.text(max_size=12).filter(lambda k: k not in RESERVED)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=20,
)
json_objects = st.dictionaries(keys, json_values, max_size=8)


class Counter:
    """Deterministic randbytes: distinct blocks from a seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.n = 0

    def __call__(self, n: int) -> bytes:
        self.n += 1
        return hashlib.sha256(f"{self.seed}/{self.n}".encode()).digest()[:n]


def deep_spec(obj: dict[str, Any]) -> SdSpec:
    """Conceal everything recursively: every member and array element disclosable."""
    return {name: _member_spec(value) for name, value in obj.items()}


def _member_spec(value: Any) -> MemberSpec:
    if isinstance(value, dict):
        return Sd(deep_spec(value))
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return Sd(ArraySpec(each=Sd({})))
        return Sd(ArraySpec(each=True))
    return True


@settings(max_examples=150, deadline=None)
@given(obj=json_objects, decoys=st.integers(0, 4), seed=st.integers(0, 2**32))
def test_round_trip_default(obj: dict[str, Any], decoys: int, seed: int) -> None:
    payload, disclosures = conceal(obj, randbytes=Counter(seed), decoys=decoys)
    assert set(payload) <= {"_sd"}
    out, parsed = reveal(payload, [d.encoded for d in disclosures])
    assert out == obj
    assert parsed == disclosures


@settings(max_examples=150, deadline=None)
@given(obj=json_objects, seed=st.integers(0, 2**32))
def test_round_trip_everything_concealed_recursively(obj: dict[str, Any], seed: int) -> None:
    payload, disclosures = conceal(obj, randbytes=Counter(seed), decoys=1, sd=deep_spec(obj))
    out, _ = reveal(payload, [d.encoded for d in disclosures])
    assert out == obj
    # Nothing is visible without disclosures: every top-level member was concealed.
    assert reveal(payload, [])[0] == {}


@settings(max_examples=150, deadline=None)
@given(obj=json_objects, data=st.data())
def test_any_subset_reveals_exactly_that_subset(obj: dict[str, Any], data: st.DataObject) -> None:
    payload, disclosures = conceal(obj, randbytes=Counter(0))
    chosen = data.draw(
        st.lists(st.sampled_from(disclosures), unique=True) if disclosures else st.just([])
    )
    out, _ = reveal(payload, [d.encoded for d in chosen])
    assert out == {d.name: obj[d.name] for d in chosen if d.name is not None}
    assert set(out) == {d.name for d in chosen}


@settings(max_examples=100, deadline=None)
@given(elements=st.lists(json_values, max_size=8), data=st.data())
def test_any_subset_of_array_elements_keeps_order(elements: list[Any], data: st.DataObject) -> None:
    payload, disclosures = conceal(
        {"l": elements}, randbytes=Counter(1), decoys=0, sd={"l": ArraySpec()}
    )
    keep = data.draw(st.lists(st.booleans(), min_size=len(elements), max_size=len(elements)))
    chosen = [d for d, k in zip(disclosures, keep, strict=True) if k]
    out, _ = reveal(payload, [d.encoded for d in chosen])
    assert out == {"l": [v for v, k in zip(elements, keep, strict=True) if k]}


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200) | st.text(alphabet="Ab0_-.~=+/é \n", max_size=200))
def test_split_raises_only_malformed(text: str) -> None:
    try:
        jwt, disclosures, kb = split(text)
    except MalformedInputError:
        return
    assert serialize(jwt, disclosures, kb) == text
    assert len(disclosures) <= MAX_DISCLOSURES


def _encode_json(value: Any) -> str:
    return b64u_encode(json.dumps(value).encode("utf-8"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payload=st.dictionaries(st.sampled_from(["_sd", "...", "_sd_alg", "a", "l"]), json_values),
    disclosures=st.lists(json_values.map(_encode_json) | st.text(max_size=30), max_size=4),
    referenced=st.integers(0, 2),
)
def test_reveal_raises_only_malformed_or_verification(
    payload: dict[str, Any], disclosures: list[str], referenced: int
) -> None:
    """Arbitrary payloads and disclosures: only the two documented error types escape.

    *referenced* 1 and 2 put the disclosures' digests into ``_sd`` or into
    ``...`` array elements, so that their (arbitrary) contents get processed.
    """
    digests = [digest_of(d) if d.isascii() else d for d in disclosures]
    if referenced == 1:
        payload = {**payload, "_sd": digests}
    elif referenced == 2:
        payload = {**payload, "l": [{"...": d} for d in digests]}
    with contextlib.suppress(MalformedInputError, VerificationError):
        reveal(payload, disclosures)


def _tagged(value: Any) -> Any:
    """A plain tree with each container tagged by its kind, to compare shapes exactly."""
    if isinstance(value, dict):
        return {k: _tagged(v) for k, v in value.items()}, "object"
    if isinstance(value, list):
        return [_tagged(v) for v in value], "array"
    return value


def _tagged_frozen(value: Any) -> Any:
    """:func:`_tagged` of the proxies and tuples of reveal(frozen=True)."""
    if isinstance(value, MappingProxyType):
        return {k: _tagged_frozen(v) for k, v in value.items()}, "object"
    if isinstance(value, tuple):
        return [_tagged_frozen(v) for v in value], "array"
    assert not isinstance(value, dict | list)
    return value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payload=st.dictionaries(st.sampled_from(["_sd", "...", "_sd_alg", "a", "l"]), json_values),
    disclosures=st.lists(json_values.map(_encode_json) | st.text(max_size=30), max_size=4),
    referenced=st.integers(0, 2),
)
def test_reveal_frozen_agrees_with_reveal(
    payload: dict[str, Any], disclosures: list[str], referenced: int
) -> None:
    """reveal(frozen=True) fails exactly when reveal fails, with the same error, and
    otherwise returns the same tree with proxies for objects and tuples for arrays."""
    digests = [digest_of(d) if d.isascii() else d for d in disclosures]
    if referenced == 1:
        payload = {**payload, "_sd": digests}
    elif referenced == 2:
        payload = {**payload, "l": [{"...": d} for d in digests]}

    def verdict(frozen: bool) -> Any:
        try:
            out, _ = reveal(payload, disclosures, frozen=frozen)
        except (MalformedInputError, VerificationError) as exc:
            return type(exc), exc.message
        return _tagged_frozen(out) if frozen else _tagged(out)

    assert verdict(frozen=True) == verdict(frozen=False)


@settings(max_examples=150, deadline=None)
@given(obj=json_objects, seed=st.integers(0, 2**32))
def test_frozen_round_trip_everything_concealed_recursively(obj: dict[str, Any], seed: int) -> None:
    payload, disclosures = conceal(obj, randbytes=Counter(seed), decoys=1, sd=deep_spec(obj))
    plain, _ = reveal(payload, [d.encoded for d in disclosures])
    frozen, _ = reveal(payload, [d.encoded for d in disclosures], frozen=True)
    assert _tagged_frozen(frozen) == _tagged(plain) == _tagged(obj)
