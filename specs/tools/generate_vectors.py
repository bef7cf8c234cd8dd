"""Write the envelope test vectors in ``specs/vectors/envelope/`` (one JSON file per case).

Usage: ``python specs/tools/generate_vectors.py [--check]``. With ``--check``
it writes nothing and exits 1, listing every file that differs, is missing or
should not be there. The format is described in ``specs/vectors/README.md``.

Every byte is reproducible: the keys come from ``safeshare._testnet`` with a
fixed seed, the clock is fixed (:data:`NOW`), and all randomness (salts,
decoys, ``jti``, CEK, IV, ephemeral keys) comes from a SHA-256 counter-mode
stream keyed by the vector's id, so adding a case never changes another.

Each case below is a small function registered with :func:`case`; its
description says what is wrong and which rule rejects it (sections of
``specs/safeshare-v1.md`` unless an RFC is named). Valid cases are built
with ``seal_with_randomness``; hostile ones by hand from the low-level pieces
(``jws``, ``sdjwt``, ``jwe`` and ``vectors_lib``), then mutated. Forwarded
envelopes (section 7) run the chain through the library (``open_envelope``,
``issue_grant``, ``forward_with_randomness``); their hostile cases then change
the last recipient's plaintext, re-sign the hop and encrypt it again.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import json
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:  # run as a script: make ``specs.tools`` importable
    sys.path.insert(0, str(_ROOT))

from safeshare import _testnet  # noqa: E402
from safeshare._internal import strictjson  # noqa: E402
from safeshare._internal.b64 import b64u_decode, b64u_encode  # noqa: E402
from safeshare._internal.clock import to_unix  # noqa: E402
from safeshare._jose import jwe, sdjwt  # noqa: E402
from safeshare._testnet import TestNetwork  # noqa: E402
from safeshare.audit.recorder import MemoryRecorder  # noqa: E402
from safeshare.envelope._forward import forward_with_randomness  # noqa: E402
from safeshare.envelope._open import OpenedEnvelope, open_envelope  # noqa: E402
from safeshare.envelope._padding import padme  # noqa: E402
from safeshare.envelope._profile import ENVELOPE_TYP, SD_JWT_TYP  # noqa: E402
from safeshare.envelope._seal import holder_binding, seal_with_randomness  # noqa: E402
from safeshare.keys import SECRET_KEY_ACCESS, AgencyKeySet, EncryptionKey, VerifyKey  # noqa: E402
from safeshare.purpose.conditions import Evaluation, HandlingConditions, Retention  # noqa: E402
from safeshare.purpose.consent import ConsentStore, issue_grant  # noqa: E402
from safeshare.registry import RegistryDocument, TrustRegistry  # noqa: E402
from safeshare.storage import ReplayCache, open_store  # noqa: E402
from specs.tools import vectors_lib as lib  # noqa: E402
from specs.tools._files import write_or_check  # noqa: E402
from specs.tools.vectors_lib import (  # noqa: E402
    NOW,
    NOW_TEXT,
    SEED,
    SKEW,
    XA,
    XB,
    XC,
    XD,
    DeterministicRandom,
    Draft,
)

VECTOR_DIR: Final = _ROOT / "specs" / "vectors" / "envelope"
VALID: Final = "valid"
POLICY_VIOLATION: Final = "policy_violation"
MALFORMED: Final = "malformed"
OVERSIZED: Final = "oversized"
DECRYPTION_FAILED: Final = "decryption_failed"
VERIFICATION_FAILED: Final = "verification_failed"

#: The record of most cases: four members, each selectively disclosable.
RECORD: Final[dict[str, Any]] = {
    "subject": {
        "family_name": "Example",
        "given_names": ["Alex", "Jordan"],
        "date_of_birth": "1990-01-01",
    },
    "offence": "computer-related fraud",
    "account": {"iban": "XA00 1234 5678 9012 3456", "bank": "Bank of Arcadia"},
    "reference": "XA-2026-000123",
}

#: The purpose every case seals with, and opens for unless the case says otherwise.
PURPOSE: Final = "criminal_investigation"
#: Who opens the envelopes (the ``actor`` of the ``open`` member).
ACTOR: Final = "conformance verifier"


@dataclass(frozen=True)
class Open:
    """The ``open`` member: what the verifier opens the envelope for, and who opens it."""

    purpose: str = PURPOSE
    actor: str = ACTOR
    acknowledged: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "actor": self.actor,
            "acknowledged": list(self.acknowledged),
        }


# -- the network and the context a case builds in ---------------------------------------


@functools.cache
def network() -> TestNetwork:
    """The standard test network: XA-NPOL, XB-PROS, XC-CUST, XD-FIU."""
    return _testnet.build(NOW, seed=SEED)


#: 29 extra agencies, for the recipient-count cases (33 agencies in all).
EXTRA_AGENCIES: Final = tuple(f"XE-AG{i:02d}" for i in range(1, 30))


@functools.cache
def big_network() -> TestNetwork:
    """The standard network plus :data:`EXTRA_AGENCIES` (same seed, same four key sets)."""
    return _testnet.build(NOW, agencies=(*_testnet.AGENCIES, *EXTRA_AGENCIES), seed=SEED)


@dataclass(frozen=True)
class Built:
    """What a case function returns (the file adds ids, keys, registry...)."""

    envelope: bytes
    recipient: str = XB
    registry: bytes | None = None
    previously_opened: tuple[bytes, ...] = ()
    skew_seconds: int = SKEW
    claims: dict[str, Any] | None = None
    open: Open = Open()


def as_bytes(envelope: Mapping[str, Any] | str | bytes) -> bytes:
    if isinstance(envelope, bytes):
        return envelope
    if isinstance(envelope, str):
        return envelope.encode("utf-8")
    return lib.dumps(envelope)


class Ctx:
    """Per-case helpers; ``rand`` is the case's own deterministic byte source."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.net = network()
        self.rand = DeterministicRandom(label)

    def random(self, name: str) -> DeterministicRandom:
        """A second, independent stream for this case."""
        return DeterministicRandom(f"{self.label}/{name}")

    def keys(self, agency: str) -> AgencyKeySet:
        return self.net.keysets[agency]

    def enc_key(self, agency: str) -> EncryptionKey:
        return self.keys(agency).decryption_key.public

    # -- envelopes ----------------------------------------------------------------

    def seal(
        self,
        record: Mapping[str, Any] = RECORD,
        *,
        to: Sequence[str] = (XB,),
        offset: timedelta = timedelta(0),
        ttl: timedelta = timedelta(days=7),
        handling: HandlingConditions | None = None,
        rand: DeterministicRandom | None = None,
        net: TestNetwork | None = None,
        purpose: str = PURPOSE,
    ) -> bytes:
        """``seal_with_randomness`` from XA-NPOL at ``NOW + offset``."""
        net = net or self.net
        return seal_with_randomness(
            record,
            sender=net.keysets[XA],
            to=to,
            registry=net.registry,
            purpose=purpose,
            legal_basis="BUDAPEST-2AP.Art7",
            case_ref="XA-2026-000123",
            message_type="spontaneous_information",
            handling=handling,
            ttl=ttl,
            now=NOW + offset,
            randbytes=rand or self.rand,
        )

    def genuine(self) -> dict[str, Any]:
        """A valid XA-NPOL -> XB-PROS envelope as a JSON object, to mutate."""
        result: dict[str, Any] = lib.loads(self.seal())
        return result

    def draft(self, record: Mapping[str, Any] = RECORD, **kwargs: Any) -> Draft:
        """The claims ``seal`` would sign, for a case to change before signing."""
        return lib.build_draft(self.net, self.rand, record=record, **kwargs)

    def encrypt(self, draft: Draft, token: str | None = None) -> dict[str, Any]:
        """Encrypt a draft's token (or *token*) to the draft's recipients."""
        return lib.encrypt_draft(draft, self.rand, token)

    def encrypt_custom(self, plaintext: str | bytes, **kwargs: Any) -> dict[str, Any]:
        """``vectors_lib.encrypt`` to XB-PROS (protected header, ``enc``... as given)."""
        data = plaintext.encode("ascii") if isinstance(plaintext, str) else plaintext
        return lib.encrypt(data, [self.enc_key(XB)], self.rand, **kwargs)

    def registry(self, change: Callable[[RegistryDocument], RegistryDocument]) -> bytes:
        """The standard registry with *change* applied, signed by the test authority."""
        return self.net.resign(change(self.net.document)).signed

    def valid(self, envelope: bytes, record: Mapping[str, Any], **kwargs: Any) -> Built:
        """A valid case: the expected claims are the signed ones plus *record*."""
        recipient = kwargs.get("recipient", XB)
        token = lib.decrypt(lib.loads(envelope), self.keys(recipient)).decode("ascii")
        return Built(envelope, claims=lib.expected_claims(token, record), **kwargs)


# -- the case table -------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    expected: str  # "valid" or an error code
    description: str
    build: Callable[[Ctx], Built]

    @property
    def category(self) -> str:
        for prefix, category in (
            ("valid-policy-", "policy"),
            ("invalid-policy-", "policy"),
            ("valid-forward-", "forward"),
            ("invalid-forward-", "forward"),
            ("valid-", "valid"),
            ("invalid-jose-", "jose"),
            ("invalid-sd-jwt-", "sd-jwt"),
            ("invalid-protocol-", "protocol"),
        ):
            if self.id.startswith(prefix):
                return category
        raise ValueError(f"case id {self.id!r} has no known category prefix")


CASES: dict[str, Case] = {}


def add(case_id: str, expected: str, description: str, build: Callable[[Ctx], Built]) -> None:
    if case_id in CASES:
        raise ValueError(f"duplicate case id {case_id}")
    CASES[case_id] = Case(case_id, expected, " ".join(description.split()), build)


def case(
    case_id: str, expected: str, description: str
) -> Callable[[Callable[[Ctx], Built]], Callable[[Ctx], Built]]:
    """Register the decorated function as the builder of *case_id*."""

    def register(build: Callable[[Ctx], Built]) -> Callable[[Ctx], Built]:
        add(case_id, expected, description, build)
        return build

    return register


def mutated(change: Callable[[Ctx, dict[str, Any]], Any]) -> Callable[[Ctx], Built]:
    """A builder that takes a genuine envelope and applies *change* to its JSON object."""

    def build(ctx: Ctx) -> Built:
        env = ctx.genuine()
        change(ctx, env)
        return Built(as_bytes(env))

    return build


def entry(env: dict[str, Any], index: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = env["recipients"][index]
    return result


def header(env: dict[str, Any], index: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = entry(env, index)["header"]
    return result


# =====================================================================================
# Valid envelopes
# =====================================================================================


@case(
    "valid-single-recipient",
    VALID,
    """XA-NPOL seals the standard record to XB-PROS with seal(); every record member
    is disclosed. The baseline every hostile case departs from.""",
)
def _valid_single(ctx: Ctx) -> Built:
    return ctx.valid(ctx.seal(), RECORD)


def _two_recipients(ctx: Ctx) -> bytes:
    return ctx.seal(to=(XB, XC), rand=DeterministicRandom("shared/two-recipients"))


@case(
    "valid-two-recipients-opened-by-xb-pros",
    VALID,
    """One envelope sealed to XB-PROS and XC-CUST (two recipient entries), opened by
    XB-PROS with the first entry. Same bytes and same claims as the XC-CUST case.""",
)
def _valid_two_xb(ctx: Ctx) -> Built:
    return ctx.valid(_two_recipients(ctx), RECORD)


@case(
    "valid-two-recipients-opened-by-xc-cust",
    VALID,
    """The envelope of valid-two-recipients-opened-by-xb-pros, opened by XC-CUST with
    the second recipient entry: the claims are identical.""",
)
def _valid_two_xc(ctx: Ctx) -> Built:
    return ctx.valid(_two_recipients(ctx), RECORD, recipient=XC)


NESTED_UNICODE_RECORD: Final[dict[str, Any]] = {
    "person": {
        "name": "Zoë Ødegård-Łukasiewicz",
        "aliases": ["Зоя", "ゾーイ", "زوي", "Ζωή"],
        "address": {
            "street": "Rue de l'Église 3",
            "city": "Genève",
            "geo": {"lat": 46.2044, "lon": 6.1432},
        },
    },
    "note": 'seen with 🚗 (U+1F697) at 23:10; "quoted", back\\slash, tab\t, newline\n',
    "amounts": [1, 2.5, -3, 0, 9007199254740991, -9007199254740991],
    "flags": {"armed": False, "minor": None, "verified": True},
    "empty_things": {"list": [], "object": {}, "string": ""},
}


@case(
    "valid-nested-unicode-record",
    VALID,
    """Record values with nested objects and arrays, non-ASCII text in several
    scripts, an emoji outside the BMP, JSON escapes, floats, +/-(2**53 - 1), booleans,
    null and empty containers. The verifier must return them unchanged.""",
)
def _valid_unicode(ctx: Ctx) -> Built:
    return ctx.valid(ctx.seal(NESTED_UNICODE_RECORD), NESTED_UNICODE_RECORD)


@case(
    "valid-empty-record",
    VALID,
    """An empty record: record._sd holds only the two decoy digests and there are no
    disclosures. The verified record is {}.""",
)
def _valid_empty(ctx: Ctx) -> Built:
    return ctx.valid(ctx.seal({}), {})


@case(
    "valid-disclosure-withheld",
    VALID,
    """The sender signs all four members but leaves the disclosure of 'account' out of
    the SD-JWT: its digest is simply not matched (RFC 9901 section 7.1 step 3.3.1), so
    'account' is absent from the verified record.""",
)
def _valid_withheld(ctx: Ctx) -> Built:
    draft = ctx.draft()
    draft.disclosures = [d for d in draft.disclosures if _name_of(d) != "account"]
    env = as_bytes(ctx.encrypt(draft))
    return ctx.valid(env, {k: v for k, v in RECORD.items() if k != "account"})


@case(
    "valid-no-disclosures",
    VALID,
    """Every disclosure is withheld: the SD-JWT is '<JWT>~' and the verified record is
    empty although record._sd lists six digests.""",
)
def _valid_no_disclosures(ctx: Ctx) -> Built:
    draft = ctx.draft()
    draft.disclosures = []
    return ctx.valid(as_bytes(ctx.encrypt(draft)), {})


@case(
    "valid-plain-member-beside-sd",
    VALID,
    """The record has a plain (always disclosed) member 'reference' beside its _sd
    array, which section 5.3 allows ('plain members MAY appear beside it').""",
)
def _valid_plain_member(ctx: Ctx) -> Built:
    draft = ctx.draft(sd={"reference": False})
    assert draft.claims["record"]["reference"] == RECORD["reference"]
    return ctx.valid(as_bytes(ctx.encrypt(draft)), RECORD)


@case(
    "valid-recursive-disclosures",
    VALID,
    """Selective disclosure inside record values (section 5.3: 'and, recursively, in the
    record's values'): 'subject' is disclosable and carries its own _sd, its
    'given_names' elements are array-element disclosures ('...'), and 'account' is a
    plain object with a concealed 'iban' (RFC 9901 sections 4.2.4.2, 4.2.6).""",
)
def _valid_recursive(ctx: Ctx) -> Built:
    spec: sdjwt.SdSpec = {
        "subject": sdjwt.Sd({"given_names": sdjwt.ArraySpec(True)}),
        "account": {"iban": True, "bank": False},
    }
    draft = ctx.draft(sd=spec)
    return ctx.valid(as_bytes(ctx.encrypt(draft)), RECORD)


HANDLING_ACKNOWLEDGEMENT: Final = "Do not contact the subject without prior consultation."


@case(
    "valid-handling-conditions",
    VALID,
    """Handling conditions other than the defaults in every member (section 5.4):
    RED, H2, evaluation B2, onward transfer forbidden, evidential use allowed,
    confidential request, retention 180/90 days, two special categories and an
    acknowledgement, which the verifier acknowledges (member open). (Special
    categories rule out onward transfer to listed agencies, section 9.5; allowed_to_listed is in the condition vectors.)""",
)
def _valid_handling(ctx: Ctx) -> Built:
    handling = HandlingConditions(
        tlp="RED",
        handling_code="H2",
        evaluation=Evaluation(source="B", information=2),
        onward_transfer="forbidden",
        evidential_use="allowed",
        confidential_request=True,
        retention=Retention(max_days=180, review_days=90),
        special_categories=("criminal_convictions", "minor"),
        no_solely_automated_decision=True,
        acknowledgements=(HANDLING_ACKNOWLEDGEMENT,),
    )
    return ctx.valid(
        ctx.seal(handling=handling), RECORD, open=Open(acknowledged=(HANDLING_ACKNOWLEDGEMENT,))
    )


@case(
    "valid-time-now-is-exp-plus-skew-minus-1s",
    VALID,
    """now = exp + skew - 1 s: the last second in which section 6.2 step 9
    ('now < exp + skew') accepts the envelope.""",
)
def _valid_exp_bound(ctx: Ctx) -> Built:
    ttl = timedelta(days=7)
    iat = timedelta(seconds=-(SKEW - 1)) - ttl
    return ctx.valid(ctx.seal(offset=iat, ttl=ttl), RECORD)


@case(
    "valid-time-iat-is-now-plus-skew",
    VALID,
    """iat = now + skew: the latest issue time section 6.2 step 9 ('iat <= now +
    skew') accepts.""",
)
def _valid_iat_bound(ctx: Ctx) -> Built:
    return ctx.valid(ctx.seal(offset=timedelta(seconds=SKEW)), RECORD)


@case(
    "valid-time-skew-one-hour",
    VALID,
    """The verifier uses the largest allowed skew (1 hour, section 6.2) and the
    envelope is issued exactly one hour in the future.""",
)
def _valid_skew_hour(ctx: Ctx) -> Built:
    built = ctx.valid(ctx.seal(offset=timedelta(hours=1)), RECORD)
    return replace(built, skew_seconds=3600)


@case(
    "valid-lifetime-90-days",
    VALID,
    """exp = iat + 90 days exactly, the longest lifetime section 5.3 allows
    ('iat < exp <= iat + 90 days').""",
)
def _valid_90_days(ctx: Ctx) -> Built:
    return ctx.valid(ctx.seal(ttl=timedelta(days=90)), RECORD)


@case(
    "valid-key-valid-since-iat",
    VALID,
    """The registry makes XA-NPOL's signing key valid from exactly iat (not_before =
    iat); windows are half-open and include not_before (section 4.3).""",
)
def _valid_key_since_iat(ctx: Ctx) -> Built:
    kid = ctx.keys(XA).signing_key.kid
    registry = ctx.registry(lambda doc: lib.with_key_fields(doc, XA, kid, not_before=NOW))
    return ctx.valid(ctx.seal(), RECORD, registry=registry)


@case(
    "valid-key-revoked-after-iat",
    VALID,
    """XA-NPOL's signing key was revoked one hour before now but one hour after the
    envelope's iat: the key is resolved at iat (section 6.2 step 7), where it is not
    revoked yet (section 4.3: 'revoked_at <= t').""",
)
def _valid_revoked_later(ctx: Ctx) -> Built:
    kid = ctx.keys(XA).signing_key.kid
    registry = ctx.registry(
        lambda doc: doc.with_revoked_key(
            XA, kid, at=NOW - timedelta(hours=1), reason="routine rotation"
        )
    )
    return ctx.valid(ctx.seal(offset=timedelta(hours=-2)), RECORD, registry=registry)


@case(
    "valid-sender-suspended-after-iat",
    VALID,
    """XA-NPOL was suspended one hour before now but after the envelope's iat (two
    hours ago). Section 6.2 step 7 rejects an agency 'suspended at iat' only
    (section 4.3: 'one of the agency's suspension periods contains t'), so the envelope is accepted.""",
)
def _valid_suspended_later(ctx: Ctx) -> Built:
    registry = ctx.registry(
        lambda doc: doc.with_suspension(XA, at=NOW - timedelta(hours=1), reason="audit")
    )
    return ctx.valid(ctx.seal(offset=timedelta(hours=-2)), RECORD, registry=registry)


THIRTY_TWO: Final = (XB, XC, XD, *EXTRA_AGENCIES)


@case(
    "valid-32-recipients",
    VALID,
    """An envelope sealed to 32 agencies (the cap of section 6.2 step 2 and of 'aud'),
    in a registry of 33 agencies; XB-PROS opens it with the first entry.""",
)
def _valid_32(ctx: Ctx) -> Built:
    big = big_network()
    envelope = ctx.seal(to=THIRTY_TWO, net=big)
    return ctx.valid(envelope, RECORD, registry=big.signed)


RECORD_256: Final = {f"field_{i:03d}": i for i in range(256)}


@case(
    "valid-256-disclosures",
    VALID,
    """A record of 256 members: 256 disclosures, the cap of section 6.2 step 5.""",
)
def _valid_256(ctx: Ctx) -> Built:
    return ctx.valid(ctx.seal(RECORD_256), RECORD_256)


def _name_of(disclosure: str) -> Any:
    return lib.loads(b64u_decode(disclosure))[1]


# =====================================================================================
# JOSE: algorithms in the per-recipient header, the protected header, the inner JWS
# =====================================================================================


def _set_alg(ctx: Ctx, env: dict[str, Any], *, alg: str) -> None:
    header(env)["alg"] = alg


for _alg, _suffix in (
    ("none", "none"),
    ("None", "none-capitalized"),
    ("NONE", "none-uppercase"),
    ("nOnE", "none-mixed-case"),
):
    add(
        f"invalid-jose-recipient-alg-{_suffix}",
        MALFORMED,
        f"""The per-recipient header says alg {_alg!r} instead of ECDH-ES+A256KW;
        section 6.2 step 2 rejects any other alg, 'none' in any letter case included
        (RFC 8725 section 3.1).""",
        mutated(functools.partial(_set_alg, alg=_alg)),
    )


@case(
    "invalid-jose-recipient-alg-rsa-oaep",
    MALFORMED,
    """The per-recipient header says alg RSA-OAEP: off the profile's single algorithm
    (section 5.2, section 6.2 step 2).""",
)
def _alg_rsa(ctx: Ctx) -> Built:
    env = ctx.genuine()
    kid = header(env)["kid"]
    entry(env)["header"] = {"alg": "RSA-OAEP", "kid": kid}
    return Built(as_bytes(env))


@case(
    "invalid-jose-recipient-alg-pbes2",
    MALFORMED,
    """The per-recipient header says alg PBES2-HS256+A128KW with p2s and a p2c of
    2**31 - 1 iterations (a CPU-exhaustion attempt, RFC 8725 section 3.x): off-list
    alg and members, section 6.2 step 2; nothing may be derived.""",
)
def _alg_pbes2(ctx: Ctx) -> Built:
    env = ctx.genuine()
    kid = header(env)["kid"]
    entry(env)["header"] = {
        "alg": "PBES2-HS256+A128KW",
        "kid": kid,
        "p2s": b64u_encode(ctx.random("p2s")(16)),
        "p2c": 2**31 - 1,
    }
    return Built(as_bytes(env))


@case(
    "invalid-jose-recipient-alg-ecdh-es-direct",
    MALFORMED,
    """A correctly built JWE with alg ECDH-ES (direct key agreement: the CEK is the
    Concat KDF output, the encrypted key is empty). A lenient JOSE library decrypts
    it; the profile allows only ECDH-ES+A256KW (section 6.2 step 2).""",
)
def _alg_ecdh_direct(ctx: Ctx) -> Built:
    token = ctx.draft().token().encode("ascii")
    return Built(as_bytes(lib.encrypt_ecdh_es_direct(token, ctx.enc_key(XB), ctx.rand)))


@case(
    "invalid-jose-recipient-alg-a256kw-public-key-as-secret",
    MALFORMED,
    """Key confusion: alg A256KW with the CEK wrapped under XB-PROS's *public* X25519
    key bytes used as a symmetric key. Off-list alg (section 6.2 step 2; RFC 8725
    section 2.1).""",
)
def _alg_a256kw(ctx: Ctx) -> Built:
    xb = ctx.enc_key(XB)

    def wrap(cek: bytes) -> list[dict[str, Any]]:
        wrapped = aes_key_wrap(xb.raw, cek)
        return [{"header": {"alg": "A256KW", "kid": xb.kid}, "encrypted_key": b64u_encode(wrapped)}]

    return Built(as_bytes(ctx.encrypt_custom(ctx.draft().token(), wrap=wrap)))


def _enc_case(enc: str) -> Callable[[Ctx], Built]:
    def build(ctx: Ctx) -> Built:
        protected = {"enc": enc, "typ": ENVELOPE_TYP, "cty": SD_JWT_TYP}
        return Built(
            as_bytes(ctx.encrypt_custom(ctx.draft().token(), protected=protected, enc=enc))
        )

    return build


add(
    "invalid-jose-enc-a128gcm",
    MALFORMED,
    """The protected header says enc A128GCM and the content really is A128GCM with a
    128-bit CEK (so the wrapped key is 24 bytes). The profile allows only A256GCM
    (section 5.2, section 6.2 step 2).""",
    _enc_case("A128GCM"),
)
add(
    "invalid-jose-enc-a256cbc-hs512",
    MALFORMED,
    """The protected header says enc A256CBC-HS512 and the content really is
    AES-256-CBC + HMAC-SHA-512 (RFC 7518 section 5.2.5; 16-byte IV, 32-byte tag,
    72-byte wrapped key). Off-list enc, section 6.2 step 2.""",
    _enc_case("A256CBC-HS512"),
)


def _inner(
    change: Callable[[Ctx, Draft], str | None],
) -> Callable[[Ctx], Built]:
    """A builder that lets *change* edit a standard draft; it may return the issuer JWT."""

    def build(ctx: Ctx) -> Built:
        draft = ctx.draft()
        issuer_jwt = change(ctx, draft)
        token = None
        if issuer_jwt is not None:
            token = lib.join_sd_jwt(issuer_jwt, draft.disclosures)
        return Built(as_bytes(ctx.encrypt(draft, token)))

    return build


def _std_header(kid: str, **extra: Any) -> dict[str, Any]:
    return {"alg": "Ed25519", "kid": kid, "typ": SD_JWT_TYP, **extra}


@case(
    "invalid-jose-inner-alg-none-empty-signature",
    MALFORMED,
    """The issuer-signed JWT is an unsecured JWT: header alg 'none' and an empty
    signature. Rejected by section 6.2 step 5 (the JWT is not a JWS compact
    serialization with a signature) or step 7 (alg must be Ed25519).""",
)
@_inner
def _inner_alg_none(ctx: Ctx, draft: Draft) -> str:
    head = {"alg": "none", "kid": draft.key.kid, "typ": SD_JWT_TYP}
    return f"{lib.b64json(head)}.{lib.b64json(draft.claims)}."


@case(
    "invalid-jose-inner-alg-none-uppercase-signed",
    MALFORMED,
    """The issuer-signed JWT has alg 'NONE' but carries a valid Ed25519 signature by
    the sender's key: the only fault is the alg value (section 6.2 step 7: the JWS
    header MUST be exactly alg Ed25519; RFC 8725 section 3.1).""",
)
@_inner
def _inner_alg_none_upper(ctx: Ctx, draft: Draft) -> None:
    draft.header["alg"] = "NONE"


@case(
    "invalid-jose-inner-alg-eddsa",
    MALFORMED,
    """The issuer-signed JWT says alg 'EdDSA' (the polymorphic name deprecated by RFC
    9864) with a valid Ed25519 signature; section 6.2 step 7 requires exactly
    'Ed25519'.""",
)
@_inner
def _inner_alg_eddsa(ctx: Ctx, draft: Draft) -> None:
    draft.header["alg"] = "EdDSA"


def _public_key_forms(ctx: Ctx) -> dict[str, bytes]:
    raw = ctx.keys(XA).signing_key.public.raw
    public = ed25519.Ed25519PublicKey.from_public_bytes(raw)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64u_encode(raw)}
    return {
        "raw": raw,
        "pem": public.public_bytes(serialization.Encoding.PEM, spki),
        "der": public.public_bytes(serialization.Encoding.DER, spki),
        "jwk": lib.dumps(jwk),
    }


for _form, _what in (
    ("raw", "the raw 32 public key bytes"),
    ("pem", "the SubjectPublicKeyInfo PEM text"),
    ("der", "the SubjectPublicKeyInfo DER bytes"),
    ("jwk", "the public JWK JSON text as the registry lists it"),
):

    def _hs256(ctx: Ctx, form: str = _form) -> Built:
        draft = ctx.draft()
        head = _std_header(draft.key.kid)
        head["alg"] = "HS256"
        issuer_jwt = lib.hmac_compact(head, draft.claims, _public_key_forms(ctx)[form])
        return Built(as_bytes(ctx.encrypt(draft, lib.join_sd_jwt(issuer_jwt, draft.disclosures))))

    add(
        f"invalid-jose-inner-alg-hs256-{_form}-public-key",
        MALFORMED,
        f"""Algorithm confusion: the issuer-signed JWT says alg HS256 and is HMAC'd
        with the sender's public signing key ({_what}) as the secret, under the
        sender's kid. The registry binds the key to Ed25519 and section 6.2 step 7
        requires alg Ed25519 (RFC 8725 section 2.1).""",
        _hs256,
    )


@case(
    "invalid-jose-inner-empty-signature",
    MALFORMED,
    """The issuer-signed JWT has the correct Ed25519 header but an empty signature
    part ('header.payload.'): not a signed JWS (section 6.2 steps 5 and 8).""",
)
@_inner
def _inner_empty_sig(ctx: Ctx, draft: Draft) -> str:
    return draft.issuer_jwt().rsplit(".", 1)[0] + "."


@case(
    "invalid-jose-inner-typ-jwt",
    MALFORMED,
    """The issuer-signed JWT says typ 'JWT' instead of safeshare+sd-jwt (explicit
    typing, RFC 8725 section 3.11; section 6.2 step 7).""",
)
@_inner
def _inner_typ(ctx: Ctx, draft: Draft) -> None:
    draft.header["typ"] = "JWT"


@case(
    "invalid-jose-inner-kid-other-agency",
    "unknown_key",
    """iss is XA-NPOL but the token is signed by XC-CUST's registered signing key
    under XC-CUST's kid: the key is looked up as (iss, kid, sig), and XA-NPOL has no
    such key (section 6.2 step 7; section 4.3: 'also when another agency
    does').""",
)
@_inner
def _inner_other_agency(ctx: Ctx, draft: Draft) -> None:
    draft.key = ctx.keys(XC).signing_key
    draft.header["kid"] = draft.key.kid


@case(
    "invalid-jose-inner-kid-sender-encryption-key",
    "wrong_key_use",
    """The issuer-signed JWT's kid names XA-NPOL's X25519 *encryption* key (alg still
    Ed25519, signed with the real signing key): the registry lists that kid with use
    'enc' (section 6.2 step 7, section 4.3).""",
)
@_inner
def _inner_enc_kid(ctx: Ctx, draft: Draft) -> None:
    draft.header["kid"] = ctx.keys(XA).decryption_key.kid


@case(
    "invalid-jose-inner-unregistered-key",
    VERIFICATION_FAILED,
    """The token is signed by a key no registry lists, under the kid of XA-NPOL's
    real signing key: the registry key does not verify the signature (section 6.2
    step 8; section 15.1 'sign/encrypt confusion').""",
)
@_inner
def _inner_unregistered(ctx: Ctx, draft: Draft) -> str:
    attacker = lib.derived_signing_key(f"{ctx.label}/attacker")
    return lib.jws_compact(draft.header, draft.claims, attacker)


@case(
    "invalid-jose-inner-payload-modified-after-signing",
    VERIFICATION_FAILED,
    """The sender signed purpose 'criminal_investigation'; the payload was then
    changed to 'intelligence_analysis' with the old signature kept (section 6.2 step
    8).""",
)
@_inner
def _inner_modified(ctx: Ctx, draft: Draft) -> str:
    head, _, signature = draft.issuer_jwt().split(".")
    draft.claims["purpose"] = "intelligence_analysis"
    return f"{head}.{lib.b64json(draft.claims)}.{signature}"


@case(
    "invalid-jose-unsigned-bare-json-claims",
    MALFORMED,
    """Sign/encrypt confusion: the JWE plaintext is the claims object as bare JSON
    (record in clear), no signature at all. It is not an SD-JWT (section 6.2 step
    5); decryption is never authentication (section 15.1).""",
)
def _unsigned_json(ctx: Ctx) -> Built:
    draft = ctx.draft()
    draft.claims["record"] = dict(RECORD)
    return Built(as_bytes(ctx.encrypt(draft, lib.dumps(draft.claims).decode("ascii"))))


@case(
    "invalid-jose-unsigned-jwt-alg-none",
    MALFORMED,
    """Sign/encrypt confusion: the JWE plaintext is an unsecured JWT {"alg":"none"}
    with the claims, followed by the disclosures (section 6.2 steps 5 and 7).""",
)
@_inner
def _unsigned_none(ctx: Ctx, draft: Draft) -> str:
    return f"{lib.b64json({'alg': 'none'})}.{lib.b64json(draft.claims)}."


# =====================================================================================
# JOSE: zip, crit, embedded keys
# =====================================================================================


@case(
    "invalid-jose-zip-protected",
    MALFORMED,
    """The protected header has zip DEF and the plaintext really is raw DEFLATE
    (RFC 7516 section 4.1.3). Compression is forbidden (section 6.2 step 2;
    decompression bombs, section 15.1).""",
)
def _zip_protected(ctx: Ctx) -> Built:
    protected = {**lib.PROTECTED, "zip": "DEF"}
    compressed = lib.stored_deflate(ctx.draft().token().encode("ascii"))
    return Built(as_bytes(ctx.encrypt_custom(compressed, protected=protected)))


add(
    "invalid-jose-zip-recipient-header",
    MALFORMED,
    """The per-recipient header carries zip DEF (the plaintext is not compressed):
    zip is rejected in any header (section 6.2 step 2).""",
    mutated(lambda ctx, env: header(env).update(zip="DEF")),
)


def _protected_case(extra: Mapping[str, Any]) -> Callable[[Ctx], Built]:
    """Envelope whose protected header has *extra* members, correctly encrypted
    (the AAD is the modified header)."""

    def build(ctx: Ctx) -> Built:
        protected = {**lib.PROTECTED, **extra}
        return Built(as_bytes(ctx.encrypt_custom(ctx.draft().token(), protected=protected)))

    return build


add(
    "invalid-jose-crit-unknown-name",
    MALFORMED,
    """The protected header has crit ["x-safeshare-ttl"] and that member: the
    profile defines no extension, so crit is rejected (section 6.2 step 2; RFC 7516
    section 4.1.13 / RFC 7515 section 4.1.11).""",
    _protected_case({"crit": ["x-safeshare-ttl"], "x-safeshare-ttl": 60}),
)
add(
    "invalid-jose-crit-empty-list",
    MALFORMED,
    """The protected header has crit [] (RFC 7515 section 4.1.11 forbids the empty
    list); crit in any form is rejected (section 6.2 step 2).""",
    _protected_case({"crit": []}),
)
add(
    "invalid-jose-crit-standard-name",
    MALFORMED,
    """The protected header has crit ["enc"], naming a header parameter defined by
    the JOSE specifications, which RFC 7515 section 4.1.11 forbids; crit is rejected
    (section 6.2 step 2).""",
    _protected_case({"crit": ["enc"]}),
)
add(
    "invalid-jose-crit-recipient-header",
    MALFORMED,
    """crit in the per-recipient *unprotected* header (RFC 7515 section 4.1.11: crit
    MUST be integrity protected); section 6.2 step 2 rejects crit in any header.""",
    mutated(
        lambda ctx, env: header(env).update(
            {"crit": ["x-safeshare-route"], "x-safeshare-route": "XC-CUST"}
        )
    ),
)
add(
    "invalid-jose-crit-in-shared-unprotected-header",
    MALFORMED,
    """A JWE shared unprotected header ('unprotected') holding crit: the member
    'unprotected' is not allowed (section 6.2 step 2: exactly protected, recipients,
    iv, ciphertext, tag) and neither is crit.""",
    mutated(
        lambda ctx, env: env.update(
            {"unprotected": {"crit": ["x-safeshare-route"], "x-safeshare-route": "XC"}}
        )
    ),
)


@case(
    "invalid-jose-inner-crit",
    MALFORMED,
    """The issuer-signed JWT header has crit ["x-safeshare-ext"] and that member,
    correctly signed: section 6.2 step 7 requires exactly alg, kid, typ, and crit is
    rejected in any header (step 2).""",
)
@_inner
def _inner_crit(ctx: Ctx, draft: Draft) -> None:
    draft.header.update({"crit": ["x-safeshare-ext"], "x-safeshare-ext": True})


def _attacker_jwk(ctx: Ctx, crv: str) -> dict[str, str]:
    public: VerifyKey | EncryptionKey
    if crv == "Ed25519":
        public = lib.derived_signing_key(f"{ctx.label}/attacker").public
    else:
        public = lib.derived_decryption_key(f"{ctx.label}/attacker").public
    return {k: v for k, v in public.to_jwk().items() if k in ("kty", "crv", "x")}


def _embedded(ctx: Ctx, member: str, crv: str) -> Any:
    if member == "jwk":
        return _attacker_jwk(ctx, crv)
    if member == "jku":
        return "https://attacker.example/.well-known/jwks.json"
    if member == "x5u":
        return "https://attacker.example/cert.pem"
    if member == "x5c":
        der = lib.derived_signing_key(f"{ctx.label}/attacker").public.raw
        return [
            base64.b64encode(b"\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00" + der).decode()
        ]
    if member == "x5t#S256":
        return b64u_encode(hashlib.sha256(b"attacker certificate").digest())
    raise ValueError(member)


def _embed_in_recipient_header(ctx: Ctx, env: dict[str, Any], *, member: str) -> None:
    header(env)[member] = _embedded(ctx, member, "X25519")


for _member in ("jwk", "jku", "x5u", "x5c"):

    def _embedded_protected(ctx: Ctx, member: str = _member) -> Built:
        return _protected_case({member: _embedded(ctx, member, "X25519")})(ctx)

    add(
        f"invalid-jose-protected-{_member}",
        MALFORMED,
        f"""The JWE protected header carries {_member!r} (an attacker's key or where to
        fetch one). Keys come only from the registry; embedded or referenced keys are
        rejected, never used or fetched (section 6.2 step 2; RFC 8725 section 3.10).""",
        _embedded_protected,
    )
    add(
        f"invalid-jose-recipient-{_member}",
        MALFORMED,
        f"""The per-recipient header carries {_member!r} beside alg, kid and epk:
        embedded or referenced keys are rejected in any header (section 6.2 step 2).""",
        mutated(functools.partial(_embed_in_recipient_header, member=_member)),
    )

    def _embedded_inner(ctx: Ctx, member: str = _member) -> Built:
        draft = ctx.draft()
        if member == "jwk":  # the classic: sign with your own key and embed it
            attacker = lib.derived_signing_key(f"{ctx.label}/attacker")
            draft.key = attacker
            draft.header = _std_header(attacker.kid, jwk=_attacker_jwk(ctx, "Ed25519"))
        else:
            draft.header[member] = _embedded(ctx, member, "Ed25519")
        return Built(as_bytes(ctx.encrypt(draft)))

    add(
        f"invalid-jose-inner-{_member}",
        MALFORMED,
        f"""The issuer-signed JWT header carries {_member!r}"""
        + (
            """: the token is signed by an attacker's key, embedded as jwk, with the
            attacker key's thumbprint as kid (CVE-2018-0114 style)"""
            if _member == "jwk"
            else ", otherwise correctly signed by the sender"
        )
        + """. Section 6.2 step 7: the JWS header MUST be exactly alg, kid, typ; keys
        come only from the registry.""",
        _embedded_inner,
    )

add(
    "invalid-jose-recipient-x5t-s256",
    MALFORMED,
    """The per-recipient header carries x5t#S256 (a certificate thumbprint): listed
    among the forbidden members of section 6.2 step 2.""",
    mutated(lambda ctx, env: header(env).update({"x5t#S256": _embedded(ctx, "x5t#S256", "")})),
)


# =====================================================================================
# JOSE: the ephemeral key
# =====================================================================================

_P: Final = 2**255 - 19
_ORDER_8_POINT: Final = bytes.fromhex(
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"
)


def _set_epk(ctx: Ctx, env: dict[str, Any], *, raw: bytes) -> None:
    header(env)["epk"]["x"] = b64u_encode(raw)


for _suffix, _raw, _what in (
    ("zero", bytes(32), "u = 0 (all-zero bytes)"),
    ("one", (1).to_bytes(32, "little"), "u = 1"),
    ("order-8", _ORDER_8_POINT, "a point of order 8"),
):
    add(
        f"invalid-jose-epk-low-order-{_suffix}",
        DECRYPTION_FAILED,
        f"""The epk is the low-order X25519 point {_what}: the shared secret is all
        zero and MUST be rejected (section 6.2 step 4; RFC 7748 section 6.1). The
        encoding itself is canonical, so this is a decryption failure.""",
        mutated(functools.partial(_set_epk, raw=_raw)),
    )

add(
    "invalid-jose-epk-non-canonical-p",
    MALFORMED,
    """The epk x is the little-endian encoding of p = 2**255 - 19 (which reduces to
    0): not canonical ('little-endian value below 2**255 - 19', section 6.2 step 2),
    rejected before any key agreement.""",
    mutated(lambda ctx, env: header(env)["epk"].update(x=b64u_encode(_P.to_bytes(32, "little")))),
)


def _top_bit(ctx: Ctx, env: dict[str, Any]) -> None:
    epk = header(env)["epk"]
    raw = bytearray(b64u_decode(epk["x"]))
    raw[31] |= 0x80
    epk["x"] = b64u_encode(bytes(raw))


add(
    "invalid-jose-epk-non-canonical-top-bit",
    MALFORMED,
    """The genuine epk with its most significant bit set. RFC 7748 decoders mask that
    bit, so a lenient verifier computes the same shared secret and decrypts; the
    profile requires the canonical encoding (value below 2**255 - 19, section 6.2
    step 2; section 15.1).""",
    mutated(_top_bit),
)


# =====================================================================================
# JOSE: kid
# =====================================================================================

_KID_ATTACKS: Final = (
    ("path-traversal", "path traversal", lambda kid: "../../../../../../etc/passwd"),
    (
        "sql-metacharacters",
        "SQL metacharacters",
        lambda kid: "' OR '1'='1'; DROP TABLE safeshare_replay; --",
    ),
    ("nul", "a NUL character after the real kid", lambda kid: kid + "\x00../../x"),
)


def _change_kid(ctx: Ctx, env: dict[str, Any], *, make: Callable[[str], str]) -> None:
    header(env)["kid"] = make(header(env)["kid"])


for _suffix, _what, _make in _KID_ATTACKS:
    add(
        f"invalid-jose-recipient-kid-{_suffix}",
        MALFORMED,
        f"""The per-recipient kid contains {_what}: a kid is exactly 43 base64url
        characters (section 6.2 step 2); it must never reach a file system or
        database lookup.""",
        mutated(functools.partial(_change_kid, make=_make)),
    )

    def _inner_kid(ctx: Ctx, make: Callable[[str], str] = _make) -> Built:
        draft = ctx.draft()
        draft.header["kid"] = make(draft.key.kid)
        return Built(as_bytes(ctx.encrypt(draft)))

    add(
        f"invalid-jose-inner-kid-{_suffix}",
        MALFORMED,
        f"""The issuer-signed JWT's kid contains {_what} (correctly signed by the
        sender): the kid is an RFC 7638 thumbprint (sections 5.1 and 6.1), so the header
        shape violates the profile (section 6.2 step 7, section 6.3 'header shape').""",
        _inner_kid,
    )

_TEN_KB: Final = 10 * 1024

add(
    "invalid-jose-recipient-kid-10kb",
    OVERSIZED,
    """The per-recipient kid is the real kid followed by 'A's, 10 KiB in all, so the
    header exceeds the 4 KiB header cap (section 15.1) - a size cap is exceeded
    (section 6.3 'oversized'). The kid is also not 43 characters; see the README on
    this choice.""",
    mutated(lambda ctx, env: header(env).update(kid=header(env)["kid"].ljust(_TEN_KB, "A"))),
)


@case(
    "invalid-jose-inner-kid-10kb",
    OVERSIZED,
    """The issuer-signed JWT's kid is the real kid followed by 'A's, 10 KiB in all
    (correctly signed): the protected header exceeds the 4 KiB header cap (section
    15.1), so a size cap is exceeded (section 6.3 'oversized').""",
)
@_inner
def _inner_kid_10kb(ctx: Ctx, draft: Draft) -> None:
    draft.header["kid"] = draft.key.kid.ljust(_TEN_KB, "A")


add(
    "invalid-jose-recipient-kid-unknown",
    DECRYPTION_FAILED,
    """The only recipient entry names a well-formed kid that is not one of XB-PROS's
    keys (an envelope not for us): section 6.2 step 3, 'if none, reject
    (decryption_failed)'.""",
    mutated(
        lambda ctx, env: header(env).update(
            kid=lib.derived_decryption_key(f"{ctx.label}/other").kid
        )
    ),
)
add(
    "invalid-jose-recipient-kid-duplicate",
    MALFORMED,
    """Two recipient entries with the same kid (XB-PROS's): 'No kid may repeat'
    (section 6.2 step 2).""",
    mutated(lambda ctx, env: env["recipients"].append(json.loads(json.dumps(entry(env))))),
)


# =====================================================================================
# JOSE: strict JSON (duplicates, numbers, Unicode, bytes)
# =====================================================================================


def _text_case(change: Callable[[Ctx, bytes], bytes]) -> Callable[[Ctx], Built]:
    """A builder that edits the genuine envelope's bytes."""

    def build(ctx: Ctx) -> Built:
        return Built(change(ctx, ctx.seal()))

    return build


def _replace_once(text: bytes, old: bytes, new: bytes) -> bytes:
    if text.count(old) != 1:
        raise ValueError(f"{old!r} occurs {text.count(old)} times")
    return text.replace(old, new)


add(
    "invalid-jose-duplicate-member-top-level",
    MALFORMED,
    """The JWE object has 'tag' twice: first a bogus all-zero tag, then the real one
    (a parser that keeps the last would accept). Duplicate member names are rejected
    at any depth (section 6.2 step 2; RFC 7516 section 7.2.1, RFC 8259 section 4).""",
    _text_case(lambda ctx, text: b'{"tag":"' + b"A" * 22 + b'",' + text[1:]),
)


@case(
    "invalid-jose-duplicate-member-protected-header",
    MALFORMED,
    """The protected header is {"enc":"A128GCM","enc":"A256GCM",...}, and the
    content is encrypted with it as AAD: a last-wins parser sees a profile header.
    Duplicates are rejected (section 6.2 step 2).""",
)
def _dup_protected(ctx: Ctx) -> Built:
    protected = (
        b'{"enc":"A128GCM","enc":"A256GCM","typ":"'
        + ENVELOPE_TYP.encode()
        + b'","cty":"'
        + SD_JWT_TYP.encode()
        + b'"}'
    )
    return Built(as_bytes(ctx.encrypt_custom(ctx.draft().token(), protected=protected)))


def _dup_recipient_kid(ctx: Ctx, text: bytes) -> bytes:
    kid = lib.loads(text)["recipients"][0]["header"]["kid"].encode()
    other = ctx.keys(XC).decryption_key.kid.encode()
    return _replace_once(
        text, b'"kid":"' + kid + b'"', b'"kid":"' + other + b'","kid":"' + kid + b'"'
    )


add(
    "invalid-jose-duplicate-member-recipient-header",
    MALFORMED,
    """The per-recipient header has kid twice (XC-CUST's, then XB-PROS's): duplicate
    member names are rejected (section 6.2 step 2).""",
    _text_case(_dup_recipient_kid),
)


@case(
    "invalid-jose-duplicate-member-inner-header",
    MALFORMED,
    """The issuer-signed JWT header is {"alg":"none","alg":"Ed25519",...}, correctly
    signed: duplicate member names are rejected in every JSON the verifier parses
    (section 6.2 steps 2 and 7; RFC 7515 section 5.2).""",
)
@_inner
def _dup_inner_header(ctx: Ctx, draft: Draft) -> str:
    head = (
        b'{"alg":"none","alg":"Ed25519","kid":"'
        + draft.key.kid.encode()
        + b'","typ":"'
        + SD_JWT_TYP.encode()
        + b'"}'
    )
    return lib.jws_compact(head, draft.claims, draft.key)


@case(
    "invalid-jose-duplicate-member-inner-payload",
    MALFORMED,
    """The signed claims have 'aud' twice (["XD-FIU"], then ["XB-PROS"]), correctly
    signed: the claims are parsed strictly (section 6.2 step 6), duplicates
    rejected.""",
)
@_inner
def _dup_inner_payload(ctx: Ctx, draft: Draft) -> str:
    payload = b'{"aud":["XD-FIU"],' + lib.dumps(draft.claims)[1:]
    return lib.jws_compact(draft.header, payload, draft.key)


def _inner_payload_text(old: Callable[[Draft], bytes], new: bytes) -> Callable[[Ctx], Built]:
    """Signed claims whose JSON text has *old* replaced by *new* (re-signed)."""

    @_inner
    def build(ctx: Ctx, draft: Draft) -> str:
        payload = _replace_once(lib.dumps(draft.claims), old(draft), new)
        return lib.jws_compact(draft.header, payload, draft.key)

    return build


add(
    "invalid-jose-json-nan-in-payload",
    MALFORMED,
    """The signed claims have "iat":NaN (correctly signed). NaN is not JSON (section
    6.2 step 2 rules apply to the claims, step 6).""",
    _inner_payload_text(lambda d: b'"iat":' + str(d.claims["iat"]).encode(), b'"iat":NaN'),
)
add(
    "invalid-jose-json-1e400-in-payload",
    MALFORMED,
    """The signed claims have "exp":1e400 (correctly signed): a number out of range
    (infinite as a double, so it would never expire); rejected (section 6.2 steps 2
    and 6).""",
    _inner_payload_text(lambda d: b'"exp":' + str(d.claims["exp"]).encode(), b'"exp":1e400'),
)
add(
    "invalid-jose-json-lone-surrogate-in-payload",
    MALFORMED,
    """The signed claims' case_ref contains the escaped lone surrogate \\udc00
    (correctly signed): not Unicode text, rejected (section 6.2 steps 2 and 6).""",
    _inner_payload_text(
        lambda d: b'"case_ref":"XA-2026-000123"', b'"case_ref":"XA-2026-000123\\udc00"'
    ),
)
add(
    "invalid-jose-json-nan-in-envelope",
    MALFORMED,
    """The envelope JSON has NaN as the value of epk.x: not JSON (section 6.2 step 2).""",
    _text_case(
        lambda ctx, text: _replace_once(
            text,
            b'"x":"' + lib.loads(text)["recipients"][0]["header"]["epk"]["x"].encode() + b'"',
            b'"x":NaN',
        )
    ),
)
add(
    "invalid-jose-json-lone-surrogate-in-envelope",
    MALFORMED,
    """The envelope JSON has the escaped lone surrogate \\ud800 after the recipient
    kid: not Unicode text (section 6.2 step 2).""",
    _text_case(
        lambda ctx, text: _replace_once(
            text,
            b'"kid":"' + lib.loads(text)["recipients"][0]["header"]["kid"].encode(),
            b'"kid":"' + lib.loads(text)["recipients"][0]["header"]["kid"].encode() + b"\\ud800",
        )
    ),
)
add(
    "invalid-jose-json-bom",
    MALFORMED,
    """The envelope starts with a UTF-8 byte order mark: 'UTF-8 JSON without BOM'
    (section 6.2 step 2; RFC 8259 section 8.1).""",
    _text_case(lambda ctx, text: b"\xef\xbb\xbf" + text),
)
add(
    "invalid-jose-json-non-utf8",
    MALFORMED,
    """The envelope contains the byte 0xFF (never valid in UTF-8) inside the
    ciphertext string (section 6.2 step 2). Given as envelope_base64url.""",
    _text_case(lambda ctx, text: _replace_once(text, b'"ciphertext":"', b'"ciphertext":"\xff')),
)


def _overlong(ctx: Ctx, text: bytes) -> bytes:
    first = lib.loads(text)["ciphertext"][0]
    code = ord(first)
    overlong = bytes([0xC0 | (code >> 6), 0x80 | (code & 0x3F)])
    return _replace_once(text, b'"ciphertext":"' + first.encode(), b'"ciphertext":"' + overlong)


add(
    "invalid-jose-json-overlong-utf8",
    MALFORMED,
    """The first character of the ciphertext is written as an overlong two-byte UTF-8
    sequence (0xC1 0x8x): a lenient decoder reads the same letter, a strict one
    rejects the bytes (section 6.2 step 2; RFC 3629 section 3).""",
    _text_case(_overlong),
)
add(
    "invalid-jose-json-utf8-encoded-surrogate",
    MALFORMED,
    """The envelope contains the bytes ED A0 80 (a UTF-16 surrogate encoded as UTF-8,
    as CESU-8/WTF-8 would) inside the ciphertext string: not UTF-8 (section 6.2 step
    2).""",
    _text_case(
        lambda ctx, text: _replace_once(text, b'"ciphertext":"', b'"ciphertext":"\xed\xa0\x80')
    ),
)
add(
    "invalid-jose-json-trailing-data",
    MALFORMED,
    """A second JSON value follows the envelope object: the envelope is one JSON
    object, nothing after it (section 6.2 step 2).""",
    _text_case(lambda ctx, text: text + b'{"protected":""}'),
)


@case(
    "invalid-jose-json-compact-serialization",
    MALFORMED,
    """A correctly built JWE in *compact* serialization (alg, kid and epk in the
    protected header). The profile is the general JSON serialization (section 5.1,
    section 6.2 step 2).""",
)
def _compact(ctx: Ctx) -> Built:
    xb = ctx.enc_key(XB)
    seed = ctx.random("ephemeral")(32)
    epk = lib.wrap_for(xb, seed, bytes(32))["header"]["epk"]
    protected = {"alg": "ECDH-ES+A256KW", "enc": "A256GCM", "kid": xb.kid, "epk": epk}
    protected.update(typ=ENVELOPE_TYP, cty=SD_JWT_TYP)
    env = ctx.encrypt_custom(
        ctx.draft().token(), protected=protected, wrap=lambda cek: [lib.wrap_for(xb, seed, cek)]
    )
    parts = [
        env["protected"],
        entry(env)["encrypted_key"],
        env["iv"],
        env["ciphertext"],
        env["tag"],
    ]
    return Built(".".join(parts).encode("ascii"))


# =====================================================================================
# JOSE: canonical base64url
# =====================================================================================


def _field(path: Sequence[str | int]) -> Callable[[dict[str, Any]], tuple[dict[str, Any], str]]:
    def locate(env: dict[str, Any]) -> tuple[dict[str, Any], str]:
        node: Any = env
        for step in path[:-1]:
            node = node[step]
        last = path[-1]
        assert isinstance(last, str)
        return node, last

    return locate


_TAG = _field(["tag"])
_CIPHERTEXT = _field(["ciphertext"])
_ENCRYPTED_KEY = _field(["recipients", 0, "encrypted_key"])
_EPK_X = _field(["recipients", 0, "header", "epk", "x"])


def _b64_case(
    locate: Callable[[dict[str, Any]], tuple[dict[str, Any], str]], change: Callable[[str], str]
) -> Callable[[Ctx], Built]:
    def edit(ctx: Ctx, env: dict[str, Any]) -> None:
        node, name = locate(env)
        node[name] = change(node[name])

    return mutated(edit)


add(
    "invalid-jose-b64-padding-tag",
    MALFORMED,
    """The tag is sent with '=' padding (same bytes). Canonical base64url has no
    padding (section 6.2 step 2; RFC 7515 section 2).""",
    _b64_case(_TAG, lib.padded),
)
add(
    "invalid-jose-b64-plus-slash-ciphertext",
    MALFORMED,
    """The ciphertext uses the standard alphabet ('+' and '/' for '-' and '_'); same
    bytes for a lenient decoder, rejected by section 6.2 step 2.""",
    _b64_case(_CIPHERTEXT, lib.non_url_alphabet),
)
add(
    "invalid-jose-b64-whitespace-ciphertext",
    MALFORMED,
    """The ciphertext has a line break (escaped \\n) after 40 characters, as MIME
    encoders write: whitespace is not base64url (section 6.2 step 2).""",
    _b64_case(_CIPHERTEXT, lambda v: v[:40] + "\n" + v[40:]),
)
add(
    "invalid-jose-b64-whitespace-encrypted-key",
    MALFORMED,
    """The encrypted_key ends with a space (section 6.2 step 2).""",
    _b64_case(_ENCRYPTED_KEY, lambda v: v + " "),
)
add(
    "invalid-jose-b64-trailing-bits-tag",
    MALFORMED,
    """The last character of the tag carries non-zero unused bits (same 16 bytes for
    a lenient decoder): 'zero trailing bits' (section 6.2 step 2; RFC 4648 section
    3.5).""",
    _b64_case(_TAG, lib.flip_trailing_bits),
)
add(
    "invalid-jose-b64-trailing-bits-encrypted-key",
    MALFORMED,
    """The encrypted_key's last character carries non-zero unused bits (section 6.2
    step 2).""",
    _b64_case(_ENCRYPTED_KEY, lib.flip_trailing_bits),
)
add(
    "invalid-jose-b64-trailing-bits-epk",
    MALFORMED,
    """The epk x's last character carries non-zero unused bits; the decoded point is
    the genuine one (section 6.2 step 2).""",
    _b64_case(_EPK_X, lib.flip_trailing_bits),
)


@case(
    "invalid-jose-b64-padding-protected",
    MALFORMED,
    """The protected header is sent with '=' padding, and the content is encrypted
    with that padded text as AAD, so only the encoding is wrong (section 6.2 step 2).""",
)
def _b64_protected(ctx: Ctx) -> Built:
    protected = lib.padded(lib.b64json(lib.PROTECTED))
    return Built(as_bytes(ctx.encrypt_custom(ctx.draft().token(), protected=protected)))


@case(
    "invalid-jose-b64-padding-inner-header",
    MALFORMED,
    """The issuer-signed JWT's header part has '=' padding and the signature is over
    that text: a compact JWS has canonical base64url parts (section 6.2 steps 5 and
    7; RFC 7515 section 7.1).""",
)
@_inner
def _b64_inner_header(ctx: Ctx, draft: Draft) -> str:
    return lib.sign_parts(
        lib.padded(lib.b64json(draft.header)), lib.b64json(draft.claims), draft.key
    )


@case(
    "invalid-jose-b64-trailing-bits-inner-signature",
    MALFORMED,
    """The Ed25519 signature's last character carries non-zero unused bits (the same
    64 bytes for a lenient decoder): not canonical base64url (section 6.2 steps 5
    and 8).""",
)
@_inner
def _b64_inner_sig(ctx: Ctx, draft: Draft) -> str:
    head, payload, signature = draft.issuer_jwt().split(".")
    return f"{head}.{payload}.{lib.flip_trailing_bits(signature)}"


# =====================================================================================
# JOSE: structure
# =====================================================================================


def _add_member(ctx: Ctx, env: dict[str, Any], *, member: str, value: Callable[[Ctx], Any]) -> None:
    env[member] = value(ctx)


_EXTRA_MEMBERS: Final[tuple[tuple[str, Callable[[Ctx], Any]], ...]] = (
    ("aad", lambda ctx: b64u_encode(b"XA-NPOL")),
    ("header", lambda ctx: {"kid": ctx.enc_key(XB).kid}),
)
for _member, _value in _EXTRA_MEMBERS:
    add(
        f"invalid-jose-member-{_member}",
        MALFORMED,
        f"""The JWE has a top-level {_member!r} member: the envelope has exactly
        protected, recipients, iv, ciphertext and tag (section 6.2 step 2).""",
        mutated(functools.partial(_add_member, member=_member, value=_value)),
    )

add(
    "invalid-jose-recipients-empty",
    MALFORMED,
    """'recipients' is an empty array: 1 to 32 entries (section 6.2 step 2).""",
    mutated(lambda ctx, env: env.update(recipients=[])),
)
add(
    "invalid-jose-recipient-apu",
    MALFORMED,
    """The per-recipient header has apu (PartyUInfo): the header is exactly alg, kid
    and epk, 'No apu/apv are used' (sections 6.1 step 3 and 6.2 step 2).""",
    mutated(lambda ctx, env: header(env).update(apu=b64u_encode(b"XA-NPOL"))),
)
add(
    "invalid-jose-protected-typ",
    MALFORMED,
    """The protected header says typ 'JWE' (correctly encrypted with it as AAD): typ
    MUST be safeshare-envelope+jwe (section 6.2 step 2).""",
    _protected_case({"typ": "JWE"}),
)
add(
    "invalid-jose-protected-cty",
    MALFORMED,
    """The protected header says cty 'JWT' (correctly encrypted): cty MUST be
    safeshare+sd-jwt (section 6.2 step 2).""",
    _protected_case({"cty": "JWT"}),
)


@case(
    "invalid-jose-iv-16-bytes",
    MALFORMED,
    """The content is correctly encrypted with a 16-byte GCM IV: the IV MUST be 12
    bytes (section 6.2 step 2; RFC 7518 section 5.3).""",
)
def _iv16(ctx: Ctx) -> Built:
    return Built(as_bytes(ctx.encrypt_custom(ctx.draft().token(), iv_bytes=16)))


add(
    "invalid-jose-tag-truncated",
    MALFORMED,
    """The GCM tag is truncated to its first 12 bytes (a forgery shortcut when
    verifiers accept short tags): the tag MUST be 16 bytes (section 6.2 step 2).""",
    _b64_case(_TAG, lambda v: b64u_encode(b64u_decode(v)[:12])),
)


@case(
    "invalid-jose-encrypted-key-plain-cek",
    MALFORMED,
    """The encrypted_key is the 32-byte CEK in clear (no key wrap): encrypted_key
    MUST be 40 bytes, the AES key wrap of a 256-bit key (section 6.2 step 2).""",
)
def _plain_cek(ctx: Ctx) -> Built:
    xb = ctx.enc_key(XB)
    seed = ctx.random("ephemeral")(32)

    def wrap(cek: bytes) -> list[dict[str, Any]]:
        item = lib.wrap_for(xb, seed, cek)
        item["encrypted_key"] = b64u_encode(cek)
        return [item]

    return Built(as_bytes(ctx.encrypt_custom(ctx.draft().token(), wrap=wrap)))


# =====================================================================================
# JOSE: size caps
# =====================================================================================

_MIB: Final = 1024 * 1024


@case(
    "invalid-jose-oversized-envelope",
    OVERSIZED,
    """A genuine envelope padded with JSON whitespace to 1 MiB + 1 byte: 'Reject
    envelopes over 1 MiB' (section 6.2 step 1) before parsing.""",
)
def _oversized(ctx: Ctx) -> Built:
    text = ctx.seal()
    return Built(b"{" + b" " * (_MIB + 1 - len(text)) + text[1:])


@case(
    "invalid-jose-oversized-33-recipients",
    OVERSIZED,
    """33 recipient entries (the 32 agencies of valid-32-recipients plus a copy to the
    sender's own key); the inner token is otherwise valid. Section 6.2 step 2 allows
    1 to 32 and section 15.1 lists recipients (32) among the size caps (section 6.3
    'oversized').""",
)
def _33(ctx: Ctx) -> Built:
    big = big_network()
    draft = lib.build_draft(big, ctx.rand, record=RECORD, to=THIRTY_TWO)
    draft.enc_keys.append(big.keysets[XA].decryption_key.public)
    return Built(as_bytes(lib.encrypt_draft(draft, ctx.rand)), registry=big.signed)


@case(
    "invalid-jose-oversized-depth-40",
    OVERSIZED,
    """The envelope JSON is nested 40 levels deep (an extra member holding nested
    arrays); the cap is 32 (section 6.2 step 2, and section 15.1 lists JSON depth among
    the size caps: section 6.3 'oversized').""",
)
def _depth(ctx: Ctx) -> Built:
    env = ctx.genuine()
    nested: list[Any] = []
    for _ in range(38):
        nested = [nested]
    env["x-deep"] = nested
    assert lib.json_depth(env) == 40
    return Built(as_bytes(env))


# =====================================================================================
# JOSE: tampering (decryption must fail)
# =====================================================================================


def _flip_first_bit(value: str) -> str:
    raw = bytearray(b64u_decode(value))
    raw[0] ^= 0x01
    return b64u_encode(bytes(raw))


for _suffix, _locate, _what in (
    ("ciphertext", _CIPHERTEXT, "one bit of the ciphertext"),
    ("tag", _TAG, "one bit of the authentication tag"),
    ("iv", _field(["iv"]), "one bit of the IV"),
    ("encrypted-key", _ENCRYPTED_KEY, "one bit of the wrapped CEK (AES key wrap integrity)"),
):
    add(
        f"invalid-jose-tampered-{_suffix}",
        DECRYPTION_FAILED,
        f"""{_what[0].upper() + _what[1:]} is flipped in transit: decryption fails
        (section 6.2 step 4, 'Any failure: decryption_failed').""",
        _b64_case(_locate, _flip_first_bit),
    )


def _reorder_protected(ctx: Ctx, env: dict[str, Any]) -> None:
    env["protected"] = lib.b64json({"typ": ENVELOPE_TYP, "enc": "A256GCM", "cty": SD_JWT_TYP})


add(
    "invalid-jose-tampered-protected-reordered",
    DECRYPTION_FAILED,
    """The protected header is re-serialized with its members in another order
    (still exactly the profile's values): the AAD is the header as sent, so GCM
    authentication fails (section 6.2 step 4; RFC 7516 section 5.2 step 14).""",
    mutated(_reorder_protected),
)
add(
    "invalid-jose-tampered-epk",
    DECRYPTION_FAILED,
    """The epk is replaced by another valid, canonical X25519 public key: the derived
    key-encryption key differs and AES key unwrap fails (section 6.2 step 4).""",
    mutated(
        lambda ctx, env: header(env)["epk"].update(
            x=b64u_encode(lib.derived_decryption_key(f"{ctx.label}/epk").public.raw)
        )
    ),
)


# =====================================================================================
# SD-JWT (RFC 9901 section 7.1 as profiled by section 6.2 steps 5 and 10)
# =====================================================================================


def _sd(change: Callable[[Ctx, Draft], str | None]) -> Callable[[Ctx], Built]:
    """A builder whose *change* edits a standard draft's disclosures or claims; it may
    return the whole token (for serializations ``sdjwt.serialize`` refuses)."""

    def build(ctx: Ctx) -> Built:
        draft = ctx.draft()
        token = change(ctx, draft)
        return Built(as_bytes(ctx.encrypt(draft, token)))

    return build


def _salt(ctx: Ctx) -> str:
    return lib.salt(ctx.random("salt"))


def _add_referenced(draft: Draft, disclosure: str) -> None:
    lib.replace_disclosures(draft, [*draft.disclosures, disclosure])


@case(
    "invalid-sd-jwt-digest-twice",
    VERIFICATION_FAILED,
    """record._sd lists the digest of the 'offence' disclosure twice: a digest that
    occurs twice is rejected (section 6.2 step 10; RFC 9901 section 7.1 step 4).""",
)
@_sd
def _digest_twice(ctx: Ctx, draft: Draft) -> None:
    digest = next(sdjwt.digest_of(d) for d in draft.disclosures if _name_of(d) == "offence")
    draft.claims["record"]["_sd"] = sorted([*draft.claims["record"]["_sd"], digest])


@case(
    "invalid-sd-jwt-disclosure-sent-twice",
    VERIFICATION_FAILED,
    """The 'offence' disclosure is sent twice in the SD-JWT (its digest is listed
    once): the digest then occurs twice (section 6.2 step 10; RFC 9901 section 7.1
    step 4).""",
)
@_sd
def _sent_twice(ctx: Ctx, draft: Draft) -> str:
    offence = next(d for d in draft.disclosures if _name_of(d) == "offence")
    return lib.join_sd_jwt(draft.issuer_jwt(), [*draft.disclosures, offence])


@case(
    "invalid-sd-jwt-unreferenced-disclosure",
    VERIFICATION_FAILED,
    """A well-formed disclosure ["...", "nickname", "Al"] that no digest references is
    appended (section 6.2 step 10; RFC 9901 section 7.1 step 5).""",
)
@_sd
def _unreferenced(ctx: Ctx, draft: Draft) -> str:
    extra = sdjwt.create_disclosure(ctx.random("salt")(16), "nickname", "Al").encoded
    return lib.join_sd_jwt(draft.issuer_jwt(), [*draft.disclosures, extra])


def _referenced_raw(array: Callable[[Ctx], Sequence[Any] | bytes]) -> Callable[[Ctx], Built]:
    """The standard draft plus one raw disclosure, referenced from record._sd."""

    @_sd
    def build(ctx: Ctx, draft: Draft) -> None:
        _add_referenced(draft, lib.raw_disclosure(array(ctx)))

    return build


add(
    "invalid-sd-jwt-disclosure-name-sd",
    VERIFICATION_FAILED,
    """A referenced disclosure names the claim '_sd' (section 6.2 step 10: 'a claim
    name _sd or ...'; RFC 9901 section 7.1 step 3.3.2.2).""",
    _referenced_raw(lambda ctx: [_salt(ctx), "_sd", [b64u_encode(bytes(32))]]),
)
add(
    "invalid-sd-jwt-disclosure-name-dots",
    VERIFICATION_FAILED,
    """A referenced disclosure names the claim '...' (section 6.2 step 10; RFC 9901
    section 7.1 step 3.3.2.2).""",
    _referenced_raw(lambda ctx: [_salt(ctx), "...", b64u_encode(bytes(32))]),
)
add(
    "invalid-sd-jwt-disclosure-array-length-2",
    VERIFICATION_FAILED,
    """An array-element disclosure [salt, value] (2 elements) is referenced from
    record._sd, where object properties need 3 (section 6.2 step 10 'wrong array
    length'; RFC 9901 section 7.1 step 3.3.2.1).""",
    _referenced_raw(lambda ctx: [_salt(ctx), "Al"]),
)
add(
    "invalid-sd-jwt-disclosure-array-length-4",
    VERIFICATION_FAILED,
    """A referenced disclosure has 4 elements [salt, name, value, extra] (section 6.2
    step 10 'wrong array length'; RFC 9901 section 4.2.1).""",
    _referenced_raw(lambda ctx: [_salt(ctx), "nickname", "Al", "extra"]),
)
add(
    "invalid-sd-jwt-disclosure-salt-not-string",
    VERIFICATION_FAILED,
    """A referenced disclosure's salt is the number 12345 (section 6.2 step 10 'a
    non-string salt'; RFC 9901 section 4.2.1).""",
    _referenced_raw(lambda ctx: [12345, "nickname", "Al"]),
)
add(
    "invalid-sd-jwt-disclosure-name-not-string",
    VERIFICATION_FAILED,
    """A referenced disclosure's claim name is the number 42 (section 6.2 step 10 'a
    non-string ... name'; RFC 9901 section 7.1 step 3.3.2.2).""",
    _referenced_raw(lambda ctx: [_salt(ctx), 42, "Al"]),
)
add(
    "invalid-sd-jwt-duplicate-member-in-disclosure",
    MALFORMED,
    """A referenced disclosure's value has 'family_name' twice ("Mallory", then
    "Example"): duplicate member names are rejected in every JSON text (section 6.2
    step 2 rules, applied when a disclosure is parsed).""",
    _referenced_raw(
        lambda ctx: (
            b'["' + _salt(ctx).encode() + b'","alias",'
            b'{"family_name":"Mallory","family_name":"Example"}]'
        )
    ),
)


@case(
    "invalid-sd-jwt-claim-name-exists",
    VERIFICATION_FAILED,
    """The record has a plain member 'offence' and a referenced disclosure also named
    'offence' with another value (section 6.2 step 10 'a name that already exists in
    its object'; RFC 9901 section 7.1 step 3.3.2.3).""",
)
def _name_exists(ctx: Ctx) -> Built:
    draft = ctx.draft(sd={"offence": False})
    extra = sdjwt.create_disclosure(ctx.random("salt")(16), "offence", "theft").encoded
    _add_referenced(draft, extra)
    return Built(as_bytes(ctx.encrypt(draft)))


@case(
    "invalid-sd-jwt-sd-alg-sha-512",
    MALFORMED,
    """_sd_alg is 'sha-512' and every digest in record._sd really is SHA-512 (so a
    verifier honouring _sd_alg would accept). Section 6.2 step 9 requires _sd_alg =
    sha-256 (a claim that violates the profile: section 6.3 'malformed').""",
)
@_sd
def _sha512(ctx: Ctx, draft: Draft) -> None:
    rand = ctx.random("decoys")
    digests = [b64u_encode(hashlib.sha512(d.encode("ascii")).digest()) for d in draft.disclosures]
    digests += [b64u_encode(hashlib.sha512(rand(16)).digest()) for _ in range(2)]
    draft.claims["record"]["_sd"] = sorted(digests)
    draft.claims["_sd_alg"] = "sha-512"


@case(
    "invalid-sd-jwt-sd-alg-absent",
    MALFORMED,
    """_sd_alg is missing (RFC 9901 would default to sha-256, but section 5.3 says the
    payload has exactly the listed members, _sd_alg included).""",
)
@_sd
def _sd_alg_absent(ctx: Ctx, draft: Draft) -> None:
    del draft.claims["_sd_alg"]


@case(
    "invalid-sd-jwt-disclosure-re-encoded",
    VERIFICATION_FAILED,
    """The 'offence' disclosure is re-encoded from the same JSON array with spaces
    after ',' (the kind of change a re-serializing proxy makes): the digest is over
    the disclosure as received, so it is no longer referenced (section 6.2 step 10;
    RFC 9901 section 7.1 steps 3.1 and 5).""",
)
@_sd
def _re_encoded(ctx: Ctx, draft: Draft) -> str:
    out = list(draft.disclosures)
    i = _first(out, lambda d: _name_of(d) == "offence")
    array = lib.loads(b64u_decode(out[i]))
    out[i] = b64u_encode(json.dumps(array, separators=(", ", ": "), ensure_ascii=False).encode())
    return lib.join_sd_jwt(draft.issuer_jwt(), out)


def _protocol_claim_disclosable(name: str, where: str) -> Callable[[Ctx], Built]:
    """Move claim *name* (in the top level, or in 'handling') into a disclosure."""

    @_sd
    def build(ctx: Ctx, draft: Draft) -> None:
        holder = draft.claims if where == "top" else draft.claims["handling"]
        disclosure = sdjwt.create_disclosure(ctx.random("salt")(16), name, holder.pop(name))
        holder["_sd"] = lib.digest_list([disclosure.encoded], ctx.random("decoys"))
        draft.disclosures.append(disclosure.encoded)

    return build


add(
    "invalid-sd-jwt-protocol-claim-purpose-disclosable",
    MALFORMED,
    """The protocol claim 'purpose' is made selectively disclosable (a top-level _sd
    with its digest and two decoys; the disclosure is sent). Section 5.3: a token with
    _sd at the top level MUST be rejected (unknown member), and purpose is
    missing.""",
    _protocol_claim_disclosable("purpose", "top"),
)
add(
    "invalid-sd-jwt-protocol-claim-aud-disclosable",
    MALFORMED,
    """The protocol claim 'aud' is made selectively disclosable through a top-level
    _sd (section 5.3: rejected as an unknown member; aud is missing).""",
    _protocol_claim_disclosable("aud", "top"),
)
add(
    "invalid-sd-jwt-protocol-claim-retention-disclosable",
    MALFORMED,
    """handling.retention is made selectively disclosable through an _sd inside
    'handling': handling has exactly the members of section 5.4 (section 6.2 step 9
    'handling matches section 5.4 exactly'); only record may carry _sd (section 5.3).""",
    _protocol_claim_disclosable("retention", "handling"),
)


@case(
    "invalid-sd-jwt-kb-jwt-appended",
    VERIFICATION_FAILED,
    """A key-binding JWT (typ kb+jwt, with sd_hash, aud, nonce, iat; signed by a
    holder key) follows the last '~' of an envelope sealed to two agencies, whose
    signed claims bind no holder key (no cnf): a forwarding statement needs the
    originator's holder binding (section 7.3).""",
)
@_sd
def _kb(ctx: Ctx, draft: Draft) -> str:
    token = draft.token()
    holder = lib.derived_signing_key(f"{ctx.label}/holder")
    kb_payload = {
        "iat": draft.claims["iat"],
        "aud": XB,
        "nonce": b64u_encode(ctx.random("nonce")(16)),
        "sd_hash": sdjwt.sd_hash(token),
    }
    return token + lib.jws_compact({"alg": "Ed25519", "typ": "kb+jwt"}, kb_payload, holder)


@case(
    "invalid-sd-jwt-empty-disclosure",
    MALFORMED,
    """The SD-JWT has an empty component between two '~' ('~~'): each disclosure is
    non-empty (section 6.2 step 5; RFC 9901 section 4 ABNF).""",
)
@_sd
def _empty(ctx: Ctx, draft: Draft) -> str:
    return lib.join_sd_jwt(draft.issuer_jwt(), [draft.disclosures[0], "", *draft.disclosures[1:]])


def _first(disclosures: Sequence[str], test: Callable[[str], bool]) -> int:
    for i, disclosure in enumerate(disclosures):
        if test(disclosure):
            return i
    raise ValueError("no disclosure fits")


@case(
    "invalid-sd-jwt-disclosure-b64-padding",
    MALFORMED,
    """A disclosure is sent with '=' padding and record._sd references the digest of
    that padded text, so only the encoding is wrong: each disclosure is canonical
    base64url (section 6.2 step 5).""",
)
@_sd
def _disc_padding(ctx: Ctx, draft: Draft) -> None:
    out = list(draft.disclosures)
    i = _first(out, lambda d: len(d) % 4 != 0)
    out[i] = lib.padded(out[i])
    lib.replace_disclosures(draft, out)


@case(
    "invalid-sd-jwt-disclosure-b64-plus-slash",
    MALFORMED,
    """A disclosure (["...", "alias", "~~~~~~ Zoë"], whose encoding has '-' and '_')
    is sent in the standard base64 alphabet ('+', '/') and record._sd references the
    digest of that text: not base64url (section 6.2 step 5).""",
)
@_sd
def _disc_plus(ctx: Ctx, draft: Draft) -> None:
    alias = sdjwt.create_disclosure(ctx.random("salt")(16), "alias", "~~~~~~ Zoë").encoded
    lib.replace_disclosures(draft, [*draft.disclosures, lib.non_url_alphabet(alias)])


@case(
    "invalid-sd-jwt-record-without-sd",
    MALFORMED,
    """The record is a plain object without an _sd array (all members in clear,
    correctly signed). Section 5.3: 'record MUST contain an _sd array'.""",
)
@_sd
def _no_sd(ctx: Ctx, draft: Draft) -> None:
    draft.claims["record"] = dict(RECORD)
    draft.disclosures = []


@case(
    "invalid-sd-jwt-record-sd-not-array",
    MALFORMED,
    """record._sd is a string (one digest) instead of an array (correctly signed;
    the matching disclosure is sent). Section 5.3: 'record MUST contain an _sd array'
    - a claim shape violation (section 6.2 step 6, section 6.3 'malformed').""",
)
@_sd
def _sd_string(ctx: Ctx, draft: Draft) -> None:
    offence = next(d for d in draft.disclosures if _name_of(d) == "offence")
    draft.claims["record"] = {"_sd": sdjwt.digest_of(offence)}
    draft.disclosures = [offence]


@case(
    "invalid-sd-jwt-oversized-257-disclosures",
    OVERSIZED,
    """257 disclosures (a record of 257 members, each referenced): at most 256
    (section 6.2 step 5; section 15.1 size caps).""",
)
def _257(ctx: Ctx) -> Built:
    rand = ctx.random("salts")
    disclosures = [
        sdjwt.create_disclosure(rand(16), f"field_{i:03d}", i).encoded for i in range(257)
    ]
    draft = ctx.draft({})
    draft.claims["record"] = {"_sd": lib.digest_list(disclosures, ctx.random("decoys"))}
    draft.disclosures = disclosures
    return Built(as_bytes(ctx.encrypt(draft, lib.join_sd_jwt(draft.issuer_jwt(), disclosures))))


@case(
    "invalid-sd-jwt-oversized-depth-40-disclosure",
    OVERSIZED,
    """A referenced disclosure whose JSON is nested 40 levels deep: the JSON depth cap
    is 32 (section 6.2 step 2, section 15.1 'JSON depth (32)' among the size caps,
    section 6.3 'oversized').""",
)
@_sd
def _deep_disclosure(ctx: Ctx, draft: Draft) -> None:
    array = [_salt(ctx), "nested", lib.nested_object(39)]
    assert lib.json_depth(array) == 40
    _add_referenced(draft, lib.raw_disclosure(array))


# =====================================================================================
# Protocol
# =====================================================================================


@case(
    "invalid-protocol-surreptitious-forwarding",
    VERIFICATION_FAILED,
    """XA-NPOL seals a genuine envelope to XB-PROS and XC-CUST; XC-CUST decrypts it
    and re-encrypts the unchanged token to XD-FIU, which opens it. XD-FIU is not in
    aud and its key is not in sealed_to (section 6.2 step 9; section 15.1
    'surreptitious forwarding').""",
)
def _forwarding(ctx: Ctx) -> Built:
    genuine = ctx.seal(to=(XB, XC), rand=ctx.random("genuine"))
    token = lib.decrypt(lib.loads(genuine), ctx.keys(XC))
    env = jwe.encrypt(
        token, [ctx.enc_key(XD)], typ=ENVELOPE_TYP, cty=SD_JWT_TYP, randbytes=ctx.rand
    )
    return Built(as_bytes(env), recipient=XD)


@case(
    "invalid-protocol-sealed-to-excludes-decrypting-key",
    VERIFICATION_FAILED,
    """A correctly signed token with aud [XB-PROS, XC-CUST] but sealed_to listing only
    XC-CUST's key, encrypted to XB-PROS: the key that decrypted is not in sealed_to
    (section 6.2 step 9; ADR 0002 decision 3).""",
)
def _sealed_to(ctx: Ctx) -> Built:
    draft = ctx.draft(to=(XB, XC))
    draft.claims["sealed_to"] = [ctx.enc_key(XC).kid]
    draft.enc_keys = [ctx.enc_key(XB)]
    return Built(as_bytes(ctx.encrypt(draft)))


@case(
    "invalid-protocol-audience-mismatch",
    VERIFICATION_FAILED,
    """A correctly signed token with aud [XC-CUST] (sealed_to lists XB-PROS's key)
    encrypted to XB-PROS: the recipient's agency id must be in aud (section 6.2 step
    9).""",
)
def _audience(ctx: Ctx) -> Built:
    draft = ctx.draft()
    draft.claims["aud"] = [XC]
    return Built(as_bytes(ctx.encrypt(draft)))


@case(
    "invalid-protocol-replay",
    "replay",
    """The same envelope is opened twice with the same replay cache (it is listed in
    previously_opened): (iss, jti) is already recorded (section 6.2 step 12).""",
)
def _replay(ctx: Ctx) -> Built:
    envelope = ctx.seal()
    return Built(envelope, previously_opened=(envelope,))


@case(
    "invalid-protocol-replay-reused-jti-different-content",
    "replay",
    """Two genuine envelopes from XA-NPOL with the same jti but different records; the
    first was opened before. 'If the pair is already recorded, reject (replay),
    whether the content is the same or not' (section 6.2 step 12).""",
)
def _reused_jti(ctx: Ctx) -> Built:
    first = ctx.draft()
    second = lib.build_draft(ctx.net, ctx.random("second"), record={"offence": "smuggling"})
    second.claims["jti"] = first.claims["jti"]
    previous = as_bytes(ctx.encrypt(first))
    return Built(as_bytes(ctx.encrypt(second)), previously_opened=(previous,))


@case(
    "invalid-protocol-expired",
    "expired",
    """now = exp + skew exactly: section 6.2 step 9 requires now < exp + skew.""",
)
def _expired(ctx: Ctx) -> Built:
    ttl = timedelta(days=7)
    return Built(ctx.seal(offset=-ttl - timedelta(seconds=SKEW), ttl=ttl))


@case(
    "invalid-protocol-expired-skew-zero",
    "expired",
    """The verifier uses skew 0 and now = exp: section 6.2 step 9 requires now < exp
    + skew.""",
)
def _expired_zero(ctx: Ctx) -> Built:
    ttl = timedelta(days=7)
    return Built(ctx.seal(offset=-ttl, ttl=ttl), skew_seconds=0)


@case(
    "invalid-protocol-not-yet-valid",
    "not_yet_valid",
    """iat = now + skew + 1 s: section 6.2 step 9 requires iat <= now + skew.""",
)
def _not_yet(ctx: Ctx) -> Built:
    return Built(ctx.seal(offset=timedelta(seconds=SKEW + 1)))


@case(
    "invalid-protocol-lifetime-over-90-days",
    MALFORMED,
    """exp = iat + 90 days + 1 s (correctly signed): section 5.3 requires exp <= iat +
    90 days (a claim that violates the profile).""",
)
def _lifetime(ctx: Ctx) -> Built:
    draft = ctx.draft(ttl=timedelta(days=90, seconds=1))
    return Built(as_bytes(ctx.encrypt(draft)))


@case(
    "invalid-protocol-exp-equals-iat",
    MALFORMED,
    """exp = iat (correctly signed): section 5.3 requires iat < exp.""",
)
def _exp_iat(ctx: Ctx) -> Built:
    draft = ctx.draft()
    draft.claims["exp"] = draft.claims["iat"]
    return Built(as_bytes(ctx.encrypt(draft)))


def _registry_case(
    change: Callable[[Ctx, RegistryDocument], RegistryDocument],
) -> Callable[[Ctx], Built]:
    """A genuine envelope (iat = now) verified against a changed registry."""

    def build(ctx: Ctx) -> Built:
        return Built(ctx.seal(), registry=ctx.registry(lambda doc: change(ctx, doc)))

    return build


def _sig_kid(ctx: Ctx) -> str:
    return ctx.keys(XA).signing_key.kid


add(
    "invalid-protocol-key-revoked-before-iat",
    "key_revoked",
    """The registry says XA-NPOL's signing key was revoked one day before the
    envelope's iat (section 6.2 step 7; section 4.3 'revoked_at <= t').""",
    _registry_case(
        lambda ctx, doc: doc.with_revoked_key(
            XA, _sig_kid(ctx), at=NOW - timedelta(days=1), reason="key compromise"
        )
    ),
)
add(
    "invalid-protocol-key-revoked-at-iat",
    "key_revoked",
    """The signing key was revoked at exactly iat: revocation takes effect at its
    timestamp ('revoked at or before iat', section 6.2 step 7; section
    4.3).""",
    _registry_case(
        lambda ctx, doc: doc.with_revoked_key(XA, _sig_kid(ctx), at=NOW, reason="key compromise")
    ),
)
add(
    "invalid-protocol-key-not-yet-valid-at-iat",
    "key_not_valid",
    """The registry makes the signing key valid from iat + 1 s (section 6.2 step 7
    'outside its validity window'; section 4.3 't < not_before').""",
    _registry_case(
        lambda ctx, doc: lib.with_key_fields(
            doc, XA, _sig_kid(ctx), not_before=NOW + timedelta(seconds=1)
        )
    ),
)
add(
    "invalid-protocol-key-expired-at-iat",
    "key_not_valid",
    """The registry says the signing key's validity ended at exactly iat (not_after =
    iat; windows are half-open, section 4.3 'not_after <= t').""",
    _registry_case(lambda ctx, doc: lib.with_key_fields(doc, XA, _sig_kid(ctx), not_after=NOW)),
)
add(
    "invalid-protocol-sender-suspended",
    "agency_suspended",
    """The registry says XA-NPOL has been suspended since one day before iat (section
    6.2 step 7; section 4.3 'one of the agency's suspension periods contains t').""",
    _registry_case(
        lambda ctx, doc: doc.with_suspension(XA, at=NOW - timedelta(days=1), reason="inquiry")
    ),
)
add(
    "invalid-protocol-sender-suspended-at-iat",
    "agency_suspended",
    """XA-NPOL was suspended at exactly iat: suspension takes effect at its timestamp
    (section 4.3).""",
    _registry_case(lambda ctx, doc: doc.with_suspension(XA, at=NOW, reason="inquiry")),
)


@case(
    "invalid-protocol-unknown-issuer-agency",
    "unknown_agency",
    """iss is 'XE-ROGUE', an agency the registry does not list, and the token is
    signed by a key of its own (its thumbprint as kid): section 6.2 step 7, unknown
    agency.""",
)
def _unknown_agency(ctx: Ctx) -> Built:
    draft = ctx.draft()
    rogue = lib.derived_signing_key(f"{ctx.label}/rogue")
    draft.claims["iss"] = "XE-ROGUE"
    draft.key = rogue
    draft.header["kid"] = rogue.kid
    return Built(as_bytes(ctx.encrypt(draft)))


def _claims_case(change: Callable[[dict[str, Any]], Any]) -> Callable[[Ctx], Built]:
    """A correctly signed token whose claims *change* edits before signing."""

    def build(ctx: Ctx) -> Built:
        draft = ctx.draft()
        change(draft.claims)
        return Built(as_bytes(ctx.encrypt(draft)))

    return build


add(
    "invalid-protocol-ver-2",
    MALFORMED,
    """ver is 2 (correctly signed): section 6.2 step 9 requires ver = 1; a claim that
    violates the profile (section 6.3 'malformed').""",
    _claims_case(lambda c: c.update(ver=2)),
)
add(
    "invalid-protocol-unknown-msg-type",
    MALFORMED,
    """msg_type is 'arrest_warrant', not one of section 11.1 (correctly signed): section
    6.2 step 9 'msg_type known'.""",
    _claims_case(lambda c: c.update(msg_type="arrest_warrant")),
)
add(
    "invalid-protocol-unknown-claim",
    MALFORMED,
    """The signed claims have an extra member 'nonce' (correctly signed): 'unknown
    members MUST be rejected' (section 5.3).""",
    _claims_case(lambda c: c.update(nonce="n-0S6_WzA2Mj")),
)
add(
    "invalid-protocol-handling-unknown-member",
    MALFORMED,
    """handling has an extra member 'onward_transfer_note' (correctly signed):
    handling has exactly the members of section 5.4 (section 6.2 step 9).""",
    _claims_case(lambda c: c["handling"].update(onward_transfer_note="ok to share")),
)
add(
    "invalid-protocol-aud-repeated",
    MALFORMED,
    """aud is ["XB-PROS", "XB-PROS"] (correctly signed): 'no repeats in aud' (section
    5.3, section 6.2 step 9).""",
    _claims_case(lambda c: c.update(aud=[XB, XB])),
)


# =====================================================================================
# Policy: the purpose and the acknowledgements of an open (section 6.2 step 11)
# =====================================================================================


@case(
    "valid-policy-own-purpose",
    VALID,
    """The envelope (purpose criminal_investigation) is opened for criminal_investigation:
    its own purpose (section 6.2 step 11; section 8.4 rule 1).""",
)
def _policy_own(ctx: Ctx) -> Built:
    return ctx.valid(ctx.seal(), RECORD, open=Open(purpose=PURPOSE))


@case(
    "valid-policy-compatible-purpose",
    VALID,
    """The envelope (purpose criminal_investigation) is opened for prosecution, which the
    shipped vocabulary lists in criminal_investigation's compatible_with: allowed without
    consent (speciality, UNTOC Art. 18(19); section 8.4 rule 1).""",
)
def _policy_compatible(ctx: Ctx) -> Built:
    return ctx.valid(ctx.seal(), RECORD, open=Open(purpose="prosecution"))


@case(
    "invalid-policy-incompatible-purpose",
    POLICY_VIOLATION,
    """The envelope (purpose criminal_investigation) is opened for intelligence_analysis,
    which is neither its purpose nor compatible with it, and no consent grant is held:
    refused (section 6.2 step 11; section 8.4 rule 4). The envelope itself is
    valid in every other respect.""",
)
def _policy_incompatible(ctx: Ctx) -> Built:
    return Built(ctx.seal(), open=Open(purpose="intelligence_analysis"))


@case(
    "invalid-policy-compatibility-not-transitive",
    POLICY_VIOLATION,
    """The envelope's purpose is locate_suspect, compatible with criminal_investigation,
    which is compatible with prosecution. Opened for prosecution: refused, compatibility is
    one step, not transitive (section 8.4 rule 1).""",
)
def _policy_not_transitive(ctx: Ctx) -> Built:
    return Built(ctx.seal(purpose="locate_suspect"), open=Open(purpose="prosecution"))


@case(
    "invalid-policy-compatibility-not-symmetric",
    POLICY_VIOLATION,
    """The envelope's purpose is prosecution; criminal_investigation lists prosecution as
    compatible, but not the other way round. Opened for criminal_investigation: refused
    (section 8.4 rule 1, 'and not symmetrically').""",
)
def _policy_not_symmetric(ctx: Ctx) -> Built:
    return Built(ctx.seal(purpose="prosecution"), open=Open(purpose=PURPOSE))


@case(
    "invalid-policy-unknown-purpose",
    POLICY_VIOLATION,
    """The envelope is opened for 'fishing_expedition', a well-formed purpose code that is
    not in the vocabulary: an unknown purpose cannot be enforced and is refused (section
    6.2 step 11; section 8.6).""",
)
def _policy_unknown(ctx: Ctx) -> Built:
    return Built(ctx.seal(), open=Open(purpose="fishing_expedition"))


@case(
    "invalid-policy-unknown-envelope-purpose",
    POLICY_VIOLATION,
    """The envelope's signed purpose is 'general_surveillance', not in the vocabulary, and
    it is opened for that same purpose: the originator's purpose cannot be enforced, so
    the envelope is refused rather than opened (section 8.6).""",
)
def _policy_unknown_envelope_purpose(ctx: Ctx) -> Built:
    return Built(
        ctx.seal(purpose="general_surveillance"), open=Open(purpose="general_surveillance")
    )


POLICY_ACKNOWLEDGEMENTS: Final = (
    "Do not contact the subject without prior consultation.",
    "The penalty of death will not be sought or imposed on the basis of this data.",
)


def _acknowledging_envelope(ctx: Ctx) -> bytes:
    return ctx.seal(handling=HandlingConditions(acknowledgements=POLICY_ACKNOWLEDGEMENTS))


@case(
    "valid-policy-acknowledgements-given",
    VALID,
    """The handling conditions carry two free-text conditions to acknowledge; the verifier
    acknowledges both, exactly as written (section 5.4, acknowledgements; section 6.2 step
    11).""",
)
def _policy_acknowledged(ctx: Ctx) -> Built:
    return ctx.valid(
        _acknowledging_envelope(ctx), RECORD, open=Open(acknowledged=POLICY_ACKNOWLEDGEMENTS)
    )


@case(
    "invalid-policy-acknowledgement-missing",
    POLICY_VIOLATION,
    """The handling conditions carry two free-text conditions to acknowledge; the verifier
    acknowledges only the first: the data is not released (section 6.2 step 11).""",
)
def _policy_ack_missing(ctx: Ctx) -> Built:
    return Built(_acknowledging_envelope(ctx), open=Open(acknowledged=POLICY_ACKNOWLEDGEMENTS[:1]))


@case(
    "invalid-policy-acknowledgement-none",
    POLICY_VIOLATION,
    """The handling conditions carry two free-text conditions to acknowledge; the verifier
    acknowledges nothing (section 6.2 step 11).""",
)
def _policy_ack_none(ctx: Ctx) -> Built:
    return Built(_acknowledging_envelope(ctx), open=Open(acknowledged=()))


@case(
    "invalid-policy-acknowledgement-altered",
    POLICY_VIOLATION,
    """The verifier acknowledges the first condition exactly and the second in lower case
    with a trailing space: a condition is acknowledged only as written, byte for byte
    (section 6.2 step 11).""",
)
def _policy_ack_altered(ctx: Ctx) -> Built:
    altered = POLICY_ACKNOWLEDGEMENTS[1].lower() + " "
    return Built(
        _acknowledging_envelope(ctx),
        open=Open(acknowledged=(POLICY_ACKNOWLEDGEMENTS[0], altered)),
    )


@case(
    "invalid-protocol-expired-with-incompatible-purpose",
    "expired",
    """An envelope that expired a day ago, opened for an incompatible purpose: the claims
    are checked (step 9) before the purpose (step 11), so the error is 'expired', not
    'policy_violation'.""",
)
def _expired_and_incompatible(ctx: Ctx) -> Built:
    return Built(ctx.seal(offset=-timedelta(days=8)), open=Open(purpose="intelligence_analysis"))


# =====================================================================================
# Forwarding: onward transfer with key binding (section 7), opened by the last recipient
# =====================================================================================

#: When XA-NPOL seals the envelope a forwarding case starts from (relative to NOW).
FORWARD_SEALED: Final = timedelta(hours=-4)
#: When the hop of a one-hop case is made (relative to NOW); the recipient opens at NOW.
ONE_HOP: Final = timedelta(hours=-2)
#: The record fields a hop passes on unless the case says otherwise (two of the four).
FORWARDED: Final = ("subject", "offence")
#: What the recipient of a hop that passes on FORWARDED sees of the record.
FORWARDED_RECORD: Final[dict[str, Any]] = {name: RECORD[name] for name in FORWARDED}
#: A holder opens its envelope this long before it forwards (unless the hop says when)...
OPENED_BEFORE: Final = timedelta(minutes=10)
#: ... and XA-NPOL signs the consent grant for the hop this long before it.
CONSENT_BEFORE: Final = timedelta(minutes=5)
#: The lifetime of the consent grants of the forwarding cases.
CONSENT_VALID: Final = timedelta(days=30)
#: Conditions that allow onward transfer to XC-CUST only, without consent.
LISTED_XC: Final = HandlingConditions(onward_transfer="allowed_to_listed", onward_allowed_to=[XC])


@dataclass(frozen=True)
class Hop:
    """One onward transfer: the holder opens its envelope, files XA-NPOL's consent
    grant for this hop (if *consent*), and forwards *disclose* to *to* at ``NOW + at``
    with ``forward_with_randomness``."""

    to: str
    at: timedelta = ONE_HOP
    disclose: tuple[str, ...] = FORWARDED
    consent: bool = True
    ttl: timedelta = timedelta(days=7)
    pad: bool = False
    opened_at: timedelta | None = None
    """When the holder opens its envelope (default: OPENED_BEFORE before *at*)."""
    consent_at: timedelta | None = None
    """When XA-NPOL signs (and the holder files) the grant (default: CONSENT_BEFORE before
    *at*)."""


@dataclass(frozen=True)
class Forwarded:
    """A chain XA-NPOL -> XB-PROS -> ... made by the library, with its pieces."""

    net: TestNetwork
    direct: bytes
    """The envelope XA-NPOL sealed to XB-PROS."""
    envelopes: tuple[bytes, ...]
    """The envelope of each hop, oldest first."""
    recipients: tuple[str, ...]
    opened: tuple[OpenedEnvelope, ...]
    """What each forwarder opened before it forwarded (XB-PROS's open first)."""

    @property
    def envelope(self) -> bytes:
        return self.envelopes[-1]

    @property
    def recipient(self) -> str:
        return self.recipients[-1]


def _forward_chain(
    ctx: Ctx,
    hops: Sequence[Hop],
    *,
    handling: HandlingConditions | None = None,
    sealed: timedelta = FORWARD_SEALED,
    ttl: timedelta = timedelta(days=7),
    direct: bytes | None = None,
    net: TestNetwork | None = None,
    tag: str = "",
) -> Forwarded:
    """Seal to XB-PROS (unless *direct* is given), then run *hops* through the library.

    Every holder opens with an SQLite replay cache and consent store in a temporary
    directory (state only: nothing of it reaches the vector) and records its forward in
    a MemoryRecorder. Randomness: the seal draws from ``<id>/seal``, XA-NPOL's grant for
    hop *n* from ``<id>/<tag>grant/<n>``, the hop from ``<id>/<tag>hop/<n>``; so two
    calls with different tags forward the same direct envelope twice.
    """
    net = net or ctx.net
    if direct is None:
        direct = ctx.seal(
            offset=sealed, ttl=ttl, handling=handling, net=net, rand=ctx.random("seal")
        )
    envelopes: list[bytes] = []
    opened: list[OpenedEnvelope] = []
    holder, envelope = XB, direct
    with tempfile.TemporaryDirectory() as tmp:
        for number, hop in enumerate(hops, start=1):
            at = NOW + hop.at
            opened_at = at - OPENED_BEFORE if hop.opened_at is None else NOW + hop.opened_at
            consent_at = at - CONSENT_BEFORE if hop.consent_at is None else NOW + hop.consent_at
            with open_store(Path(tmp) / f"{holder}.sqlite3") as store:
                here = open_envelope(
                    envelope,
                    recipient=net.keysets[holder],
                    registry=net.registry,
                    replay=ReplayCache(store),
                    purpose=PURPOSE,
                    actor=ACTOR,
                    recorder=None,
                    now=opened_at,
                )
                consents = ConsentStore(store)
                if hop.consent:
                    token = _grant(
                        ctx,
                        here,
                        holder=holder,
                        to=hop.to,
                        at=consent_at,
                        label=f"{tag}grant/{number}",
                        net=net,
                    )
                    consents.add(token, registry=net.registry, now=consent_at)
                envelope = forward_with_randomness(
                    here,
                    sender=net.keysets[holder],
                    to=hop.to,
                    registry=net.registry,
                    disclose=hop.disclose,
                    actor=ACTOR,
                    recorder=MemoryRecorder(),
                    consents=consents,
                    ttl=hop.ttl,
                    now=at,
                    pad=hop.pad,
                    randbytes=ctx.random(f"{tag}hop/{number}"),
                )
            opened.append(here)
            envelopes.append(envelope)
            holder = hop.to
    return Forwarded(net, direct, tuple(envelopes), tuple(h.to for h in hops), tuple(opened))


def _grant(
    ctx: Ctx,
    opened: OpenedEnvelope,
    *,
    holder: str,
    to: str,
    at: datetime,
    label: str,
    originator: str = XA,
    valid_for: timedelta = CONSENT_VALID,
    net: TestNetwork | None = None,
    purpose: str | None = None,
) -> str:
    """A consent grant of *originator* to *holder* for the onward transfer of *opened*
    to *to* (or, with *purpose*, for that purpose), issued at *at*."""
    net = net or ctx.net
    return issue_grant(
        originator=net.keysets[originator],
        holder=holder,
        envelope_jti=opened.jti,
        envelope_digest=opened.digest,
        scope="purpose" if purpose else "onward_transfer",
        purpose=purpose,
        onward_recipient=None if purpose else to,
        valid_for=valid_for,
        now=at,
        _randbytes=ctx.random(label),
    )


@dataclass
class Presented:
    """A forwarded SD-JWT taken apart, to change and put back together."""

    issuer_jwt: str
    disclosures: list[str]
    kb_jwt: str

    @property
    def claims(self) -> dict[str, Any]:
        """The last hop's claims (a fresh copy, in signed order)."""
        return lib.hop_claims(self.kb_jwt)

    def presentation(self) -> str:
        return lib.join_sd_jwt(self.issuer_jwt, self.disclosures)

    def token(self) -> str:
        return lib.join_sd_jwt(self.issuer_jwt, self.disclosures, self.kb_jwt)


def _presented(ctx: Ctx, fw: Forwarded) -> Presented:
    """What the last recipient of *fw* decrypts."""
    token = lib.decrypt(lib.loads(fw.envelope), fw.net.keysets[fw.recipient]).decode("ascii")
    issuer_jwt, disclosures, kb_jwt = sdjwt.split(token)
    assert kb_jwt is not None
    return Presented(issuer_jwt, disclosures, kb_jwt)


def _encrypt_to(ctx: Ctx, agency: str, token: str, net: TestNetwork | None = None) -> bytes:
    """*token* encrypted to *agency* exactly as ``forward`` encrypts (section 7.2 step 4)."""
    key = (net or ctx.net).registry.encryption_key(agency, at=NOW)
    return lib.dumps(
        jwe.encrypt(
            token.encode("ascii"),
            [key],
            typ=ENVELOPE_TYP,
            cty=SD_JWT_TYP,
            randbytes=ctx.random("reencrypt"),
        )
    )


def _resigned(ctx: Ctx, fw: Forwarded, signer: str | None = None, **changes: Any) -> Built:
    """The last hop of *fw* with *changes* to its claims (``None`` deletes a member),
    signed again by *signer*'s key (default: the forwarder's, the bound one) and
    encrypted to the same recipient."""
    parts = _presented(ctx, fw)
    claims = lib.changed(parts.claims, **changes)
    forwarder = signer or claims.get("iss", XB)
    parts.kb_jwt = lib.sign_hop(claims, fw.net.keysets[forwarder].signing_key)
    return Built(_encrypt_to(ctx, fw.recipient, parts.token()), recipient=fw.recipient)


def _with_disclosures(ctx: Ctx, fw: Forwarded, disclosures: Sequence[str]) -> Built:
    """*fw*'s last envelope with other disclosures, the hop unchanged (not re-signed)."""
    parts = _presented(ctx, fw)
    parts.disclosures = list(disclosures)
    return Built(_encrypt_to(ctx, fw.recipient, parts.token()), recipient=fw.recipient)


def _hand_hop(
    ctx: Ctx,
    net: TestNetwork,
    presentation: str,
    *,
    iss: str,
    aud: str,
    at: datetime,
    label: str,
    bind: bool = True,
    consent: str | None = None,
    prev: str | None = None,
) -> str:
    """A Key Binding JWT made by hand as ``forward`` makes it (section 7.2 step 3),
    for hops the library refuses to make; signed by *iss*'s current signing key."""
    rand = ctx.random(label)
    _, disclosures, _ = sdjwt.split(presentation)
    iat = to_unix(at)
    claims: dict[str, Any] = {
        "iss": iss,
        "aud": aud,
        "iat": iat,
        "exp": iat + int(timedelta(days=7).total_seconds()),
        "jti": b64u_encode(rand(16)),
        "nonce": b64u_encode(rand(16)),
        "sd_hash": sdjwt.sd_hash(presentation),
        "sealed_to": [net.registry.encryption_key(aud, at=at).kid],
        "disclosed": sorted(sdjwt.digest_of(d) for d in disclosures),
    }
    if bind:
        claims["cnf"] = holder_binding(net.registry.signing_key(aud, at=at))
    if consent is not None:
        claims["consent"] = consent
    if prev is not None:
        claims["prev"] = prev
    return lib.sign_hop(claims, net.keysets[iss].signing_key)


def _one_hop(ctx: Ctx, **hop: Any) -> Forwarded:
    """The standard chain: XA-NPOL -> XB-PROS (sealed at NOW - 4 h, consent required),
    XB-PROS -> XC-CUST at NOW - 2 h passing on 'subject' and 'offence'."""
    return _forward_chain(ctx, [Hop(XC, **hop)])


def _fwd_valid(ctx: Ctx, fw: Forwarded, record: Mapping[str, Any], **kwargs: Any) -> Built:
    return ctx.valid(fw.envelope, record, recipient=fw.recipient, **kwargs)


# -- valid forwarded envelopes ---------------------------------------------------------------


@case(
    "valid-forward-one-hop-with-consent",
    VALID,
    """XA-NPOL seals the standard record to XB-PROS alone four hours before now, under the
    default conditions (onward_transfer with_prior_authorisation), so the token binds
    XB-PROS's signing key in cnf (section 7.1). XB-PROS opens it, files XA-NPOL's consent
    grant for the onward transfer of exactly this envelope to XC-CUST, and two hours
    before now forwards 'subject' and 'offence' to XC-CUST (section 7.2): the presentation
    carries only those two disclosures and a KB-JWT with the grant. XC-CUST opens it
    (section 7.3): the claims are XA-NPOL's and the record has the two fields only.""",
)
def _fwd_one_hop(ctx: Ctx) -> Built:
    return _fwd_valid(ctx, _one_hop(ctx), FORWARDED_RECORD)


@case(
    "valid-forward-allowed-to-listed",
    VALID,
    """The conditions are onward_transfer allowed_to_listed with onward_allowed_to
    [XC-CUST]: XB-PROS forwards 'subject' and 'offence' to XC-CUST without any consent
    grant; the hop has no 'consent' member (section 7.2 step 3; section 7.3 rule 5
    'allowed_to_listed requires aud to be listed').""",
)
def _fwd_listed(ctx: Ctx) -> Built:
    fw = _forward_chain(ctx, [Hop(XC, consent=False)], handling=LISTED_XC)
    return _fwd_valid(ctx, fw, FORWARDED_RECORD)


@case(
    "valid-forward-two-hops-with-consent",
    VALID,
    """A -> B -> C -> D: XB-PROS forwards 'subject', 'offence' and 'account' to XC-CUST three
    hours before now with XA-NPOL's consent; XC-CUST opens it and, with a second consent
    grant of XA-NPOL (holder XC-CUST, onward recipient XD-FIU), forwards 'subject' and
    'offence' to XD-FIU an hour before now. The second hop carries the first in 'prev'
    and narrows 'disclosed'; XD-FIU verifies both hops oldest first (section 7.3).""",
)
def _fwd_two_hops(ctx: Ctx) -> Built:
    fw = _forward_chain(
        ctx,
        [
            Hop(XC, at=timedelta(hours=-3), disclose=("subject", "offence", "account")),
            Hop(XD, at=timedelta(hours=-1)),
        ],
    )
    return _fwd_valid(ctx, fw, FORWARDED_RECORD)


FOUR_HOPS: Final = (
    Hop(EXTRA_AGENCIES[0], at=timedelta(hours=-5)),
    Hop(EXTRA_AGENCIES[1], at=timedelta(hours=-4)),
    Hop(EXTRA_AGENCIES[2], at=timedelta(hours=-3)),
    Hop(XC, at=timedelta(hours=-2)),
)


def _four_hops(ctx: Ctx) -> Forwarded:
    """XB-PROS -> XE-AG01 -> XE-AG02 -> XE-AG03 -> XC-CUST, consent at each hop."""
    return _forward_chain(ctx, FOUR_HOPS, sealed=timedelta(hours=-6), net=big_network())


@case(
    "valid-forward-four-hops",
    VALID,
    """The longest chain the profile allows (MAX_HOPS = 4, section 7.2 step 1): XB-PROS ->
    XE-AG01 -> XE-AG02 -> XE-AG03 -> XC-CUST, an hour apart, each hop with its own consent
    grant of XA-NPOL, in the registry of 33 agencies (as valid-32-recipients). XC-CUST
    unnests four hops through 'prev' and verifies each (section 7.3).""",
)
def _fwd_four_hops(ctx: Ctx) -> Built:
    return _fwd_valid(ctx, _four_hops(ctx), FORWARDED_RECORD, registry=big_network().signed)


@case(
    "valid-forward-padded",
    VALID,
    """XB-PROS forwards with pad=True: the KB-JWT carries a 'pad' claim of '0's (section 7.2
    step 3) that puts the forwarded SD-JWT on its Padmé bucket (section 16.2). The
    recipient accepts 'pad' and ignores its content.""",
)
def _fwd_padded(ctx: Ctx) -> Built:
    fw = _one_hop(ctx, pad=True)
    parts = _presented(ctx, fw)
    length = len(parts.token())
    if "pad" not in parts.claims or padme(length) - length > 1:
        raise AssertionError("the padded forward is not on its bucket")
    return _fwd_valid(ctx, fw, FORWARDED_RECORD)


@case(
    "valid-forward-single-field",
    VALID,
    """XB-PROS passes on one field of the four it received ('offence'): the presentation has
    one disclosure and 'disclosed' one digest; the three others stay undisclosed digests
    in the originator's signed record (section 7.2 step 2).""",
)
def _fwd_single(ctx: Ctx) -> Built:
    fw = _one_hop(ctx, disclose=("offence",))
    return _fwd_valid(ctx, fw, {"offence": RECORD["offence"]})


@case(
    "valid-forward-nested-field",
    VALID,
    """XA-NPOL conceals 'subject' and, recursively, each of its members (as
    valid-recursive-disclosures, with cnf as seal adds it). XB-PROS passes on
    'subject.family_name' only: the presentation carries the disclosure of 'subject' (the
    object that contains the field) and that of 'family_name', nothing else (section 7.2
    step 2). The record is {"subject": {"family_name": ...}}.""",
)
def _fwd_nested(ctx: Ctx) -> Built:
    spec: sdjwt.SdSpec = {"subject": sdjwt.Sd({})}
    rand = ctx.random("seal")
    draft = lib.build_draft(ctx.net, rand, record=RECORD, sd=spec, iat=NOW + FORWARD_SEALED)
    lib.bind_holder(draft, ctx.net)
    direct = as_bytes(lib.encrypt_draft(draft, rand))
    fw = _forward_chain(ctx, [Hop(XC, disclose=("subject.family_name",))], direct=direct)
    return _fwd_valid(ctx, fw, {"subject": {"family_name": RECORD["subject"]["family_name"]}})


@case(
    "valid-forward-opened-after-originator-exp",
    VALID,
    """XA-NPOL's envelope lives one day and expired a day ago; XB-PROS forwarded it an hour
    before that, for seven days. XC-CUST opens it now: data is forwarded only within the
    originator's exp, but the recipient may open the result later (section 7.2 step 1);
    the lifetime check of the Issuer-signed JWT is replaced by the chain's (section 7.3).""",
)
def _fwd_after_exp(ctx: Ctx) -> Built:
    fw = _forward_chain(
        ctx,
        [Hop(XC, at=timedelta(days=-1, hours=-1))],
        sealed=timedelta(days=-2),
        ttl=timedelta(days=1),
    )
    return _fwd_valid(ctx, fw, FORWARDED_RECORD)


@case(
    "valid-forward-hop-iat-is-now-plus-skew",
    VALID,
    """XB-PROS's clock is ahead: its hop is issued at now + skew, the latest the last hop's
    iat may be ('its iat not after now plus skew', section 7.3).""",
)
def _fwd_iat_bound(ctx: Ctx) -> Built:
    return _fwd_valid(ctx, _one_hop(ctx, at=timedelta(seconds=SKEW)), FORWARDED_RECORD)


@case(
    "valid-forward-hop-now-is-exp-plus-skew-minus-1s",
    VALID,
    """The hop was made two hours ago with a lifetime that ends skew - 1 s before now:
    now = exp + skew - 1 s, the last second in which the last hop is valid ('before its
    exp plus skew', section 7.3).""",
)
def _fwd_exp_bound(ctx: Ctx) -> Built:
    ttl = -ONE_HOP - timedelta(seconds=SKEW - 1)
    return _fwd_valid(ctx, _one_hop(ctx, ttl=ttl), FORWARDED_RECORD)


@case(
    "valid-forward-second-forward-of-same-envelope",
    VALID,
    """XB-PROS forwards the same fields of the same envelope to XC-CUST twice (two hops
    with their own jti). XC-CUST opens the first (previously_opened), then the second:
    the replay key of a forwarded envelope is (last hop iss, last hop jti), not the
    originator's (section 7.3, step 12).""",
)
def _fwd_twice(ctx: Ctx) -> Built:
    first = _forward_chain(ctx, [Hop(XC, at=timedelta(hours=-3))], tag="first/")
    second = _one_hop(ctx)
    if first.direct != second.direct:
        raise AssertionError("both forwards must start from the same envelope")
    return replace(_fwd_valid(ctx, second, FORWARDED_RECORD), previously_opened=(first.envelope,))


# -- tampering with the presentation after binding (section 7.3, last hop) ---------------


@case(
    "invalid-forward-disclosure-added",
    VERIFICATION_FAILED,
    """XB-PROS forwarded 'offence' only; the 'subject' disclosure XB-PROS received (genuine,
    referenced by the originator's _sd) is appended after binding. The KB-JWT is
    unchanged: sd_hash no longer matches the presentation and 'disclosed' does not list the
    extra disclosure (section 7.3: 'a disclosure added, removed or reordered after
    binding').""",
)
def _fwd_added(ctx: Ctx) -> Built:
    fw = _one_hop(ctx, disclose=("offence",))
    parts = _presented(ctx, fw)
    _, received, _ = sdjwt.split(fw.opened[0].presentation)
    extra = [d for d in received if _name_of(d) == "subject"]
    return _with_disclosures(ctx, fw, [*parts.disclosures, *extra])


@case(
    "invalid-forward-disclosure-removed",
    VERIFICATION_FAILED,
    """XB-PROS forwarded 'subject' and 'offence'; the 'offence' disclosure is removed after
    binding, the KB-JWT unchanged: sd_hash does not match (section 7.3).""",
)
def _fwd_removed(ctx: Ctx) -> Built:
    fw = _one_hop(ctx)
    kept = [d for d in _presented(ctx, fw).disclosures if _name_of(d) != "offence"]
    return _with_disclosures(ctx, fw, kept)


@case(
    "invalid-forward-disclosures-reordered",
    VERIFICATION_FAILED,
    """The two forwarded disclosures are swapped after binding, the KB-JWT unchanged: the
    set of digests is the one 'disclosed' lists, but sd_hash covers the presentation as
    received, order included (section 7.3; RFC 9901 section 4.3.1).""",
)
def _fwd_reordered(ctx: Ctx) -> Built:
    fw = _one_hop(ctx)
    return _with_disclosures(ctx, fw, list(reversed(_presented(ctx, fw).disclosures)))


@case(
    "invalid-forward-kb-jwt-stripped",
    VERIFICATION_FAILED,
    """The KB-JWT is removed: XC-CUST receives '<Issuer-signed JWT>~<D1>~<D2>~', a direct
    envelope of XA-NPOL, whose aud is [XB-PROS]: it is not addressed to XC-CUST (section 6.2
    step 9, verification_failed; section 7.3 applies only to an SD-JWT with a KB-JWT).""",
)
def _fwd_stripped(ctx: Ctx) -> Built:
    fw = _one_hop(ctx)
    parts = _presented(ctx, fw)
    return Built(_encrypt_to(ctx, XC, parts.presentation()), recipient=XC)


@case(
    "invalid-forward-wrong-audience",
    VERIFICATION_FAILED,
    """XB-PROS's genuine forward to XC-CUST, decrypted by XC-CUST and encrypted unchanged to
    XD-FIU, which opens it: the last hop's aud is XC-CUST, not the recipient (section 7.3
    'aud is the recipient').""",
)
def _fwd_wrong_aud(ctx: Ctx) -> Built:
    parts = _presented(ctx, _one_hop(ctx))
    return Built(_encrypt_to(ctx, XD, parts.token()), recipient=XD)


@case(
    "invalid-forward-sealed-to-other-key",
    VERIFICATION_FAILED,
    """The hop's sealed_to names XD-FIU's encryption key (re-signed by XB-PROS) while the
    envelope is encrypted to XC-CUST, the hop's aud: 'its key is in sealed_to' fails
    (section 7.3, last hop; surreptitious forwarding).""",
)
def _fwd_sealed_to(ctx: Ctx) -> Built:
    return _resigned(ctx, _one_hop(ctx), sealed_to=[ctx.enc_key(XD).kid])


# -- the hop's signature and signer (section 7.3 rule 1) --------------------------------


@case(
    "invalid-forward-hop-signed-by-other-key",
    VERIFICATION_FAILED,
    """The hop (iss XB-PROS, claims unchanged) is signed by XD-FIU's registered signing key,
    not by the key the originator's cnf binds: rule 1 of section 7.3 ('its signature
    verifies with the key the previous link bound').""",
)
def _fwd_other_key(ctx: Ctx) -> Built:
    return _resigned(ctx, _one_hop(ctx), signer=XD)


@case(
    "invalid-forward-hop-iss-other-agency",
    VERIFICATION_FAILED,
    """The hop is signed with the bound key (XB-PROS's) but its iss is XD-FIU: rule 1 of
    section 7.3 ('the hop's iss is the current holder', here aud[0] of the Issuer-signed
    JWT, XB-PROS).""",
)
def _fwd_other_iss(ctx: Ctx) -> Built:
    return _resigned(ctx, _one_hop(ctx), signer=XB, iss=XD)


@case(
    "invalid-forward-hop-modified-after-signing",
    VERIFICATION_FAILED,
    """The hop's exp is moved a day later after XB-PROS signed it (payload re-encoded, the
    signature kept): the signature does not verify (section 7.3 rule 1).""",
)
def _fwd_modified(ctx: Ctx) -> Built:
    fw = _one_hop(ctx)
    parts = _presented(ctx, fw)
    claims = parts.claims
    claims["exp"] += 86400
    header_b64, _, signature_b64 = parts.kb_jwt.split(".")
    parts.kb_jwt = f"{header_b64}.{lib.b64json(claims)}.{signature_b64}"
    return Built(_encrypt_to(ctx, XC, parts.token()), recipient=XC)


@case(
    "invalid-forward-hop-key-revoked",
    "key_revoked",
    """The registry says XB-PROS's signing key (the bound one) was revoked an hour before the
    hop's iat, after the envelope was sealed: the hop's key is looked up for its iss at the
    hop's iat (section 7.3 rule 1, 'or the registry error'; section 4.3).""",
)
def _fwd_key_revoked(ctx: Ctx) -> Built:
    kid = ctx.keys(XB).signing_key.kid
    registry = ctx.registry(
        lambda doc: doc.with_revoked_key(
            XB, kid, at=NOW + ONE_HOP - timedelta(hours=1), reason="key compromise"
        )
    )
    return replace(Built(_one_hop(ctx).envelope, recipient=XC), registry=registry)


@case(
    "invalid-forward-forwarder-suspended",
    "agency_suspended",
    """The registry says XB-PROS, the forwarder, was suspended half an hour before its hop
    (after the envelope was sealed to it): its key is looked up for iss at the hop's iat,
    and a suspended agency's keys do not verify (section 7.3 rule 1, 'or the registry
    error'; section 6.2 step 7; section 4.3).""",
)
def _fwd_forwarder_suspended(ctx: Ctx) -> Built:
    registry = ctx.registry(
        lambda doc: doc.with_suspension(
            XB, at=NOW + ONE_HOP - timedelta(minutes=30), reason="under review"
        )
    )
    return Built(_one_hop(ctx).envelope, recipient=XC, registry=registry)


@case(
    "invalid-forward-first-hop-binds-no-key",
    VERIFICATION_FAILED,
    """A -> B -> C -> D where XB-PROS's hop to XC-CUST is re-signed without cnf (and XC-CUST's
    hop re-signed with that hop in prev): XC-CUST holds no bound key, so its hop cannot be
    verified (section 7.3 rule 1, 'the key the previous link bound').""",
)
def _fwd_no_binding(ctx: Ctx) -> Built:
    fw = _forward_chain(ctx, [Hop(XC, at=timedelta(hours=-3)), Hop(XD, at=timedelta(hours=-1))])
    parts = _presented(ctx, fw)
    first = lib.changed(lib.hop_claims(parts.claims["prev"]), cnf=None)
    prev = lib.sign_hop(first, ctx.keys(XB).signing_key)
    return _resigned(ctx, fw, prev=prev)


# -- hop times (section 7.3 rule 2, and the last hop) ------------------------------------


@case(
    "invalid-forward-hop-exp-before-iat",
    MALFORMED,
    """The hop's exp is an hour before its iat (re-signed by XB-PROS): 'exp after iat'
    (section 7.3 rule 2, malformed).""",
)
def _fwd_exp_before(ctx: Ctx) -> Built:
    iat = to_unix(NOW + ONE_HOP)
    return _resigned(ctx, _one_hop(ctx), exp=iat - 3600)


@case(
    "invalid-forward-hop-lifetime-over-90-days",
    MALFORMED,
    """The hop's exp is 90 days and 1 s after its iat (re-signed by XB-PROS): 'at most 90
    days later' (section 7.3 rule 2, malformed).""",
)
def _fwd_over_90(ctx: Ctx) -> Built:
    iat = to_unix(NOW + ONE_HOP)
    return _resigned(ctx, _one_hop(ctx), exp=iat + 90 * 86400 + 1)


@case(
    "invalid-forward-hop-before-previous-iat",
    VERIFICATION_FAILED,
    """The hop's iat is skew + 1 s before the originator's iat (re-signed by XB-PROS, exp
    seven days later): 'iat not before the previous link's iat minus skew' (section 7.3
    rule 2, verification_failed): data cannot be forwarded before it arrived.""",
)
def _fwd_before_previous(ctx: Ctx) -> Built:
    iat = to_unix(NOW + FORWARD_SEALED) - SKEW - 1
    return _resigned(ctx, _one_hop(ctx), iat=iat, exp=iat + 7 * 86400)


@case(
    "invalid-forward-second-hop-before-first",
    VERIFICATION_FAILED,
    """A -> B -> C -> D: XB-PROS forwarded to XC-CUST three hours before now; XC-CUST's hop to
    XD-FIU (its consent grant signed ten minutes after the seal) is re-signed with iat =
    the first hop's iat - skew - 1 s (exp seven days later): 'iat not before the previous
    link's iat minus skew' (section 7.3 rule 2, verification_failed).""",
)
def _fwd_second_before_first(ctx: Ctx) -> Built:
    first_at = timedelta(hours=-3)
    fw = _forward_chain(
        ctx,
        [
            Hop(XC, at=first_at),
            Hop(XD, at=timedelta(hours=-1), consent_at=FORWARD_SEALED + timedelta(minutes=10)),
        ],
    )
    iat = to_unix(NOW + first_at) - SKEW - 1
    return _resigned(ctx, fw, iat=iat, exp=iat + 7 * 86400)


@case(
    "invalid-forward-hop-after-originator-exp",
    "expired",
    """XA-NPOL's envelope lived one day and expired a day ago. The hop XB-PROS made within
    that lifetime is re-signed with iat = the originator's exp + skew (exp seven days
    later): 'before ... the originator's exp, plus skew' (section 7.3 rule 2, expired).
    Data is forwarded only while the originator's envelope is valid (section 7.2 step 1).""",
)
def _fwd_after_originator(ctx: Ctx) -> Built:
    fw = _forward_chain(
        ctx,
        [Hop(XC, at=timedelta(days=-1, hours=-1))],
        sealed=timedelta(days=-2),
        ttl=timedelta(days=1),
    )
    iat = to_unix(NOW - timedelta(days=1)) + SKEW
    return _resigned(ctx, fw, iat=iat, exp=iat + 7 * 86400)


@case(
    "invalid-forward-second-hop-after-first-expired",
    "expired",
    """A -> B -> C -> D: XB-PROS's hop to XC-CUST lives one hour and ends two hours before
    now; XC-CUST opened it in time, and a second hop to XD-FIU is made by hand an hour
    before now, after that hop's exp (forward() refuses it: section 7.2 step 1; the
    originator's envelope is still valid). XD-FIU rejects the second hop: 'before both the
    previous link's exp and the originator's exp, plus skew' (section 7.3 rule 2,
    expired).""",
)
def _fwd_after_previous_exp(ctx: Ctx) -> Built:
    fw = _forward_chain(ctx, [Hop(XC, at=timedelta(hours=-3), ttl=timedelta(hours=1))])
    parts = _presented(ctx, fw)
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "xc.sqlite3") as store:
        at_c = open_envelope(
            fw.envelope,
            recipient=ctx.net.keysets[XC],
            registry=ctx.net.registry,
            replay=ReplayCache(store),
            purpose=PURPOSE,
            actor=ACTOR,
            recorder=None,
            now=NOW - timedelta(hours=2, minutes=30),
        )
    at = NOW - timedelta(hours=1)
    grant = _grant(ctx, at_c, holder=XC, to=XD, at=at - CONSENT_BEFORE, label="grant/2")
    presentation = parts.presentation()
    kb_jwt = _hand_hop(
        ctx,
        ctx.net,
        presentation,
        iss=XC,
        aud=XD,
        at=at,
        label="hop/2",
        consent=grant,
        prev=parts.kb_jwt,
    )
    return Built(_encrypt_to(ctx, XD, presentation + kb_jwt), recipient=XD)


@case(
    "invalid-forward-hop-expired",
    "expired",
    """The hop was made two hours ago with a lifetime that ends skew before now: now = exp +
    skew, the first second in which the last hop is expired ('the time is before its exp
    plus skew', section 7.3). The originator's envelope is still valid.""",
)
def _fwd_expired(ctx: Ctx) -> Built:
    ttl = -ONE_HOP - timedelta(seconds=SKEW)
    return Built(_one_hop(ctx, ttl=ttl).envelope, recipient=XC)


@case(
    "invalid-forward-hop-iat-in-future",
    "not_yet_valid",
    """XB-PROS's clock is ahead: its hop is issued at now + skew + 1 s ('its iat not after
    now plus skew', section 7.3, not_yet_valid).""",
)
def _fwd_future(ctx: Ctx) -> Built:
    return Built(_one_hop(ctx, at=timedelta(seconds=SKEW + 1)).envelope, recipient=XC)


# -- the hop's shape (section 7.2 step 3, section 7.3) ----------------------------------


@case(
    "invalid-forward-hop-unknown-claim",
    MALFORMED,
    """The hop's claims have an extra member 'note' (re-signed by XB-PROS): the KB-JWT payload
    has exactly the members of section 7.2 step 3 ('unknown members MUST be rejected').""",
)
def _fwd_unknown_claim(ctx: Ctx) -> Built:
    return _resigned(ctx, _one_hop(ctx), note="forwarded on request")


@case(
    "invalid-forward-hop-typ-jwt",
    MALFORMED,
    """The hop's header says typ 'JWT' (signed by XB-PROS's bound key): the KB-JWT header is
    exactly {"alg":"Ed25519","kid":...,"typ":"kb+jwt"} (section 7.2 step 3; RFC 9901
    section 4.3).""",
)
def _fwd_typ(ctx: Ctx) -> Built:
    fw = _one_hop(ctx)
    parts = _presented(ctx, fw)
    parts.kb_jwt = lib.sign_hop(parts.claims, ctx.keys(XB).signing_key, typ="JWT")
    return Built(_encrypt_to(ctx, XC, parts.token()), recipient=XC)


@case(
    "invalid-forward-disclosed-not-sorted",
    MALFORMED,
    """The hop's 'disclosed' lists the two digests in descending order (re-signed by
    XB-PROS): 'disclosed is sorted without repeats' (section 7.3 rule 3, malformed).""",
)
def _fwd_unsorted(ctx: Ctx) -> Built:
    fw = _one_hop(ctx)
    disclosed = _presented(ctx, fw).claims["disclosed"]
    return _resigned(ctx, fw, disclosed=sorted(disclosed, reverse=True))


@case(
    "invalid-forward-disclosed-repeated",
    MALFORMED,
    """The hop's 'disclosed' lists one of its two digests twice (sorted, re-signed by
    XB-PROS): 'disclosed is sorted without repeats' (section 7.3 rule 3, malformed).""",
)
def _fwd_repeated(ctx: Ctx) -> Built:
    fw = _one_hop(ctx)
    disclosed = _presented(ctx, fw).claims["disclosed"]
    return _resigned(ctx, fw, disclosed=sorted([*disclosed, disclosed[0]]))


@case(
    "invalid-forward-five-hops",
    MALFORMED,
    """The chain of valid-forward-four-hops (XB-PROS -> XE-AG01 -> XE-AG02 -> XE-AG03 ->
    XC-CUST), then a fifth hop XC-CUST -> XD-FIU made by hand as forward() would make it
    (forward() refuses: at most 4 hops, section 7.2 step 1), with its consent grant and
    the fourth hop in prev: 'more than 4: malformed' (section 7.3).""",
)
def _fwd_five(ctx: Ctx) -> Built:
    big = big_network()
    fw = _four_hops(ctx)
    parts = _presented(ctx, fw)
    at = NOW - timedelta(hours=1)
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "xc.sqlite3") as store:
        at_c = open_envelope(
            fw.envelope,
            recipient=big.keysets[XC],
            registry=big.registry,
            replay=ReplayCache(store),
            purpose=PURPOSE,
            actor=ACTOR,
            recorder=None,
            now=at - OPENED_BEFORE,
        )
    grant = _grant(ctx, at_c, holder=XC, to=XD, at=at - CONSENT_BEFORE, label="grant/5", net=big)
    presentation = parts.presentation()
    kb_jwt = _hand_hop(
        ctx,
        big,
        presentation,
        iss=XC,
        aud=XD,
        at=at,
        label="hop/5",
        consent=grant,
        prev=parts.kb_jwt,
    )
    return Built(
        _encrypt_to(ctx, XD, presentation + kb_jwt, big), recipient=XD, registry=big.signed
    )


# -- narrowing (section 7.3 rule 3) ---------------------------------------------------------


@case(
    "invalid-forward-widening-second-hop",
    VERIFICATION_FAILED,
    """A -> B -> C -> D: XB-PROS passes on 'offence' only; XC-CUST forwards to XD-FIU and
    (re-signing its own hop, with a matching sd_hash) adds the 'subject' disclosure that
    XB-PROS received but never passed on: the second hop's 'disclosed' is not a subset of
    the first's ('a hop cannot pass on what it did not receive', section 7.3 rule 3).""",
)
def _fwd_widening(ctx: Ctx) -> Built:
    fw = _forward_chain(
        ctx,
        [
            Hop(XC, at=timedelta(hours=-3), disclose=("offence",)),
            Hop(XD, at=timedelta(hours=-1), disclose=("offence",)),
        ],
    )
    _, received_by_b, _ = sdjwt.split(fw.opened[0].presentation)
    wider = [d for d in received_by_b if _name_of(d) in ("subject", "offence")]
    parts = _presented(ctx, fw)
    parts.disclosures = wider
    claims = lib.changed(
        parts.claims,
        sd_hash=sdjwt.sd_hash(parts.presentation()),
        disclosed=sorted(sdjwt.digest_of(d) for d in wider),
    )
    parts.kb_jwt = lib.sign_hop(claims, ctx.keys(XC).signing_key)
    return Built(_encrypt_to(ctx, XD, parts.token()), recipient=XD)


# -- the recipient of a hop (section 7.3 rule 4) ----------------------------------------------


@case(
    "invalid-forward-recipient-suspended",
    "agency_suspended",
    """XC-CUST was suspended half an hour before XB-PROS forwarded to it (after the envelope
    was sealed; XB-PROS's registry did not show it yet). The registry of the vector records
    the suspension: 'aud is not suspended at the hop's iat' (section 7.3 rule 4).""",
)
def _fwd_suspended(ctx: Ctx) -> Built:
    registry = ctx.registry(
        lambda doc: doc.with_suspension(
            XC, at=NOW + ONE_HOP - timedelta(minutes=30), reason="under review"
        )
    )
    return Built(_one_hop(ctx).envelope, recipient=XC, registry=registry)


# -- the conditions and the consent (section 7.3 rule 5) -------------------------------------


@case(
    "invalid-forward-consent-missing",
    POLICY_VIOLATION,
    """The conditions are with_prior_authorisation and the hop carries no 'consent' (removed,
    re-signed by XB-PROS): section 7.3 rule 5 requires the originator's consent grant
    (Second Additional Protocol Art. 14(10)).""",
)
def _fwd_no_consent(ctx: Ctx) -> Built:
    return _resigned(ctx, _one_hop(ctx), consent=None)


def _swapped_grant(ctx: Ctx, *, other_envelope: bool = False, **grant: Any) -> Built:
    """The standard hop with its grant replaced by another (re-signed by XB-PROS)."""
    fw = _one_hop(ctx)
    bound = fw.opened[0]
    if other_envelope:
        other = ctx.seal(offset=FORWARD_SEALED, rand=ctx.random("other"))
        with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "b.sqlite3") as store:
            bound = open_envelope(
                other,
                recipient=ctx.keys(XB),
                registry=ctx.net.registry,
                replay=ReplayCache(store),
                purpose=PURPOSE,
                actor=ACTOR,
                recorder=None,
                now=NOW + ONE_HOP - OPENED_BEFORE,
            )
    settings: dict[str, Any] = {
        "holder": XB,
        "to": XC,
        "at": NOW + ONE_HOP - CONSENT_BEFORE,
        "label": "other-grant",
    }
    settings.update(grant)
    return _resigned(ctx, fw, consent=_grant(ctx, bound, **settings))


@case(
    "invalid-forward-consent-other-envelope",
    POLICY_VIOLATION,
    """The hop carries a genuine consent grant of XA-NPOL to XB-PROS for onward transfer to
    XC-CUST, but of another envelope (its digest and jti): rule 5 requires a grant 'for this
    envelope (envelope_digest, envelope_jti)' (section 7.3).""",
)
def _fwd_consent_envelope(ctx: Ctx) -> Built:
    return _swapped_grant(ctx, other_envelope=True)


@case(
    "invalid-forward-consent-other-recipient",
    POLICY_VIOLATION,
    """The hop to XC-CUST carries XA-NPOL's grant for this envelope and holder XB-PROS, but
    for onward transfer to XD-FIU: rule 5 requires 'onward recipient aud' (section 7.3).""",
)
def _fwd_consent_recipient(ctx: Ctx) -> Built:
    return _swapped_grant(ctx, to=XD)


@case(
    "invalid-forward-consent-other-holder",
    POLICY_VIOLATION,
    """The hop carries XA-NPOL's grant for this envelope and onward recipient XC-CUST, but
    for holder XD-FIU, not XB-PROS: rule 5 requires 'holder iss' (section 7.3).""",
)
def _fwd_consent_holder(ctx: Ctx) -> Built:
    return _swapped_grant(ctx, holder=XD)


@case(
    "invalid-forward-consent-other-originator",
    POLICY_VIOLATION,
    """The hop carries a grant for this envelope, holder XB-PROS and onward recipient XC-CUST,
    correctly signed, but by XD-FIU: rule 5 requires a grant 'issued by the originator'
    (section 7.3; section 10).""",
)
def _fwd_consent_originator(ctx: Ctx) -> Built:
    return _swapped_grant(ctx, originator=XD)


@case(
    "invalid-forward-consent-expired",
    POLICY_VIOLATION,
    """The hop carries XA-NPOL's grant for exactly this transfer, but it was valid for one
    hour from ten minutes after the envelope was sealed, and expired more than an hour
    before the hop: rule 5 requires a grant 'that verifies at the hop's iat' (section 7.3;
    section 10).""",
)
def _fwd_consent_expired(ctx: Ctx) -> Built:
    return _swapped_grant(
        ctx, at=NOW + FORWARD_SEALED + timedelta(minutes=10), valid_for=timedelta(hours=1)
    )


@case(
    "invalid-forward-consent-purpose-scope",
    POLICY_VIOLATION,
    """The hop carries XA-NPOL's grant for this envelope and holder XB-PROS, but with scope
    'purpose' (to use the data for prosecution), not 'onward_transfer': rule 5 requires
    'scope onward_transfer and onward recipient aud' (section 7.3).""",
)
def _fwd_consent_scope(ctx: Ctx) -> Built:
    return _swapped_grant(ctx, purpose="prosecution")


@case(
    "invalid-forward-conditions-forbidden",
    VERIFICATION_FAILED,
    """XA-NPOL sealed to XB-PROS alone under onward_transfer forbidden, so its token has no
    cnf (section 7.1). XB-PROS forwards anyway, by hand: a KB-JWT signed by its signing key,
    in the form of section 7.2 step 3. An SD-JWT with a KB-JWT whose Issuer-signed JWT has
    no cnf MUST be rejected, verification_failed (section 7.3), before rule 5 ('forbidden
    rejects every hop') is reached.""",
)
def _fwd_forbidden(ctx: Ctx) -> Built:
    envelope = ctx.seal(
        offset=FORWARD_SEALED,
        handling=HandlingConditions(onward_transfer="forbidden"),
        rand=ctx.random("seal"),
    )
    token = lib.decrypt(lib.loads(envelope), ctx.keys(XB)).decode("ascii")
    issuer_jwt, disclosures, _ = sdjwt.split(token)
    presentation = lib.join_sd_jwt(issuer_jwt, [d for d in disclosures if _name_of(d) in FORWARDED])
    kb_jwt = _hand_hop(
        ctx, ctx.net, presentation, iss=XB, aud=XC, at=NOW + ONE_HOP, label="hop/1", bind=False
    )
    return Built(_encrypt_to(ctx, XC, presentation + kb_jwt), recipient=XC)


@case(
    "invalid-forward-conditions-forbidden-despite-cnf",
    POLICY_VIOLATION,
    """XA-NPOL's token says onward_transfer forbidden yet binds XB-PROS's signing key in cnf
    (built by hand: a conforming sender adds no cnf then, section 7.1, but a verifier
    cannot rely on it). XB-PROS forwards 'subject' and 'offence' to XC-CUST by hand with a
    hop in the form of section 7.2 step 3 (no cnf, no consent): 'forbidden rejects every
    hop' (section 7.3 rule 5).""",
)
def _fwd_forbidden_cnf(ctx: Ctx) -> Built:
    rand = ctx.random("seal")
    draft = lib.build_draft(
        ctx.net,
        rand,
        record=RECORD,
        iat=NOW + FORWARD_SEALED,
        handling=HandlingConditions(onward_transfer="forbidden"),
    )
    lib.bind_holder(draft, ctx.net)
    token = draft.token()
    issuer_jwt, disclosures, _ = sdjwt.split(token)
    presentation = lib.join_sd_jwt(issuer_jwt, [d for d in disclosures if _name_of(d) in FORWARDED])
    kb_jwt = _hand_hop(
        ctx, ctx.net, presentation, iss=XB, aud=XC, at=NOW + ONE_HOP, label="hop/1", bind=False
    )
    return Built(_encrypt_to(ctx, XC, presentation + kb_jwt), recipient=XC)


@case(
    "invalid-forward-conditions-not-listed",
    POLICY_VIOLATION,
    """The conditions are allowed_to_listed with onward_allowed_to [XC-CUST]. XB-PROS's hop
    is re-signed to XD-FIU (aud, sealed_to and cnf XD-FIU's) and encrypted to XD-FIU:
    'allowed_to_listed requires aud to be listed' (section 7.3 rule 5).""",
)
def _fwd_not_listed(ctx: Ctx) -> Built:
    fw = _forward_chain(ctx, [Hop(XC, consent=False)], handling=LISTED_XC)
    parts = _presented(ctx, fw)
    claims = lib.changed(
        parts.claims,
        aud=XD,
        sealed_to=[ctx.enc_key(XD).kid],
        cnf=holder_binding(ctx.net.registry.signing_key(XD, at=NOW + ONE_HOP)),
    )
    parts.kb_jwt = lib.sign_hop(claims, ctx.keys(XB).signing_key)
    return Built(_encrypt_to(ctx, XD, parts.token()), recipient=XD)


@case(
    "invalid-forward-envelope-of-several-recipients",
    VERIFICATION_FAILED,
    """XA-NPOL sealed one envelope to XB-PROS and XC-CUST (no cnf: one binding cannot name
    several holders, section 7.1); XB-PROS forwards it to XD-FIU by hand. An SD-JWT with a
    KB-JWT whose Issuer-signed JWT has more than one aud MUST be rejected (section 7.3,
    verification_failed).""",
)
def _fwd_several(ctx: Ctx) -> Built:
    envelope = ctx.seal(offset=FORWARD_SEALED, to=(XB, XC), rand=ctx.random("seal"))
    token = lib.decrypt(lib.loads(envelope), ctx.keys(XB)).decode("ascii")
    issuer_jwt, disclosures, _ = sdjwt.split(token)
    presentation = lib.join_sd_jwt(issuer_jwt, [d for d in disclosures if _name_of(d) in FORWARDED])
    kb_jwt = _hand_hop(ctx, ctx.net, presentation, iss=XB, aud=XD, at=NOW + ONE_HOP, label="hop/1")
    return Built(_encrypt_to(ctx, XD, presentation + kb_jwt), recipient=XD)


# -- replay (section 7.3, step 12) ------------------------------------------------------------


@case(
    "invalid-forward-replay",
    "replay",
    """XC-CUST opens XB-PROS's forward once (previously_opened), then the same envelope
    again: (last hop iss, last hop jti) is already recorded (section 7.3, step 12).""",
)
def _fwd_replay(ctx: Ctx) -> Built:
    envelope = _one_hop(ctx).envelope
    return Built(envelope, recipient=XC, previously_opened=(envelope,))


# =====================================================================================
# Rendering and main
# =====================================================================================


def _keys(net: TestNetwork) -> dict[str, Any]:
    return {a: net.keysets[a].private_jwks(SECRET_KEY_ACCESS) for a in sorted(net.keysets)}


def render(case_: Case) -> bytes:
    """The exact bytes of one vector file."""
    net = network()
    built = case_.build(Ctx(case_.id))
    doc: dict[str, Any] = {
        "id": case_.id,
        "description": case_.description,
        "category": case_.category,
        "now": NOW_TEXT,
        "skew_seconds": built.skew_seconds,
        "authority": net.authority.public.to_jwk(),
        "registry": lib.loads(built.registry or net.signed),
        "keys": _keys(net),
        "recipient": built.recipient,
        "open": built.open.to_json(),
        "previously_opened": [p.decode("utf-8") for p in built.previously_opened],
    }
    try:
        doc["envelope"] = built.envelope.decode("utf-8")
    except UnicodeDecodeError:
        doc["envelope_base64url"] = b64u_encode(built.envelope)
    if case_.expected == VALID:
        if built.claims is None:
            raise ValueError(f"{case_.id}: a valid case must give its claims")
        doc["expected"] = {"result": "valid", "claims": built.claims}
    else:
        doc["expected"] = {"result": "invalid", "error": case_.expected}
    return strictjson.pretty(doc)


def rendered() -> dict[str, bytes]:
    """File name -> exact bytes, for every case."""
    return {f"{c.id}.json": render(c) for c in CASES.values()}


def check_registry_loads() -> None:
    """Fail early if the standard registry does not verify at NOW."""
    net = network()
    TrustRegistry.from_signed(net.signed, net.authority.public, now=NOW)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; fail on drift")
    args = parser.parse_args(argv)
    check_registry_loads()
    return write_or_check(
        rendered(),
        VECTOR_DIR,
        check=args.check,
        name="envelope vectors",
        generator="generate_vectors.py",
    )


if __name__ == "__main__":
    sys.exit(main())
