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
from safeshare.purpose.conditions import HandlingConditions
from safeshare.registry import RegistryDocument

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


def _signed_claims() -> dict[str, Any]:
    schema = msgspec.json.schema(SignedClaims)
    schema["$comment"] = "Payload of the issuer-signed JWT (specs/envelope.md section 4)."
    return schema


def _registry() -> dict[str, Any]:
    schema = RegistryDocument.model_json_schema(mode="validation")
    schema["$comment"] = "Payload of a signed registry (specs/registry.md section 2)."
    return schema


def _handling() -> dict[str, Any]:
    schema = HandlingConditions.model_json_schema(mode="validation")
    schema["$comment"] = "The 'handling' claim (specs/envelope.md section 5)."
    return schema


SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "signed-claims.schema.json": _signed_claims,
    "registry-document.schema.json": _registry,
    "handling-conditions.schema.json": _handling,
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
