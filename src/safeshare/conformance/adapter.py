"""The built-in conformance adapter (``python -m safeshare.conformance.adapter``).

Reads one JSON request per line on stdin and writes one JSON answer per line
on stdout, as ``specs/safeshare-v1.md`` section 14 describes, answering with this library.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Final

from pydantic import ValidationError

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode
from safeshare.audit import merkle
from safeshare.audit.checkpoint import verify_checkpoint
from safeshare.audit.note import NoteVerifier
from safeshare.audit.recorder import MemoryRecorder
from safeshare.envelope import OpenedEnvelope, open_envelope
from safeshare.errors import MalformedInputError, SafeShareError, UsageError
from safeshare.keys import AgencyKeySet, VerifyKey, public_key_from_jwk
from safeshare.messages import inherit, validate_message
from safeshare.privacy.blind_index import normalize
from safeshare.privacy.generalize import (
    DatePrecision,
    Generalization,
    Grid,
    IpPrefix,
    NamedAreas,
    NumberBucket,
)
from safeshare.privacy.secret import PrivacySecret
from safeshare.purpose.conditions import HandlingConditions
from safeshare.purpose.consent import ConsentStore
from safeshare.purpose.transfer import check_transfer
from safeshare.purpose.use import (
    check_automated_decision,
    check_evidential_use,
    check_onward_transfer,
)
from safeshare.registry import TrustRegistry
from safeshare.storage import ReplayCache, open_store

__all__ = ["OPERATIONS", "answer", "main"]

Output = dict[str, Any]


def _authority(jwk: Any) -> VerifyKey:
    key = public_key_from_jwk(jwk)
    if not isinstance(key, VerifyKey):
        raise MalformedInputError("the authority key is not an Ed25519 verification key")
    return key


def _registry(data: dict[str, Any]) -> TrustRegistry:
    return TrustRegistry.from_signed(
        strictjson.dumps(data["registry"]),
        _authority(data["authority"]),
        now=datetime.fromisoformat(data["now"]),
    )


def op_open_envelope(data: dict[str, Any]) -> Output:
    now = datetime.fromisoformat(data["now"])
    registry = _registry(data)
    keys = AgencyKeySet.from_private_jwks(data["keys"][data["recipient"]])
    skew = timedelta(seconds=data["skew_seconds"])
    how = data["open"]
    if "envelope" in data:
        last = str(data["envelope"]).encode("utf-8")
    else:
        last = b64u_decode(data["envelope_base64url"])
    envelopes = [str(p).encode("utf-8") for p in data["previously_opened"]] + [last]
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "replay.sqlite3") as store:
        replay = ReplayCache(store)
        claims: dict[str, Any] = {}
        for envelope in envelopes:
            opened = open_envelope(
                envelope,
                recipient=keys,
                registry=registry,
                replay=replay,
                purpose=how["purpose"],
                actor=how["actor"],
                acknowledged=how["acknowledged"],
                recorder=MemoryRecorder(),
                now=now,
                skew=skew,
            )
            claims = opened.verified_claims()
    return {"claims": claims}


def op_validate_message(data: dict[str, Any]) -> Output:
    request = inherit(data["request"]) if data.get("request") is not None else None
    problems = validate_message(
        data["msg_type"],
        data["message"],
        request=request,
        now=datetime.fromisoformat(data["now"]),
    )
    return {"problems": sorted(p.field for p in problems)}


def op_verify_registry(data: dict[str, Any]) -> Output:
    document: Any = json.loads(_registry(data).document.to_json())
    return {"document": document}


def _hash(value: Any) -> bytes:
    try:
        return bytes.fromhex(str(value))
    except ValueError as exc:
        raise MalformedInputError("a hash is not hexadecimal") from exc


def op_verify_inclusion_proof(data: dict[str, Any]) -> Output:
    merkle.verify_inclusion(
        _hash(data["leaf_hash"]),
        data["index"],
        data["size"],
        [_hash(p) for p in data["proof"]],
        _hash(data["root"]),
    )
    return {}


def op_verify_consistency_proof(data: dict[str, Any]) -> Output:
    merkle.verify_consistency(
        data["size1"],
        data["size2"],
        [_hash(p) for p in data["proof"]],
        _hash(data["root1"]),
        _hash(data["root2"]),
    )
    return {}


def op_verify_checkpoint(data: dict[str, Any]) -> Output:
    cp = verify_checkpoint(data["note"], NoteVerifier.from_vkey(data["verifier"]))
    return {
        "checkpoint": {
            "origin": cp.origin,
            "size": cp.size,
            "root_hash": cp.root_hash.hex(),
            "extensions": list(cp.extensions),
        }
    }


def op_check_transfer(data: dict[str, Any]) -> Output:
    try:
        handling = HandlingConditions.model_validate(data["handling"])
    except ValidationError as exc:
        raise MalformedInputError(
            f"the handling conditions are invalid: {exc.error_count()} problem(s)"
        ) from None
    found = check_transfer(
        _registry(data),
        data["recipients"],
        handling,
        now=datetime.fromisoformat(data["now"]),
        legal_basis=data["legal_basis"],
    )
    return {"mismatches": [m.key for m in found]}


#: Who opens the envelopes of ``check_use`` (recorded nowhere: no recorder).
_USE_ACTOR: Final = "conformance adapter"


def op_check_use(data: dict[str, Any]) -> Output:
    """The use-vector procedure of specs/vectors/README.md; refusals raise."""
    now = datetime.fromisoformat(data["now"])
    registry = _registry(data)
    keys = AgencyKeySet.from_private_jwks(data["recipient_keys"])
    envelope = str(data["envelope"]).encode("utf-8")
    use = data["use"]
    own_purpose = data["opened"]["claims"]["purpose"]
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "consent.sqlite3") as db:
        consents = ConsentStore(db)
        for grant in data["consents"]:
            consents.add(
                grant["token"],
                registry=registry,
                now=datetime.fromisoformat(grant["recorded_at"]),
            )

        def open_for(purpose: str, replay_name: str) -> OpenedEnvelope:
            with open_store(Path(tmp) / replay_name) as store:
                return open_envelope(
                    envelope,
                    recipient=keys,
                    registry=registry,
                    replay=ReplayCache(store),
                    purpose=purpose,
                    actor=_USE_ACTOR,
                    recorder=None,
                    consents=consents,
                    now=now,
                )

        opened = open_for(own_purpose, "replay-own.sqlite3")
        kind = use["kind"]
        if kind == "evidential_use":
            check_evidential_use(opened, consents=consents, registry=registry, now=now)
        elif kind == "onward_transfer":
            check_onward_transfer(opened, use["to"], registry=registry, consents=consents, now=now)
        elif kind == "automated_decision":
            check_automated_decision(opened, solely_automated=use["solely_automated"], now=now)
        elif kind == "purpose":
            open_for(use["purpose"], "replay-use.sqlite3")
        else:
            raise ValueError(f"unknown use kind {kind!r}")
    return {"opened": {"digest": opened.digest, "claims": opened.verified_claims()}}


def _privacy_secret(value: Any) -> PrivacySecret:
    """The privacy secret of a ``privacy/`` vector: hex (else ``malformed``), 32 bytes (``usage``)."""
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else None
    except ValueError:
        raw = None
    if raw is None:
        raise MalformedInputError("the privacy secret is not hexadecimal")
    return PrivacySecret(raw)


def op_pseudonymize(data: dict[str, Any]) -> Output:
    """``PrivacySecret.pseudonym`` of ``value`` for the domain (issuer, recipient, case_ref)."""
    secret = _privacy_secret(data["secret"])
    pseudonym = secret.pseudonym(
        data["value"],
        issuer=data["issuer"],
        recipient=data["recipient"],
        case_ref=data["case_ref"],
    )
    return {"pseudonym": pseudonym}


def op_blind_index_token(data: dict[str, Any]) -> Output:
    """The normalized identifier and its blind-index token."""
    secret = _privacy_secret(data["secret"])
    kind = data["subject_kind"]
    normalized = normalize(kind, data["value"])
    return {"normalized": normalized, "token": secret.blind_token(kind, normalized)}


#: The members (besides ``type``) of each generalization object, with their defaults
#: (specs/safeshare-v1.md section 14.4); None marks a required member.
GENERALIZATIONS: Final[dict[str, dict[str, Any]]] = {
    "date_precision": {"unit": None},
    "ip_prefix": {"ipv4": 24, "ipv6": 48},
    "grid": {"decimals": 1},
    "named_areas": {"areas": None, "otherwise": "outside the listed areas"},
    "number_bucket": {"width": None},
}


def generalization_from_json(spec: Any) -> Generalization:
    """The generalization a JSON object of the adapter protocol describes; else ``usage``.

    Shared by the ``generalize`` operation and the privacy vector generator.
    """
    if (
        not isinstance(spec, dict)
        or not isinstance(spec.get("type"), str)
        or spec["type"] not in GENERALIZATIONS
    ):
        raise UsageError(
            "a generalization is an object whose type is one of " + ", ".join(GENERALIZATIONS)
        )
    kind = spec["type"]
    defaults = GENERALIZATIONS[kind]
    if not set(spec) <= {"type", *defaults}:
        raise UsageError(f"a {kind} generalization has only the members {sorted(defaults)}")
    args = {**defaults, **spec}
    if kind == "date_precision":
        return DatePrecision(args["unit"])
    if kind == "ip_prefix":
        return IpPrefix(args["ipv4"], args["ipv6"])
    if kind == "grid":
        return Grid(args["decimals"])
    if kind == "number_bucket":
        return NumberBucket(args["width"])
    areas = args["areas"]
    if not isinstance(areas, list) or not all(
        isinstance(area, dict) and set(area) == {"name", "box"} and isinstance(area["box"], list)
        for area in areas
    ):
        raise UsageError('areas is a list of {"name": ..., "box": [south, west, north, east]}')
    boxes = tuple((area["name"], tuple(area["box"])) for area in areas)
    return NamedAreas(boxes, args["otherwise"])


def op_generalize(data: dict[str, Any]) -> Output:
    """The generalized value and the generalization's label."""
    generalization = generalization_from_json(data["generalization"])
    return {"generalized": generalization.apply(data["value"]), "label": generalization.label}


OPERATIONS: Final[dict[str, Callable[[dict[str, Any]], Output]]] = {
    "open_envelope": op_open_envelope,
    "validate_message": op_validate_message,
    "verify_registry": op_verify_registry,
    "verify_inclusion_proof": op_verify_inclusion_proof,
    "verify_consistency_proof": op_verify_consistency_proof,
    "verify_checkpoint": op_verify_checkpoint,
    "check_transfer": op_check_transfer,
    "check_use": op_check_use,
    "pseudonymize": op_pseudonymize,
    "blind_index_token": op_blind_index_token,
    "generalize": op_generalize,
}


def answer(line: str) -> dict[str, Any]:
    """The answer to one request line."""
    request_id: Any = None
    try:
        request = json.loads(line)
        if not isinstance(request, dict):
            return {"id": None, "result": "error", "message": "the request is not a JSON object"}
        request_id = request.get("id")
        operation = OPERATIONS.get(str(request.get("op")))
        if operation is None:
            return {
                "id": request_id,
                "result": "error",
                "message": f"unknown op {request.get('op')!r}",
            }
        output = operation(request.get("input") or {})
    except SafeShareError as exc:
        return {"id": request_id, "result": "invalid", "error": exc.code}
    except Exception as exc:  # noqa: BLE001 -- the protocol reports these as "error"
        return {"id": request_id, "result": "error", "message": f"{type(exc).__name__}: {exc}"}
    return {"id": request_id, "result": "valid", "output": output}


def main(stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    """Answer every request line of *stdin* on *stdout*."""
    source = sys.stdin if stdin is None else stdin
    sink = sys.stdout if stdout is None else stdout
    for line in source:
        if not line.strip():
            continue
        sink.write(json.dumps(answer(line), ensure_ascii=False) + "\n")
        sink.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
