"""Run every envelope test vector in ``specs/vectors/envelope/`` (format: specs/vectors/README.md).

Each vector is checked with the verifier procedure of the README: load its
registry against the pinned authority, rebuild the recipient's key set, open
the ``previously_opened`` envelopes with a fresh replay cache (each must
succeed), then open ``envelope`` for the purpose, actor and acknowledgements
of its ``open`` member (shipped vocabulary, no consent store) and compare the
verified claims or the error code. Opens are recorded in a
:class:`MemoryRecorder`: a policy refusal of the open (step 11) must be recorded as a
denial, a forwarded envelope's access as ``receive_forward``. Further tests keep the
files in step with their generator and make sure
the hostile-input classes of HOSTILE_INPUTS.md stay covered.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest
from specs.tools import generate_vectors, vectors_lib

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode
from safeshare._jose import jwe
from safeshare.audit.recorder import MemoryRecorder
from safeshare.envelope import OpenedEnvelope, open_envelope
from safeshare.envelope._profile import ENVELOPE_TYP, SD_JWT_TYP
from safeshare.envelope._seal import seal_with_randomness
from safeshare.errors import SafeShareError, error_class_for_code
from safeshare.keys import AgencyKeySet, VerifyKey, public_key_from_jwk
from safeshare.registry import TrustRegistry
from safeshare.storage import ReplayCache, open_store

VECTOR_DIR: Final = Path(__file__).resolve().parents[2] / "specs" / "vectors" / "envelope"
VECTOR_FILES: Final = sorted(VECTOR_DIR.glob("*.json"))

MEMBERS: Final = frozenset(
    {
        "id",
        "description",
        "category",
        "now",
        "skew_seconds",
        "authority",
        "registry",
        "keys",
        "recipient",
        "open",
        "previously_opened",
        "expected",
    }
)
CATEGORY_PREFIX: Final[dict[str, tuple[str, ...]]] = {
    "valid": ("valid-",),
    "jose": ("invalid-jose-",),
    "sd-jwt": ("invalid-sd-jwt-",),
    "protocol": ("invalid-protocol-",),
    "policy": ("valid-policy-", "invalid-policy-"),
    "forward": ("valid-forward-", "invalid-forward-"),
}


def load(path: Path) -> dict[str, Any]:
    vector: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return vector


def envelope_bytes(vector: dict[str, Any]) -> bytes:
    if "envelope" in vector:
        text: str = vector["envelope"]
        return text.encode("utf-8")
    return b64u_decode(vector["envelope_base64url"])


def open_vector(
    vector: dict[str, Any], tmp_path: Path, recorder: MemoryRecorder | None = None
) -> OpenedEnvelope:
    """The verifier procedure of specs/vectors/README.md; raises what open raises."""
    now = datetime.fromisoformat(vector["now"])
    authority = public_key_from_jwk(vector["authority"])
    assert isinstance(authority, VerifyKey)
    registry = TrustRegistry.from_signed(strictjson.dumps(vector["registry"]), authority, now=now)
    keys = AgencyKeySet.from_private_jwks(vector["keys"][vector["recipient"]])
    skew = timedelta(seconds=vector["skew_seconds"])
    how = vector["open"]
    recorder = MemoryRecorder() if recorder is None else recorder
    with open_store(tmp_path / "replay.sqlite3") as store:
        replay = ReplayCache(store)
        for data in [p.encode("utf-8") for p in vector["previously_opened"]] + [
            envelope_bytes(vector)
        ]:
            opened = open_envelope(
                data,
                recipient=keys,
                registry=registry,
                replay=replay,
                purpose=how["purpose"],
                actor=how["actor"],
                acknowledged=how["acknowledged"],
                recorder=recorder,
                now=now,
                skew=skew,
            )
        return opened


@pytest.mark.parametrize("path", VECTOR_FILES, ids=[p.stem for p in VECTOR_FILES])
def test_vector(path: Path, tmp_path: Path) -> None:
    vector = load(path)
    assert vector["id"] == path.stem
    expected = vector["expected"]
    recorder = MemoryRecorder()
    previous = len(vector["previously_opened"])
    forwarded = vector["category"] == "forward"
    # A forwarded envelope's access is recorded as a received forward (section 7.3).
    opened_entry = ("receive_forward" if forwarded else "open", "success")
    if expected["result"] == "valid":
        opened = open_vector(vector, tmp_path, recorder)
        assert opened.verified_claims() == expected["claims"]
        assert opened.recipient == vector["recipient"]
        assert (opened.opened_for, opened.actor) == (
            vector["open"]["purpose"],
            vector["open"]["actor"],
        )
        assert [(e.action, e.outcome) for e in recorder.entries] == [opened_entry] * (previous + 1)
        if forwarded:
            assert opened.provenance, "a forwarded envelope has at least one hop"
            assert opened.provenance[-1].recipient == vector["recipient"]
            assert opened.forwarded_by == opened.provenance[-1].forwarder
    else:
        assert expected["result"] == "invalid"
        with pytest.raises(SafeShareError) as info:
            open_vector(vector, tmp_path, recorder)
        assert info.value.code == expected["error"], (
            f"{vector['id']}: expected {expected['error']!r}, got "
            f"{info.value.code!r} ({type(info.value).__name__}: {info.value})"
        )
        # Only a policy refusal is recorded, as a denial: of the open (section 6.2 step
        # 11) or of an authentic forwarding chain (section 7.3 rule 5); other failures
        # record nothing.
        denied = [("deny", "denied")] if expected["error"] == "policy_violation" else []
        assert [(e.action, e.outcome) for e in recorder.entries] == [opened_entry] * (
            previous
        ) + denied


def test_vector_files_are_well_formed() -> None:
    assert VECTOR_FILES, "no vectors: run python specs/tools/generate_vectors.py"
    for path in VECTOR_FILES:
        vector = load(path)
        envelope_members = {"envelope", "envelope_base64url"} & set(vector)
        assert len(envelope_members) == 1, path.name
        assert set(vector) == MEMBERS | envelope_members, path.name
        assert vector["id"].startswith(CATEGORY_PREFIX[vector["category"]]), path.name
        assert (vector["expected"]["result"] == "valid") == vector["id"].startswith("valid-")
        how = vector["open"]
        assert set(how) == {"purpose", "actor", "acknowledged"}, path.name
        assert isinstance(how["purpose"], str), path.name
        assert how["actor"].strip(), path.name
        assert all(isinstance(text, str) for text in how["acknowledged"]), path.name
        assert vector["recipient"] in vector["keys"], path.name
        assert vector["description"].strip(), path.name


def test_forward_vectors_cite_section_7() -> None:
    forward = [load(p) for p in VECTOR_FILES if load(p)["category"] == "forward"]
    assert sum(v["expected"]["result"] == "valid" for v in forward) >= 5
    assert sum(v["expected"]["result"] == "invalid" for v in forward) >= 20
    for vector in forward:
        assert "section 7." in vector["description"], vector["id"]


def test_generator_reports_no_drift() -> None:
    assert generate_vectors.main(["--check"]) == 0


def test_counts() -> None:
    results = [load(p)["expected"]["result"] for p in VECTOR_FILES]
    assert results.count("valid") >= 8
    assert results.count("invalid") >= 45


def test_every_error_code_is_known() -> None:
    for path in VECTOR_FILES:
        expected = load(path)["expected"]
        if expected["result"] == "invalid":
            assert error_class_for_code(expected["error"]).code == expected["error"]


#: Each class of HOSTILE_INPUTS.md (JOSE, SD-JWT, and the protocol items that
#: apply to one open) -> vector ids (or id prefixes) that must exist.
REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "JOSE: alg none in any letter case": (
        "invalid-jose-recipient-alg-none",
        "invalid-jose-recipient-alg-none-capitalized",
        "invalid-jose-recipient-alg-none-uppercase",
        "invalid-jose-recipient-alg-none-mixed-case",
        "invalid-jose-inner-alg-none-empty-signature",
        "invalid-jose-inner-alg-none-uppercase-signed",
    ),
    "JOSE: empty signature": ("invalid-jose-inner-empty-signature",),
    "JOSE: off-list alg and enc, PBES2": (
        "invalid-jose-recipient-alg-rsa-oaep",
        "invalid-jose-recipient-alg-pbes2",
        "invalid-jose-recipient-alg-ecdh-es-direct",
        "invalid-jose-recipient-alg-a256kw",
        "invalid-jose-enc-a128gcm",
        "invalid-jose-enc-a256cbc-hs512",
        "invalid-jose-inner-alg-eddsa",
    ),
    "JOSE: HMAC with the public key (raw, PEM, DER, JWK)": (
        "invalid-jose-inner-alg-hs256-raw-public-key",
        "invalid-jose-inner-alg-hs256-pem-public-key",
        "invalid-jose-inner-alg-hs256-der-public-key",
        "invalid-jose-inner-alg-hs256-jwk-public-key",
    ),
    "JOSE: kid naming one key while alg names another": (
        "invalid-jose-inner-kid-sender-encryption-key",
    ),
    "JOSE: sign/encrypt confusion": (
        "invalid-jose-unsigned-bare-json-claims",
        "invalid-jose-unsigned-jwt-alg-none",
        "invalid-jose-inner-unregistered-key",
        "invalid-jose-inner-kid-other-agency",
    ),
    "JOSE: X25519 low-order and non-canonical epk": (
        "invalid-jose-epk-low-order-zero",
        "invalid-jose-epk-low-order-one",
        "invalid-jose-epk-non-canonical-p",
        "invalid-jose-epk-non-canonical-top-bit",
    ),
    "JOSE: zip": ("invalid-jose-zip-protected", "invalid-jose-zip-recipient-header"),
    "JOSE: crit": (
        "invalid-jose-crit-unknown-name",
        "invalid-jose-crit-empty-list",
        "invalid-jose-crit-standard-name",
        "invalid-jose-crit-recipient-header",
        "invalid-jose-crit-in-shared-unprotected-header",
    ),
    "JOSE: embedded keys jwk, jku, x5u, x5c": tuple(
        f"invalid-jose-{where}-{member}"
        for where in ("protected", "recipient", "inner")
        for member in ("jwk", "jku", "x5u", "x5c")
    ),
    "JOSE: kid path traversal, SQL, NUL, 10 KB, another agency's key": (
        *(
            f"invalid-jose-{where}-kid-{attack}"
            for where in ("recipient", "inner")
            for attack in ("path-traversal", "sql-metacharacters", "nul", "10kb")
        ),
        "invalid-jose-inner-kid-other-agency",
        "invalid-jose-recipient-kid-unknown",
    ),
    "JOSE: duplicate member names": (
        "invalid-jose-duplicate-member-top-level",
        "invalid-jose-duplicate-member-protected-header",
        "invalid-jose-duplicate-member-recipient-header",
        "invalid-jose-duplicate-member-inner-header",
        "invalid-jose-duplicate-member-inner-payload",
        "invalid-sd-jwt-duplicate-member-in-disclosure",
    ),
    "JOSE: NaN, 1e400, lone surrogates, BOM, non-UTF-8": (
        "invalid-jose-json-nan",
        "invalid-jose-json-1e400",
        "invalid-jose-json-lone-surrogate",
        "invalid-jose-json-bom",
        "invalid-jose-json-non-utf8",
    ),
    "JOSE: non-canonical base64url": (
        "invalid-jose-b64-padding",
        "invalid-jose-b64-plus-slash",
        "invalid-jose-b64-whitespace",
        "invalid-jose-b64-trailing-bits",
        "invalid-sd-jwt-disclosure-b64",
    ),
    "JOSE: size caps": (
        "invalid-jose-oversized-envelope",
        "invalid-jose-oversized-33-recipients",
        "invalid-jose-oversized-depth-40",
        "invalid-sd-jwt-oversized-257-disclosures",
    ),
    "JOSE: tampering": (
        "invalid-jose-tampered-ciphertext",
        "invalid-jose-tampered-tag",
    ),
    "SD-JWT: digest twice, unreferenced, _sd and ... names, array length, name exists": (
        "invalid-sd-jwt-digest-twice",
        "invalid-sd-jwt-unreferenced-disclosure",
        "invalid-sd-jwt-disclosure-name-sd",
        "invalid-sd-jwt-disclosure-name-dots",
        "invalid-sd-jwt-disclosure-array-length-2",
        "invalid-sd-jwt-disclosure-array-length-4",
        "invalid-sd-jwt-claim-name-exists",
    ),
    "SD-JWT: unknown or weak _sd_alg; re-encoded disclosure": (
        "invalid-sd-jwt-sd-alg-sha-512",
        "invalid-sd-jwt-disclosure-re-encoded",
    ),
    "SD-JWT: protocol claims made selectively disclosable": (
        "invalid-sd-jwt-protocol-claim-purpose-disclosable",
        "invalid-sd-jwt-protocol-claim-aud-disclosable",
        "invalid-sd-jwt-protocol-claim-retention-disclosable",
    ),
    "SD-JWT: key binding added": ("invalid-sd-jwt-kb-jwt-appended",),
    "Protocol: surreptitious forwarding": (
        "invalid-protocol-surreptitious-forwarding",
        "invalid-protocol-sealed-to-excludes-decrypting-key",
        "invalid-protocol-audience-mismatch",
    ),
    "Protocol: replay, reused jti with other content": (
        "invalid-protocol-replay",
        "invalid-protocol-replay-reused-jti-different-content",
    ),
    "Protocol: expired, not yet valid, skew at the bounds": (
        "invalid-protocol-expired",
        "invalid-protocol-not-yet-valid",
        "invalid-protocol-lifetime-over-90-days",
        "valid-time-now-is-exp-plus-skew-minus-1s",
        "valid-time-iat-is-now-plus-skew",
    ),
    "Protocol: key validity window, revoked key, suspended agency": (
        "invalid-protocol-key-revoked-before-iat",
        "invalid-protocol-key-not-yet-valid-at-iat",
        "invalid-protocol-sender-suspended",
        "invalid-protocol-unknown-issuer-agency",
        "valid-key-valid-since-iat",
    ),
    "Policy: own, compatible, incompatible and unknown purposes": (
        "valid-policy-own-purpose",
        "valid-policy-compatible-purpose",
        "invalid-policy-incompatible-purpose",
        "invalid-policy-compatibility-not-transitive",
        "invalid-policy-compatibility-not-symmetric",
        "invalid-policy-unknown-purpose",
        "invalid-policy-unknown-envelope-purpose",
        "invalid-protocol-expired-with-incompatible-purpose",
    ),
    "Policy: conditions acknowledged before release": (
        "valid-policy-acknowledgements-given",
        "invalid-policy-acknowledgement-missing",
        "invalid-policy-acknowledgement-none",
        "invalid-policy-acknowledgement-altered",
    ),
    "Forward: valid chains (consent, listed agency, two and four hops, padded, subset)": (
        "valid-forward-one-hop-with-consent",
        "valid-forward-allowed-to-listed",
        "valid-forward-two-hops-with-consent",
        "valid-forward-four-hops",
        "valid-forward-padded",
        "valid-forward-single-field",
        "valid-forward-nested-field",
    ),
    "Forward: presentation changed after binding, key binding stripped": (
        "invalid-forward-disclosure-added",
        "invalid-forward-disclosure-removed",
        "invalid-forward-disclosures-reordered",
        "invalid-forward-kb-jwt-stripped",
    ),
    "Forward: audience, sealed-to key, signer and bound key": (
        "invalid-forward-wrong-audience",
        "invalid-forward-sealed-to-other-key",
        "invalid-forward-hop-signed-by-other-key",
        "invalid-forward-hop-iss-other-agency",
        "invalid-forward-hop-modified-after-signing",
        "invalid-forward-first-hop-binds-no-key",
    ),
    "Forward: conditions and consent": (
        "invalid-forward-consent-missing",
        "invalid-forward-consent-other-envelope",
        "invalid-forward-consent-other-recipient",
        "invalid-forward-consent-other-originator",
        "invalid-forward-consent-expired",
        "invalid-forward-conditions-forbidden",
        "invalid-forward-conditions-not-listed",
        "invalid-forward-envelope-of-several-recipients",
    ),
    "Forward: chain shape, narrowing and hop times": (
        "invalid-forward-widening-second-hop",
        "invalid-forward-disclosed-not-sorted",
        "invalid-forward-five-hops",
        "invalid-forward-hop-exp-before-iat",
        "invalid-forward-hop-after-originator-exp",
        "invalid-forward-hop-expired",
        "invalid-forward-hop-iat-in-future",
        "invalid-forward-hop-unknown-claim",
        "invalid-forward-hop-typ-jwt",
        "invalid-forward-recipient-suspended",
    ),
    "Protocol: claims (ver, msg_type, unknown claim, handling)": (
        "invalid-protocol-ver-2",
        "invalid-protocol-unknown-msg-type",
        "invalid-protocol-unknown-claim",
        "invalid-protocol-handling-unknown-member",
    ),
}


@pytest.mark.parametrize("hostile_class", sorted(REQUIRED))
def test_hostile_class_is_covered(hostile_class: str) -> None:
    ids = {p.stem for p in VECTOR_FILES}
    missing = [
        prefix for prefix in REQUIRED[hostile_class] if not any(i.startswith(prefix) for i in ids)
    ]
    assert not missing, f"{hostile_class}: no vector for {missing}"


# -- the generator's hand-built envelopes are what the library would build ------------------


def test_hand_built_draft_matches_seal() -> None:
    """``build_draft`` + ``encrypt_draft`` with one randomness stream equals ``seal``.

    The hostile cases change such drafts; this shows that, unchanged, they are
    exactly what a conforming sender produces.
    """
    net = generate_vectors.network()
    label = "test/hand-built"
    sealed = seal_with_randomness(
        generate_vectors.RECORD,
        sender=net.keysets[vectors_lib.XA],
        to=[vectors_lib.XB, vectors_lib.XC],
        registry=net.registry,
        purpose="criminal_investigation",
        legal_basis="BUDAPEST-2AP.Art7",
        case_ref="XA-2026-000123",
        message_type="spontaneous_information",
        handling=None,
        ttl=timedelta(days=7),
        now=vectors_lib.NOW,
        randbytes=vectors_lib.DeterministicRandom(label),
    )
    rand = vectors_lib.DeterministicRandom(label)
    draft = vectors_lib.build_draft(
        net, rand, record=generate_vectors.RECORD, to=(vectors_lib.XB, vectors_lib.XC)
    )
    assert vectors_lib.dumps(vectors_lib.encrypt_draft(draft, rand)) == sealed


def test_generator_jwe_matches_library() -> None:
    """The generator's own JWE encryption equals ``jwe.encrypt`` for the profile."""
    net = generate_vectors.network()
    keys = [net.keysets[a].decryption_key.public for a in (vectors_lib.XB, vectors_lib.XD)]
    plaintext = b"header.payload.signature~"
    ours = vectors_lib.encrypt(plaintext, keys, vectors_lib.DeterministicRandom("test/jwe"))
    theirs = jwe.encrypt(
        plaintext,
        keys,
        typ=ENVELOPE_TYP,
        cty=SD_JWT_TYP,
        randbytes=vectors_lib.DeterministicRandom("test/jwe"),
    )
    assert ours == theirs
    assert vectors_lib.decrypt(ours, net.keysets[vectors_lib.XD]) == plaintext


def test_randomness_is_per_label() -> None:
    first = vectors_lib.DeterministicRandom("a")
    assert first(10) + first(30) == vectors_lib.DeterministicRandom("a")(40)
    assert vectors_lib.DeterministicRandom("a")(32) != vectors_lib.DeterministicRandom("b")(32)


def test_hand_made_hop_matches_forward() -> None:
    """The generator's hand-made KB-JWT (for hops ``forward`` refuses to make) is, for a
    hop ``forward`` does make, exactly what ``forward_with_randomness`` signs."""
    ctx = generate_vectors.Ctx("test/hand-made-hop")
    fw = generate_vectors._one_hop(ctx)
    parts = generate_vectors._presented(ctx, fw)
    genuine = parts.claims
    hand = generate_vectors._hand_hop(
        ctx,
        ctx.net,
        parts.presentation(),
        iss=vectors_lib.XB,
        aud=vectors_lib.XC,
        at=vectors_lib.NOW + generate_vectors.ONE_HOP,
        label="hop/1",
        consent=genuine["consent"],
    )
    assert hand == parts.kb_jwt
