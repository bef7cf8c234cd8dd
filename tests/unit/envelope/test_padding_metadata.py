"""Metadata minimization: padding to Padmé buckets, and nothing in clear outside the ciphertext.

specs/safeshare-v1.md section 16 (16.1 and 16.2).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeshare import _testnet
from safeshare._internal.b64 import b64u_decode
from safeshare.audit.recorder import MemoryRecorder
from safeshare.envelope import open_envelope, seal
from safeshare.envelope._padding import b64_length, pad_zeros, padme
from safeshare.purpose.conditions import HandlingConditions
from safeshare.storage import ReplayCache, open_store
from tests.conftest import NOW

XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
PURPOSE: Final = "asset_tracing"
CASE: Final = "XA/2026/PADDING-CASE-7781"


@pytest.fixture(scope="module")
def net() -> _testnet.TestNetwork:
    return _testnet.build(NOW)


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[ReplayCache]:
    with open_store(f"sqlite:///{tmp_path / 'r.db'}") as store:
        yield ReplayCache(store)


def sealed(net: _testnet.TestNetwork, record: dict[str, Any], *, pad: bool) -> bytes:
    return seal(
        record,
        sender=net.keysets[XA],
        to=[XB],
        registry=net.registry,
        purpose=PURPOSE,
        legal_basis="UNTOC.Art18",
        case_ref=CASE,
        message_type="spontaneous_information",
        handling=HandlingConditions(acknowledgements=("Handle as SECRET-CONDITION-TEXT",)),
        now=NOW,
        pad=pad,
    )


def ciphertext_length(envelope: bytes) -> int:
    return len(b64u_decode(json.loads(envelope)["ciphertext"], what="ciphertext"))


# -- Padmé ---------------------------------------------------------------------------------


@given(st.integers(min_value=2, max_value=2**24))
def test_padme_bucket_is_at_least_the_length_with_at_most_12_percent_overhead(n: int) -> None:
    bucket = padme(n)
    assert n <= bucket <= n * 1.12 + 1
    assert padme(bucket) == bucket  # a bucket is its own bucket


@given(st.integers(min_value=2, max_value=2**20), st.integers(min_value=2, max_value=2**20))
def test_padme_is_monotone(a: int, b: int) -> None:
    if a <= b:
        assert padme(a) <= padme(b)


@given(st.integers(min_value=50, max_value=10_000), st.integers(min_value=10, max_value=200_000))
def test_pad_zeros_reaches_the_bucket_or_one_below(fixed: int, payload: int) -> None:
    zeros = pad_zeros(fixed, payload)
    assert zeros >= 0
    total = fixed + b64_length(payload + len(',"pad":""') + zeros)
    target = padme(fixed + b64_length(payload + len(',"pad":""')))
    assert total in (target, target - 1)


# -- padded envelopes ----------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=3000))
def test_padded_plaintext_length_is_a_bucket(net: _testnet.TestNetwork, n: int) -> None:
    envelope = sealed(net, {"note": "x" * n}, pad=True)
    length = ciphertext_length(envelope)
    assert padme(length) in (length, length + 1)


def test_records_of_different_lengths_in_one_bucket_look_alike(net: _testnet.TestNetwork) -> None:
    short = sealed(net, {"note": "x" * 1000}, pad=True)
    longer = sealed(net, {"note": "x" * 1040}, pad=True)
    assert abs(ciphertext_length(short) - ciphertext_length(longer)) <= 1
    assert ciphertext_length(sealed(net, {"note": "x" * 1000}, pad=False)) != ciphertext_length(
        sealed(net, {"note": "x" * 1040}, pad=False)
    )


def test_a_padded_envelope_opens_to_the_same_record(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    record = {"note": "Zoë", "amount": 12}
    opened = open_envelope(
        sealed(net, record, pad=True),
        recipient=net.keysets[XB],
        registry=net.registry,
        replay=replay,
        purpose=PURPOSE,
        actor="analyst",
        recorder=MemoryRecorder(),
        acknowledged=["Handle as SECRET-CONDITION-TEXT"],
        now=NOW,
    )
    assert dict(opened.record) == record
    assert "pad" not in opened.verified_claims()


# -- nothing in clear ----------------------------------------------------------------------


@pytest.mark.parametrize("pad", [False, True])
def test_unencrypted_parts_reveal_no_purpose_case_conditions_or_record(
    net: _testnet.TestNetwork, pad: bool
) -> None:
    envelope = json.loads(sealed(net, {"subject_name": "Jan UNIQUE-NAME-42"}, pad=pad))
    clear = [b64u_decode(envelope["protected"], what="header").decode()]
    clear += [json.dumps(r) for r in envelope["recipients"]]
    clear.append(envelope["iv"])
    text = "\n".join(clear)
    for secret in (PURPOSE, CASE, "SECRET-CONDITION-TEXT", "UNIQUE-NAME-42", "subject_name", XA):
        assert secret not in text
    assert set(json.loads(clear[0])) == {"enc", "typ", "cty"}
