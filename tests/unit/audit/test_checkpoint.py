"""C2SP tlog-checkpoint: body format, strict parsing, signing and verification."""

from __future__ import annotations

import base64
import hashlib
from typing import Final

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from safeshare.audit.checkpoint import (
    EMPTY_ROOT,
    MAX_TREE_SIZE,
    Checkpoint,
    agency_log_origin,
    agency_of_log_origin,
    sign_checkpoint,
    verify_checkpoint,
)
from safeshare.audit.note import NoteVerifier, sign_note
from safeshare.errors import MalformedInputError, UsageError, VerificationError
from safeshare.keys import SigningKey

# The example of C2SP tlog-checkpoint (its log key is not published).
SPEC_BODY: Final = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)
SPEC_NOTE: Final = (
    SPEC_BODY
    + "\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)
ORIGIN: Final = "safeshare.example/XA-NPOL/audit"
ROOT: Final = hashlib.sha256(b"some root").digest()


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="module")
def verifier(key: SigningKey) -> NoteVerifier:
    return NoteVerifier(ORIGIN, key.public)


def test_spec_example_body_parses_and_formats_back() -> None:
    cp = Checkpoint.parse(SPEC_BODY)
    assert cp.origin == "example.com/behind-the-sofa"
    assert cp.size == 20852163
    assert cp.root_hash == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert cp.extensions == ()
    assert cp.body() == SPEC_BODY


def test_spec_example_note_with_unknown_log_key(verifier: NoteVerifier) -> None:
    with pytest.raises(VerificationError, match="not signed by any trusted key"):
        verify_checkpoint(SPEC_NOTE, verifier)


def test_body_with_extensions_round_trip() -> None:
    cp = Checkpoint(ORIGIN, 5, ROOT, ("ext one", "ext two"))
    assert cp.body().splitlines() == [
        ORIGIN,
        "5",
        base64.b64encode(ROOT).decode(),
        "ext one",
        "ext two",
    ]
    assert Checkpoint.parse(cp.body()) == cp


def test_empty_tree() -> None:
    cp = Checkpoint(ORIGIN, 0, EMPTY_ROOT)
    assert cp.body() == f"{ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    assert Checkpoint.parse(cp.body()) == cp


def test_sign_and_verify(key: SigningKey, verifier: NoteVerifier) -> None:
    cp = Checkpoint(ORIGIN, 7, ROOT)
    note = sign_checkpoint(cp, ORIGIN, key)
    assert note.startswith(cp.body() + "\n— " + ORIGIN + " ")
    assert verify_checkpoint(note, verifier) == cp
    assert verify_checkpoint(note.encode(), verifier) == cp


def test_signature_derived_by_hand(key: SigningKey) -> None:
    """The signed message is exactly the three lines of the spec, each with a newline."""
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), ORIGIN, key)
    blob = base64.b64decode(note.rsplit(" ", 1)[1].strip(), validate=True)
    message = (ORIGIN + "\n" + "7\n" + base64.b64encode(ROOT).decode() + "\n").encode()
    assert blob[:4] == hashlib.sha256(ORIGIN.encode() + b"\n\x01" + key.public.raw).digest()[:4]
    Ed25519PublicKey.from_public_bytes(key.public.raw).verify(blob[4:], message)


def test_other_origin_is_refused(key: SigningKey) -> None:
    other = "safeshare.example/XB-PROS/audit"
    note = sign_checkpoint(Checkpoint(other, 1, ROOT), ORIGIN, key)
    with pytest.raises(VerificationError, match="XB-PROS"):
        verify_checkpoint(note, NoteVerifier(ORIGIN, key.public))
    assert verify_checkpoint(note, NoteVerifier(ORIGIN, key.public), origin=other).origin == other


def test_signed_by_another_key(key: SigningKey, verifier: NoteVerifier) -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), ORIGIN, SigningKey.generate())
    with pytest.raises(VerificationError):
        verify_checkpoint(note, verifier)


def test_tampered_size_is_refused(key: SigningKey, verifier: NoteVerifier) -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), ORIGIN, key)
    with pytest.raises(VerificationError):
        verify_checkpoint(note.replace("\n7\n", "\n8\n"), verifier)


def test_signed_note_that_is_not_a_checkpoint(key: SigningKey, verifier: NoteVerifier) -> None:
    note = sign_note(f"{ORIGIN}\nseven\n", ORIGIN, key)
    with pytest.raises(MalformedInputError):
        verify_checkpoint(note, verifier)


def test_verify_checkpoint_needs_a_note_verifier() -> None:
    with pytest.raises(UsageError):
        verify_checkpoint(SPEC_NOTE, "key")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        sign_checkpoint(SPEC_BODY, ORIGIN, SigningKey.generate())  # type: ignore[arg-type]


B64_ROOT: Final = base64.b64encode(ROOT).decode()
URLSAFE_ROOT: Final = base64.urlsafe_b64encode(bytes([0xFF] * 32)).decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{ORIGIN}\n1\n", "at least three lines"),
        (f"{ORIGIN}\n1\n{B64_ROOT}", "ends with a newline"),
        (f"\n1\n{B64_ROOT}\n", "origin"),
        (f"{ORIGIN}\n01\n{B64_ROOT}\n", "leading zeroes"),
        (f"{ORIGIN}\n00\n{B64_ROOT}\n", "leading zeroes"),
        (f"{ORIGIN}\n+1\n{B64_ROOT}\n", "decimal"),
        (f"{ORIGIN}\n-1\n{B64_ROOT}\n", "decimal"),
        (f"{ORIGIN}\n 1\n{B64_ROOT}\n", "decimal"),
        (f"{ORIGIN}\n1_0\n{B64_ROOT}\n", "decimal"),
        (f"{ORIGIN}\n\uff11\n{B64_ROOT}\n", "decimal"),  # FULLWIDTH DIGIT ONE
        (f"{ORIGIN}\n\n{B64_ROOT}\n", "decimal"),
        (f"{ORIGIN}\n{2**63}\n{B64_ROOT}\n", "between 0 and"),
        (f"{ORIGIN}\n{10**30}\n{B64_ROOT}\n", "exceeds"),
        (f"{ORIGIN}\n1\n{B64_ROOT[:-1]}\n", "base64"),
        (f"{ORIGIN}\n1\n{URLSAFE_ROOT}\n", "base64"),
        (f"{ORIGIN}\n1\n{base64.b64encode(bytes(31)).decode()}\n", "32 bytes"),
        (f"{ORIGIN}\n1\n{base64.b64encode(bytes(33)).decode()}\n", "32 bytes"),
        (f"{ORIGIN}\n0\n{B64_ROOT}\n", "empty tree"),
        (f"{ORIGIN}\n1\n{B64_ROOT}\n\n", "non-empty"),
        (f"{ORIGIN}\n1\n{B64_ROOT}\next\n\nmore\n", "non-empty"),
        (f"{ORIGIN}\n1\n{B64_ROOT}\n" + "e\n" * 17, "at most 16 extension"),
        (f"{'o' * 1025}\n1\n{B64_ROOT}\n", "limit"),
        (f"ori\tgin\n1\n{B64_ROOT}\n", "control"),
    ],
)
def test_malformed_checkpoint_text(text: str, message: str) -> None:
    with pytest.raises(MalformedInputError, match=message):
        Checkpoint.parse(text)


def test_largest_size() -> None:
    assert Checkpoint.parse(f"{ORIGIN}\n{MAX_TREE_SIZE}\n{B64_ROOT}\n").size == MAX_TREE_SIZE


def test_parse_takes_text_only() -> None:
    with pytest.raises(MalformedInputError):
        Checkpoint.parse(SPEC_BODY.encode())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, ROOT, ()),
        ("a\nb", 1, ROOT, ()),
        (ORIGIN, -1, ROOT, ()),
        (ORIGIN, True, ROOT, ()),
        (ORIGIN, 1.0, ROOT, ()),
        (ORIGIN, MAX_TREE_SIZE + 1, ROOT, ()),
        (ORIGIN, 1, ROOT[:31], ()),
        (ORIGIN, 1, bytearray(ROOT), ()),
        (ORIGIN, 0, ROOT, ()),
        (ORIGIN, 1, ROOT, ("",)),
        (ORIGIN, 1, ROOT, ["ext"]),
        (ORIGIN, 1, ROOT, ("a\nb",)),
    ],
)
def test_invalid_checkpoint_construction(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(UsageError):
        Checkpoint(origin, size, root, extensions)


def test_checkpoint_is_immutable() -> None:
    cp = Checkpoint(ORIGIN, 1, ROOT)
    with pytest.raises(AttributeError):
        cp.size = 2  # type: ignore[misc]
    assert "size=1" in repr(cp)
    assert ROOT.hex() in repr(cp)


def test_agency_origin_convention() -> None:
    assert agency_log_origin("XA-NPOL", network="safeshare.example") == ORIGIN
    assert agency_of_log_origin(ORIGIN) == ("safeshare.example", "XA-NPOL")
    for bad in (
        "safeshare.example/xa-npol/audit",
        "safeshare.example/XA-NPOL/log",
        "SafeShare.example/XA-NPOL/audit",
        "safeshare.example/XA-NPOL/audit/",
        "/XA-NPOL/audit",
        "https://safeshare.example/XA-NPOL/audit",
    ):
        assert agency_of_log_origin(bad) is None
    with pytest.raises(UsageError):
        agency_log_origin("XA-NPOL", network="Bad Network")
    with pytest.raises(UsageError):
        agency_log_origin("not-an-agency", network="safeshare.example")
