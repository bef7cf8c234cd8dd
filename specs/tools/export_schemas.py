"""Write the JSON Schemas in ``specs/schemas/`` from the library's models.

Usage: ``python specs/tools/export_schemas.py [--check]``. With ``--check`` it
writes nothing and exits 1 if a file on disk differs from what the models
produce (CI runs this through the test suite).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from safeshare._internal import strictjson
from safeshare.envelope._profile import SignedClaims
from safeshare.messages import MESSAGE_MODELS
from safeshare.messages._base import Message
from safeshare.purpose.conditions import HandlingConditions
from safeshare.purpose.vocabulary import VocabularyFile
from safeshare.registry import RegistryDocument

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


def _signed_claims() -> dict[str, Any]:
    schema = msgspec.json.schema(SignedClaims)
    schema["$comment"] = "Payload of the issuer-signed JWT (specs/safeshare-v1.md section 5.3)."
    return schema


def _registry() -> dict[str, Any]:
    schema = RegistryDocument.model_json_schema(mode="validation")
    schema["$comment"] = "Payload of a signed registry (specs/safeshare-v1.md section 4.2)."
    return schema


def _handling() -> dict[str, Any]:
    schema = HandlingConditions.model_json_schema(mode="validation")
    schema["$comment"] = "The 'handling' claim (specs/safeshare-v1.md section 5.4)."
    return schema


def _vocabulary() -> dict[str, Any]:
    schema = VocabularyFile.model_json_schema(mode="validation")
    schema["$comment"] = (
        "A vocabulary file: purposes, legal bases, instruments (specs/safeshare-v1.md "
        "section 8.8). "
        "Cross-references are checked when files are merged."
    )
    return schema


def _message(model: type[Message]) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        schema = model.model_json_schema(mode="validation")
        schema["$comment"] = (
            f"Draft of a {model.msg_type} message (specs/safeshare-v1.md section 11). Members "
            "are optional so that drafts can be saved; completeness is checked by the rules "
            "of specs/safeshare-v1.md section 11, not by this schema. purpose, legal_basis "
            "and case_ref become the envelope's claims; the other members its record."
        )
        return schema

    return build


SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "signed-claims.schema.json": _signed_claims,
    "registry-document.schema.json": _registry,
    "handling-conditions.schema.json": _handling,
    "vocabulary-file.schema.json": _vocabulary,
    **{
        f"message-{code.replace('_', '-')}.schema.json": _message(model)
        for code, model in sorted(MESSAGE_MODELS.items())
    },
}


def rendered() -> dict[str, bytes]:
    """File name -> exact bytes, as they must be on disk."""
    out = {}
    for name, build in SCHEMAS.items():
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **build()}
        out[name] = strictjson.pretty(schema)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if files differ")
    args = parser.parse_args(argv)
    drift = []
    for name, data in rendered().items():
        path = SCHEMA_DIR / name
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                drift.append(name)
        else:
            SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    if drift:
        print("schemas out of date: " + ", ".join(drift), file=sys.stderr)
        print("run: python specs/tools/export_schemas.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
