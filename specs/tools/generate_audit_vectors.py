"""Write the audit test vectors in ``specs/vectors/audit/`` (one JSON file per case).

Usage: ``python specs/tools/generate_audit_vectors.py [--check]``. With
``--check`` it writes nothing and exits 1, listing every file that differs,
is missing or should not be there. The format is described in
``specs/safeshare-v1.md`` section 14.6.4 (and ``specs/vectors/README.md``).

Three kinds of case: RFC 9162 inclusion proofs (``inclusion-...``),
consistency proofs (``consistency-...``) and signed C2SP checkpoints
(``checkpoint-...``). The trees have the leaves ``leaf_hash("entry <i>")``;
the checkpoint keys are ``SHA-256("safeshare-vectors-v1/key" || 0x00 ||
label)``. Before writing anything every case is run through the library,
which must give the expected result. Output is ``strictjson.pretty``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:  # run as a script: make ``specs.tools`` importable
    sys.path.insert(0, str(_ROOT))

from safeshare._internal import strictjson  # noqa: E402
from safeshare.audit import merkle  # noqa: E402
from safeshare.audit.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint  # noqa: E402
from safeshare.audit.note import NoteVerifier, sign_note  # noqa: E402
from safeshare.errors import SafeShareError  # noqa: E402
from safeshare.keys import SigningKey  # noqa: E402
from specs.tools._files import write_or_check  # noqa: E402

VECTOR_DIR: Final = _ROOT / "specs" / "vectors" / "audit"
SEED: Final = b"safeshare-vectors-v1"
ORIGIN: Final = "safeshare.example/XA-NPOL/audit"

LEAVES: Final = [merkle.leaf_hash(f"entry {i}".encode()) for i in range(16)]


def node(level: int, index: int) -> bytes:
    return merkle.root(LEAVES[index << level : (index + 1) << level])


def tree_root(size: int) -> bytes:
    return merkle.root(LEAVES[:size])


def incl(index: int, size: int) -> list[bytes]:
    return merkle.inclusion_proof(index, size, node)


def cons(size1: int, size2: int) -> list[bytes]:
    return merkle.consistency_proof(size1, size2, node)


def tampered(proof: list[bytes], at: int = 0) -> list[bytes]:
    out = list(proof)
    out[at] = bytes([out[at][0] ^ 1]) + out[at][1:]
    return out


def derived_key(label: str) -> SigningKey:
    return SigningKey.from_private_bytes(
        hashlib.sha256(SEED + b"/key\x00" + label.encode("utf-8")).digest()
    )


LOG_KEY: Final = derived_key("audit-log")
VERIFIER: Final = NoteVerifier(ORIGIN, LOG_KEY.public).vkey
OTHER_VERIFIER: Final = NoteVerifier(ORIGIN, derived_key("other-log").public).vkey
CHECKPOINT: Final = Checkpoint(ORIGIN, 7, tree_root(7))


def good_note() -> str:
    return sign_checkpoint(CHECKPOINT, ORIGIN, LOG_KEY)


def _bad_signature_note() -> str:
    text = good_note()
    body, sig_line = text.rsplit("\n\u2014 ", 1)
    # flip one character of the base64 signature (keeps it valid base64 of the same length)
    i = len(sig_line) - 6
    flipped = sig_line[:i] + ("A" if sig_line[i] != "A" else "B") + sig_line[i + 1 :]
    return body + "\n\u2014 " + flipped


def _tampered_text_note() -> str:
    return good_note().replace(f"\n7\n{_b64(tree_root(7))}\n", f"\n8\n{_b64(tree_root(7))}\n", 1)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _malformed_note() -> str:
    bad = f"{ORIGIN}\n07\n{_b64(tree_root(7))}\n"
    return sign_note_raw(bad)


def _short_root_note() -> str:
    return sign_note_raw(f"{ORIGIN}\n7\n{_b64(tree_root(7)[:31])}\n")


def _other_origin_note() -> str:
    other = "safeshare.example/XB-PROS/audit"
    return sign_note_raw(f"{other}\n7\n{_b64(tree_root(7))}\n")


def sign_note_raw(text: str) -> str:
    return sign_note(text, ORIGIN, LOG_KEY)


def h(data: bytes) -> str:
    return data.hex()


@dataclass(frozen=True)
class Case:
    id: str
    description: str
    build: Callable[[], dict[str, Any]]
    error: str | None = None

    @property
    def kind(self) -> str:
        return self.id.split("-", 1)[0]

    def to_json(self) -> dict[str, Any]:
        fields = self.build()
        expected: dict[str, Any]
        cp = fields.pop("_checkpoint", None)
        if self.error is not None:
            expected = {"result": "invalid", "error": self.error}
        elif cp is not None:
            expected = {"result": "valid", "checkpoint": cp}
        else:
            expected = {"result": "valid"}
        return {
            "id": self.id,
            "description": self.description,
            "kind": self.kind,
            **fields,
            "expected": expected,
        }


def inclusion(index: int, size: int, proof: list[bytes], leaf: bytes | None = None,
              root: bytes | None = None) -> Callable[[], dict[str, Any]]:  # fmt: skip
    def build() -> dict[str, Any]:
        return {
            "leaf_hash": h(LEAVES[index] if leaf is None else leaf),
            "index": index,
            "size": size,
            "proof": [h(p) for p in proof],
            "root": h(tree_root(size) if root is None else root),
        }

    return build


def consistency(size1: int, size2: int, proof: list[bytes], root1: bytes | None = None,
                root2: bytes | None = None) -> Callable[[], dict[str, Any]]:  # fmt: skip
    def build() -> dict[str, Any]:
        return {
            "size1": size1,
            "size2": size2,
            "proof": [h(p) for p in proof],
            "root1": h(tree_root(size1) if root1 is None else root1),
            "root2": h(tree_root(size2) if root2 is None else root2),
        }

    return build


def checkpoint(note: Callable[[], str], verifier: str = VERIFIER) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        return {
            "note": note(),
            "verifier": verifier,
            "_checkpoint": {
                "origin": CHECKPOINT.origin,
                "size": CHECKPOINT.size,
                "root_hash": h(CHECKPOINT.root_hash),
                "extensions": list(CHECKPOINT.extensions),
            },
        }

    return build


BAD: Final = "audit_integrity"

CASES: Final[tuple[Case, ...]] = (
    Case("inclusion-valid-first-of-7", "Leaf 0 of a tree of 7.", inclusion(0, 7, incl(0, 7))),
    Case("inclusion-valid-last-of-7", "Leaf 6 of a tree of 7.", inclusion(6, 7, incl(6, 7))),
    Case("inclusion-valid-middle-of-16", "Leaf 5 of 16.", inclusion(5, 16, incl(5, 16))),
    Case(
        "inclusion-valid-single-leaf",
        "The only leaf of a tree of size 1: the empty proof, the root is the leaf hash.",
        inclusion(0, 1, []),
    ),
    Case(
        "inclusion-invalid-index-equals-size",
        "index = size: no such leaf (RFC 9162 2.1.3.2 step 1).",
        lambda: {**inclusion(6, 7, incl(6, 7))(), "index": 7},
        BAD,
    ),
    Case(
        "inclusion-invalid-missing-node",
        "The proof lacks its last node (wrong length).",
        inclusion(5, 16, incl(5, 16)[:-1]),
        BAD,
    ),
    Case(
        "inclusion-invalid-trailing-node",
        "A correct proof followed by an extra node.",
        inclusion(5, 16, [*incl(5, 16), LEAVES[0]]),
        BAD,
    ),
    Case(
        "inclusion-invalid-tampered-node",
        "One bit of the first proof node is flipped.",
        inclusion(5, 16, tampered(incl(5, 16))),
        BAD,
    ),
    Case(
        "inclusion-invalid-wrong-leaf",
        "The proof of leaf 5 presented for leaf 4's hash.",
        inclusion(5, 16, incl(5, 16), leaf=LEAVES[4]),
        BAD,
    ),
    Case(
        "inclusion-invalid-short-node",
        "A proof node of 31 bytes.",
        inclusion(5, 16, [incl(5, 16)[0][:31], *incl(5, 16)[1:]]),
        BAD,
    ),
    Case(
        "inclusion-invalid-empty-proof-root-as-leaf",
        "The empty proof presenting the root of 7 as a leaf of 7.",
        inclusion(0, 7, [], leaf=tree_root(7)),
        BAD,
    ),
    Case("consistency-valid-3-7", "Tree of 3 extended to 7.", consistency(3, 7, cons(3, 7))),
    Case("consistency-valid-4-8", "Tree of 4 extended to 8.", consistency(4, 8, cons(4, 8))),
    Case("consistency-valid-1-16", "Tree of 1 extended to 16.", consistency(1, 16, cons(1, 16))),
    Case(
        "consistency-valid-equal-sizes",
        "Equal sizes, equal roots, empty proof.",
        consistency(7, 7, []),
    ),
    Case(
        "consistency-valid-from-zero",
        "From the empty tree (root SHA-256 of the empty string), empty proof.",
        consistency(0, 7, [], root1=hashlib.sha256(b"").digest()),
    ),
    Case(
        "consistency-invalid-size1-above-size2",
        "size1 > size2: a log never shrinks.",
        consistency(7, 3, cons(3, 7), root1=tree_root(7), root2=tree_root(3)),
        BAD,
    ),
    Case(
        "consistency-invalid-equal-sizes-non-empty-proof",
        "Equal sizes with a non-empty proof.",
        consistency(7, 7, [LEAVES[0]]),
        BAD,
    ),
    Case(
        "consistency-invalid-equal-sizes-fork",
        "Equal sizes with different roots: a fork.",
        consistency(7, 7, [], root2=tree_root(6)),
        BAD,
    ),
    Case(
        "consistency-invalid-from-zero-non-empty-proof",
        "From size 0 with a non-empty proof.",
        consistency(0, 7, [LEAVES[0]], root1=hashlib.sha256(b"").digest()),
        BAD,
    ),
    Case(
        "consistency-invalid-tampered-node",
        "One bit of a proof node flipped.",
        consistency(3, 7, tampered(cons(3, 7))),
        BAD,
    ),
    Case(
        "consistency-invalid-trailing-node",
        "A correct proof followed by an extra node.",
        consistency(3, 7, [*cons(3, 7), LEAVES[0]]),
        BAD,
    ),
    Case(
        "consistency-invalid-wrong-old-root",
        "The old root is that of another tree of the same size.",
        consistency(3, 7, cons(3, 7), root1=tree_root(2)),
        BAD,
    ),
    Case(
        "checkpoint-valid",
        "A checkpoint of the tree of 7, signed by the log's key under its origin.",
        checkpoint(good_note),
    ),
    Case(
        "checkpoint-invalid-bad-signature",
        "A character of the log's signature is changed.",
        checkpoint(_bad_signature_note),
        "verification_failed",
    ),
    Case(
        "checkpoint-invalid-tampered-text",
        "The size line is changed after signing.",
        checkpoint(_tampered_text_note),
        "verification_failed",
    ),
    Case(
        "checkpoint-invalid-wrong-key",
        "Verified with another key of the same name: no signature by the verifier.",
        checkpoint(good_note, OTHER_VERIFIER),
        "verification_failed",
    ),
    Case(
        "checkpoint-invalid-size-leading-zero",
        "Signed, but the size is written 07 (not canonical decimal).",
        checkpoint(_malformed_note),
        "malformed",
    ),
    Case(
        "checkpoint-invalid-short-root",
        "Signed, but the root hash is 31 bytes.",
        checkpoint(_short_root_note),
        "malformed",
    ),
    Case(
        "checkpoint-invalid-other-origin",
        "Signed by the log's key, but for another log's origin.",
        checkpoint(_other_origin_note),
        "verification_failed",
    ),
)


def run(vector: dict[str, Any]) -> dict[str, Any]:
    """The library's result for *vector*, in the form of ``expected``."""
    kind = vector["kind"]
    try:
        if kind == "inclusion":
            merkle.verify_inclusion(
                bytes.fromhex(vector["leaf_hash"]),
                vector["index"],
                vector["size"],
                [bytes.fromhex(p) for p in vector["proof"]],
                bytes.fromhex(vector["root"]),
            )
        elif kind == "consistency":
            merkle.verify_consistency(
                vector["size1"],
                vector["size2"],
                [bytes.fromhex(p) for p in vector["proof"]],
                bytes.fromhex(vector["root1"]),
                bytes.fromhex(vector["root2"]),
            )
        else:
            cp = verify_checkpoint(vector["note"], NoteVerifier.from_vkey(vector["verifier"]))
            return {
                "result": "valid",
                "checkpoint": {
                    "origin": cp.origin,
                    "size": cp.size,
                    "root_hash": cp.root_hash.hex(),
                    "extensions": list(cp.extensions),
                },
            }
    except SafeShareError as exc:
        return {"result": "invalid", "error": exc.code}
    return {"result": "valid"}


def check_cases() -> None:
    """Every case's expectation must be what the library reports (a generator bug otherwise)."""
    ids = [c.id for c in CASES]
    if len(set(ids)) != len(ids):
        raise SystemExit("duplicate vector ids")
    for case in CASES:
        vector = case.to_json()
        got = run(vector)
        if got != vector["expected"]:
            raise SystemExit(f"{case.id}: expected {vector['expected']}, got {got}")


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
        name="audit vectors",
        generator="generate_audit_vectors.py",
    )


if __name__ == "__main__":
    sys.exit(main())
