"""Shared helpers and fixtures for the envelope interop and property tests.

The network is :func:`safeshare._testnet.build` at a fixed :data:`NOW`: four
agencies (XA-NPOL, XB-PROS, XC-CUST, XD-FIU) with fresh keys and a signed
registry. Test directories pull the fixtures in through their ``conftest.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest
from hypothesis import strategies as st

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_encode
from safeshare._internal.clock import to_unix
from safeshare._jose import jws, sdjwt
from safeshare._testnet import TestNetwork, build
from safeshare.audit.recorder import MemoryRecorder
from safeshare.envelope import (
    DEFAULT_TTL,
    PROTOCOL_VERSION,
    SD_JWT_TYP,
    OpenedEnvelope,
    open_envelope,
    seal,
)
from safeshare.keys import AgencyKeySet
from safeshare.purpose.conditions import Evaluation, HandlingConditions, Retention
from safeshare.purpose.vocabulary import (
    Purpose,
    Vocabulary,
    VocabularyFile,
    load_default,
    merge,
)
from safeshare.storage import ReplayCache, open_store

__all__ = [
    "ACTOR",
    "CASE_REF",
    "ENVELOPE_PROTECTED",
    "HANDLING",
    "LEGAL_BASIS",
    "MESSAGE_TYPE",
    "NOW",
    "PURPOSE",
    "RECORD",
    "RESERVED",
    "XA",
    "XB",
    "XC",
    "XD",
    "ReplayCaches",
    "canonical",
    "expected_claims",
    "json_leaves",
    "json_values",
    "names",
    "open_as",
    "records",
    "replay_caches",
    "seal_default",
    "sign_token",
    "testnet",
    "vocabulary_with",
]

#: The fixed "current time" of these tests.
NOW: Final = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
XC: Final = "XC-CUST"
XD: Final = "XD-FIU"

PURPOSE: Final = "criminal_investigation"
LEGAL_BASIS: Final = "BUDAPEST-2AP.Art7"
CASE_REF: Final = "XA/2026/0042-Ωmega"
MESSAGE_TYPE: Final = "spontaneous_information"
#: Non-default handling conditions, so that a verifier that silently fell back
#: to the defaults would be caught.
HANDLING: Final = HandlingConditions(
    tlp="RED",
    handling_code="H2",
    evaluation=Evaluation(source="B", information=2),
    onward_transfer="allowed_to_listed",
    onward_allowed_to=(XD,),
    evidential_use="allowed",
    confidential_request=True,
    retention=Retention(max_days=180, review_days=90),
    no_solely_automated_decision=True,
    acknowledgements=("Do not contact the suspect before 2026-12-15.",),
)
#: Who opens envelopes in these tests (recorded in the audit entries).
ACTOR: Final = "test officer 7"
#: A record with every JSON type, nesting and non-ASCII text.
RECORD: Final[dict[str, Any]] = {
    "given_name": "Zoë",
    "family_name": "Ångström-Øster",
    "aliases": ["Z.", "Зоя", "ゾーイ"],
    "date_of_birth": "1990-02-28",
    "address": {"street": "Rue du Marché 12", "locality": "Vïlle", "country": "XA"},
    "vehicles": [{"plate": "XA-123-ZZ", "colour": "red"}, {"plate": "XA-456-YY"}],
    "height_m": 1.72,
    "case_count": 3,
    "armed": False,
    "note": None,
    "emoji": "🚔",
}
#: The JWE protected header of the profile (spec section 5.1), exactly.
ENVELOPE_PROTECTED: Final = {
    "enc": "A256GCM",
    "typ": "safeshare-envelope+jwe",
    "cty": "safeshare+sd-jwt",
}


#: Names SD-JWT reserves (``_sd``, ``...``) and the profile too (``_sd_alg``).
RESERVED: Final = frozenset({"_sd", "...", "_sd_alg"})
MAX_SAFE_INTEGER: Final = 2**53 - 1

# Hypothesis strategies: JSON values a record may hold (I-JSON integers, finite floats).
names = st.text(max_size=12).filter(lambda name: name not in RESERVED)
json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=24)
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names, inner, max_size=4),
    max_leaves=16,
)
#: Records: 0 to 12 fields with any JSON value; no reserved name at any depth.
records = st.dictionaries(names, json_values, max_size=12)


def canonical(value: Any) -> str:
    """Type-strict comparison key: ``True``, ``1`` and ``1.0`` differ, key order does not."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True, allow_nan=False)


def seal_default(
    net: TestNetwork,
    record: Mapping[str, Any] = RECORD,
    *,
    sender: str = XA,
    to: Sequence[str] = (XB, XC),
    handling: HandlingConditions = HANDLING,
) -> bytes:
    """Seal *record* with this module's protocol claims at :data:`NOW`."""
    return seal(
        record,
        sender=net.keysets[sender],
        to=list(to),
        registry=net.registry,
        purpose=PURPOSE,
        legal_basis=LEGAL_BASIS,
        case_ref=CASE_REF,
        message_type=MESSAGE_TYPE,
        handling=handling,
        now=NOW,
    )


def expected_claims(
    net: TestNetwork,
    *,
    jti: str,
    record: Mapping[str, Any] = RECORD,
    sender: str = XA,
    to: Sequence[str] = (XB, XC),
    sealed_to: Sequence[str] | None = None,
    handling: HandlingConditions = HANDLING,
    purpose: str = PURPOSE,
    legal_basis: str = LEGAL_BASIS,
    case_ref: str = CASE_REF,
    message_type: str = MESSAGE_TYPE,
    ttl: timedelta = DEFAULT_TTL,
) -> dict[str, Any]:
    """What ``OpenedEnvelope.verified_claims()`` must be (``jti`` is random, so given)."""
    iat = to_unix(NOW)
    if sealed_to is None:
        sealed_to = [net.registry.encryption_key(a, at=NOW).kid for a in to]
    # A single recipient is bound as holder unless onward transfer is forbidden
    # (specs/safeshare-v1.md section 7.1).
    binding: dict[str, Any] = {}
    if len(to) == 1 and handling.onward_transfer != "forbidden":
        jwk = net.registry.signing_key(to[0], at=NOW).to_jwk()
        binding = {"cnf": {"jwk": {k: jwk[k] for k in ("kty", "crv", "x")}}}
    return {
        "iss": sender,
        "aud": list(to),
        "iat": iat,
        "exp": iat + int(ttl.total_seconds()),
        "jti": jti,
        "ver": PROTOCOL_VERSION,
        "msg_type": message_type,
        "purpose": purpose,
        "legal_basis": legal_basis,
        "case_ref": case_ref,
        "handling": handling.model_dump(mode="json"),
        "sealed_to": list(sealed_to),
        "record": dict(record),
        **binding,
    }


def sign_token(
    net: TestNetwork,
    record: Mapping[str, Any] = RECORD,
    *,
    sender: str = XA,
    to: Sequence[str] = (XB, XC),
    sealed_to: Sequence[str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """An SD-JWT signed by *sender* exactly as ``_seal.py`` builds it, without the JWE.

    Returns the serialized SD-JWT and the claims ``open_envelope`` must report
    for it. *sealed_to* defaults to the recipients' current encryption keys.
    """
    keys: AgencyKeySet = net.keysets[sender]
    jti = b64u_encode(os.urandom(16))
    claims = expected_claims(net, jti=jti, record=record, sender=sender, to=to, sealed_to=sealed_to)
    concealed, disclosures = sdjwt.conceal(dict(record), randbytes=os.urandom, decoys=2)
    payload = {**claims, "record": concealed, "_sd_alg": sdjwt.SD_ALG}
    issuer_jwt = jws.sign_compact({"typ": SD_JWT_TYP}, strictjson.dumps(payload), keys.signing_key)
    return sdjwt.serialize(issuer_jwt, disclosures), claims


class ReplayCaches:
    """One replay cache (own SQLite file) per recipient agency, as in deployment."""

    def __init__(self, directory: Path, stack: ExitStack) -> None:
        self._directory = directory
        self._stack = stack
        self._caches: dict[str, ReplayCache] = {}

    def __getitem__(self, agency: str) -> ReplayCache:
        if agency not in self._caches:
            store = self._stack.enter_context(open_store(self._directory / f"{agency}.db"))
            self._caches[agency] = ReplayCache(store)
        return self._caches[agency]


def open_as(
    net: TestNetwork,
    agency: str,
    envelope: bytes | str,
    caches: ReplayCaches,
    *,
    purpose: str = PURPOSE,
    acknowledged: Collection[str] = HANDLING.acknowledgements,
    vocabulary: Vocabulary | None = None,
    recorder: MemoryRecorder | None = None,
) -> OpenedEnvelope:
    """Open *envelope* as *agency* at :data:`NOW` with that agency's replay cache.

    It is opened for *purpose* (default: :data:`PURPOSE`, that of
    :func:`seal_default`) by :data:`ACTOR`, acknowledging :data:`HANDLING`'s
    conditions by default; the access is recorded in *recorder* (default: a
    fresh :class:`MemoryRecorder`).
    """
    return open_envelope(
        envelope,
        recipient=net.keysets[agency],
        registry=net.registry,
        replay=caches[agency],
        purpose=purpose,
        actor=ACTOR,
        recorder=MemoryRecorder() if recorder is None else recorder,
        vocabulary=vocabulary,
        acknowledged=acknowledged,
        now=NOW,
    )


def vocabulary_with(purpose: str) -> Vocabulary:
    """The shipped vocabulary, plus *purpose* (compatible with nothing) if it is new.

    For tests that seal with arbitrary purpose codes: a recipient refuses a
    purpose its vocabulary does not know.
    """
    base = load_default()
    if base.has_purpose(purpose):
        return base
    extra = Purpose(
        code=purpose,
        title="A test purpose",
        description="A purpose code drawn by a test.",
        instruments=("UNTOC",),
    )
    return merge(base, VocabularyFile(format="safeshare-vocabulary/v1", purposes=(extra,)))


@pytest.fixture(scope="session")
def testnet() -> TestNetwork:
    """The four-agency test network, registry issued at :data:`NOW`."""
    return build(NOW)


@pytest.fixture
def replay_caches(tmp_path: Path) -> Iterator[ReplayCaches]:
    """Fresh per-agency replay caches for one test; the stores are closed afterwards."""
    with ExitStack() as stack:
        yield ReplayCaches(tmp_path, stack)
