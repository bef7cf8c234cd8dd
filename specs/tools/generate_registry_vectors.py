"""Write the registry test vectors in ``specs/vectors/registry/`` (one JSON file per case).

Usage: ``python specs/tools/generate_registry_vectors.py [--check]``. With
``--check`` it writes nothing and exits 1, listing every file that differs,
is missing or should not be there. The format is described in
``specs/safeshare-v1.md`` section 14.6.2 (and ``specs/vectors/README.md``).

Every vector is a signed registry (a flattened JWS object), the pinned
authority's public JWK and the verifier's clock. The registry is that of the
envelope vectors (``safeshare._testnet.build(NOW, seed=b"safeshare-vectors-v1")``);
hostile cases change one thing and are signed again by the same authority
unless the case is about the signature. Before writing anything every case is
run through ``TrustRegistry.from_signed``, which must give the expected
result. Nothing here reads the clock or the OS random generator (Ed25519
signatures are deterministic); output is ``strictjson.pretty``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:  # run as a script: make ``specs.tools`` importable
    sys.path.insert(0, str(_ROOT))

from safeshare import _testnet  # noqa: E402
from safeshare._internal import strictjson  # noqa: E402
from safeshare._internal.b64 import b64u_decode, b64u_encode  # noqa: E402
from safeshare._jose import jws  # noqa: E402
from safeshare.errors import SafeShareError  # noqa: E402
from safeshare.keys import SigningKey, VerifyKey, public_key_from_jwk  # noqa: E402
from safeshare.registry import REGISTRY_TYP, TrustRegistry  # noqa: E402
from specs.tools._files import write_or_check  # noqa: E402

VECTOR_DIR: Final = _ROOT / "specs" / "vectors" / "registry"
NOW: Final = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
NOW_TEXT: Final = "2026-11-29T12:00:00Z"
SEED: Final = b"safeshare-vectors-v1"

NETWORK: Final = _testnet.build(NOW, seed=SEED)
AUTHORITY: Final = NETWORK.authority
PAYLOAD: Final[dict[str, Any]] = json.loads(
    b64u_decode(json.loads(NETWORK.signed)["payload"]).decode("utf-8")
)


def derived_key(label: str) -> SigningKey:
    """A key no registry lists: ``SHA-256("safeshare-vectors-v1/key" || 0x00 || label)``."""
    return SigningKey.from_private_bytes(
        hashlib.sha256(SEED + b"/key\x00" + label.encode("utf-8")).digest()
    )


def signed(
    payload: dict[str, Any] | bytes,
    key: SigningKey = AUTHORITY,
    header: dict[str, Any] | None = None,
) -> dict[str, str]:
    data = payload if isinstance(payload, bytes) else strictjson.dumps(payload)
    return jws.sign_flattened({"typ": REGISTRY_TYP} if header is None else header, data, key)


def changed(**members: Any) -> dict[str, Any]:
    return {**PAYLOAD, **members}


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _bad_signature() -> dict[str, str]:
    jwsobj = signed(PAYLOAD)
    sig = bytearray(b64u_decode(jwsobj["signature"]))
    sig[0] ^= 0x01
    return {**jwsobj, "signature": b64u_encode(bytes(sig))}


def _alg_none() -> dict[str, str]:
    header = {"alg": "none", "kid": AUTHORITY.kid, "typ": REGISTRY_TYP}
    return {
        "payload": b64u_encode(strictjson.dumps(PAYLOAD)),
        "protected": b64u_encode(strictjson.dumps(header)),
        "signature": "",
    }


def _rogue_same_kid() -> dict[str, str]:
    rogue = derived_key("rogue-authority")
    jwsobj = signed(PAYLOAD, rogue, {"typ": REGISTRY_TYP, "kid": AUTHORITY.kid})
    return jwsobj


def _duplicate_member() -> bytes:
    text = strictjson.dumps(PAYLOAD).decode("utf-8")
    assert text.startswith("{")
    return ('{"serial":999,' + text[1:]).encode("utf-8")


def _duplicate_agency() -> dict[str, Any]:
    agencies = list(PAYLOAD["agencies"])
    return changed(agencies=[*agencies, agencies[0]])


@dataclass(frozen=True)
class Case:
    id: str
    description: str
    registry: Callable[[], dict[str, str]]
    error: str | None = None
    now: str = NOW_TEXT

    def to_json(self) -> dict[str, Any]:
        registry = self.registry()
        expected: dict[str, Any]
        if self.error is None:
            expected = {
                "result": "valid",
                "document": json.loads(b64u_decode(registry["payload"]).decode("utf-8")),
            }
        else:
            expected = {"result": "invalid", "error": self.error}
        return {
            "id": self.id,
            "description": self.description,
            "now": self.now,
            "authority": AUTHORITY.public.to_jwk(),
            "registry": registry,
            "expected": expected,
        }


CASES: Final[tuple[Case, ...]] = (
    Case(
        "valid-registry",
        "The registry of the envelope vectors, issued at now, valid 30 days (section 4.1).",
        lambda: signed(PAYLOAD),
    ),
    Case(
        "valid-registry-at-skew-limit",
        "Issued 5 minutes after now: within the default registry clock skew.",
        lambda: signed(changed(issued_at=_iso(NOW + timedelta(minutes=5)))),
    ),
    Case(
        "invalid-registry-bad-signature",
        "One bit of the Ed25519 signature is flipped: the JWS does not verify.",
        _bad_signature,
        "verification_failed",
    ),
    Case(
        "invalid-registry-expired",
        "expires_at is an hour before now: an expired registry is refused.",
        lambda: signed(
            changed(
                issued_at=_iso(NOW - timedelta(days=31)),
                expires_at=_iso(NOW - timedelta(hours=1)),
            )
        ),
        "expired",
    ),
    Case(
        "invalid-registry-expired-at-now",
        "expires_at equals now: the validity window is half-open, so it has expired.",
        lambda: signed(changed(issued_at=_iso(NOW - timedelta(days=30)), expires_at=NOW_TEXT)),
        "expired",
    ),
    Case(
        "invalid-registry-not-yet-valid",
        "issued_at is a day after now, beyond the clock skew.",
        lambda: signed(
            changed(
                issued_at=_iso(NOW + timedelta(days=1)),
                expires_at=_iso(NOW + timedelta(days=31)),
            )
        ),
        "not_yet_valid",
    ),
    Case(
        "invalid-registry-unknown-member",
        "The document has a member the registry format does not define.",
        lambda: signed(changed(unexpected="x")),
        "malformed",
    ),
    Case(
        "invalid-registry-duplicate-json-member",
        "The signed payload repeats the member serial: duplicate JSON members are refused.",
        lambda: signed(_duplicate_member()),
        "malformed",
    ),
    Case(
        "invalid-registry-duplicate-agency",
        "The same agency is listed twice: agency ids must be unique.",
        lambda: signed(_duplicate_agency()),
        "malformed",
    ),
    Case(
        "invalid-registry-wrong-authority",
        "Signed by another key, named by its own kid: not the pinned authority.",
        lambda: signed(PAYLOAD, derived_key("rogue-authority")),
        "verification_failed",
    ),
    Case(
        "invalid-registry-rogue-key-with-authority-kid",
        "Signed by another key that claims the pinned authority's kid: the signature fails.",
        _rogue_same_kid,
        "verification_failed",
    ),
    Case(
        "invalid-registry-alg-none",
        "Protected header alg none with an empty signature: only EdDSA/Ed25519 is accepted.",
        _alg_none,
        "malformed",
    ),
    Case(
        "invalid-registry-wrong-typ",
        "The protected header's typ is not the registry media type.",
        lambda: signed(PAYLOAD, header={"typ": "JWT"}),
        "malformed",
    ),
    Case(
        "invalid-registry-payload-not-json",
        "The signed payload is not JSON.",
        lambda: signed(b"not json"),
        "malformed",
    ),
)


# -- checking and writing -------------------------------------------------------


def run(vector: dict[str, Any]) -> dict[str, Any]:
    """The library's result for *vector*, in the form of ``expected``."""
    authority = public_key_from_jwk(vector["authority"])
    assert isinstance(authority, VerifyKey)
    now = datetime.fromisoformat(vector["now"])
    try:
        registry = TrustRegistry.from_signed(
            strictjson.dumps(vector["registry"]), authority, now=now
        )
    except SafeShareError as exc:
        return {"result": "invalid", "error": exc.code}
    document = json.loads(registry.document.to_json())
    return {"result": "valid", "document": document}


def check_cases() -> None:
    """Every case's expectation must be what the library reports (a generator bug otherwise)."""
    ids = [c.id for c in CASES]
    if len(set(ids)) != len(ids):
        raise SystemExit("duplicate vector ids")
    for case in CASES:
        vector = case.to_json()
        got = run(vector)
        want = vector["expected"]
        if got != want:
            raise SystemExit(f"{case.id}: expected {want}, got {got}")


def rendered() -> dict[str, bytes]:
    """File name -> exact bytes."""
    return {f"{c.id}.json": strictjson.pretty(c.to_json()) for c in CASES}


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the vector files."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; fail on drift")
    parser.add_argument("--dir", type=Path, default=VECTOR_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    check_cases()
    return write_or_check(
        rendered(),
        args.dir,
        check=args.check,
        name="registry vectors",
        generator="generate_registry_vectors.py",
    )


if __name__ == "__main__":
    sys.exit(main())
