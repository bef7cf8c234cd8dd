"""C2SP signed notes: vectors, round trips, every malformed form, verification rules."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Final

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeshare.audit.note import (
    MAX_NOTE_BYTES,
    MAX_SIGNATURES,
    NoteVerifier,
    VerifiedSignature,
    add_signature_lines,
    b64std_decode,
    compute_key_id,
    format_vkey,
    open_note,
    parse_vkey,
    sign_note,
    signature_line,
)
from safeshare.errors import (
    MalformedInputError,
    OversizedInputError,
    UsageError,
    VerificationError,
)
from safeshare.keys import SigningKey, VerifyKey

# -- vectors of the reference implementation (golang.org/x/mod/sumdb/note, note_test.go) --
# The C2SP signed-note text gives an example note but not its key, so it can only be
# parsed (below); the Go package's published key pair and notes are checked byte for byte.
PETER_VKEY: Final = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY: Final = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY: Final = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT: Final = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG: Final = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
ENOCH_SIG: Final = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
PETER_NOTE: Final = TEXT + "\n" + PETER_SIG

# The example of C2SP signed-note, section "Note" (its key is not published).
SPEC_NOTE: Final = (
    "Ognuno sta solo sul cuor della terra\n"
    "trafitto da un raggio di sole:\n"
    "\n"
    "ed è subito sera.\n"
    "\n"
    "— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
)


def peter_signing_key() -> SigningKey:
    # PRIVATE+KEY+<name>+<hash>+base64(0x01 || 32-byte seed)
    material = base64.b64decode(PETER_SKEY.split("+", 4)[4])
    assert material[0] == 0x01
    return SigningKey.from_private_bytes(material[1:])


@pytest.fixture(scope="module")
def peter() -> NoteVerifier:
    return NoteVerifier.from_vkey(PETER_VKEY)


@pytest.fixture(scope="module")
def enoch() -> NoteVerifier:
    return NoteVerifier.from_vkey(ENOCH_VKEY)


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


@dataclass
class RecordingVerifier:
    """A trusted key that accepts any signature and records what it was asked."""

    name: str
    key_id: bytes
    seen: list[tuple[bytes, bytes]] = field(default_factory=list)

    def verify(self, text: bytes, signature: bytes) -> None:
        self.seen.append((text, signature))


# -- reference vectors -------------------------------------------------------------------


def test_go_verifier_key_parses_and_formats_back(peter: NoteVerifier) -> None:
    assert peter.name == "PeterNeumann"
    assert peter.key_id == bytes.fromhex("c74f20a3")
    assert peter.vkey == PETER_VKEY
    assert peter == NoteVerifier("PeterNeumann", peter_signing_key().public)


def test_sign_reproduces_the_go_note_byte_for_byte() -> None:
    assert sign_note(TEXT, "PeterNeumann", peter_signing_key()) == PETER_NOTE


def test_go_note_opens(peter: NoteVerifier) -> None:
    text, sigs = open_note(PETER_NOTE, [peter])
    assert text == TEXT
    assert [(s.name, s.key_id.hex(), s.verifier) for s in sigs] == [
        ("PeterNeumann", "c74f20a3", peter)
    ]


def test_go_note_with_two_signers(peter: NoteVerifier, enoch: NoteVerifier) -> None:
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    _, only_peter = open_note(note, [peter])  # Enoch's signature: unknown, ignored
    assert [s.name for s in only_peter] == ["PeterNeumann"]
    _, both = open_note(note, [peter, enoch])
    assert [s.name for s in both] == ["PeterNeumann", "EnochRoot"]
    with pytest.raises(VerificationError, match=r"not signed by any trusted key \(2 signature"):
        open_note(note, [])


def test_go_note_invalid_signature(peter: NoteVerifier) -> None:
    bad = TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(VerificationError, match="PeterNeumann"):
        open_note(bad, [peter])


def test_go_duplicated_signatures_are_accepted_once(peter: NoteVerifier) -> None:
    note = TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG
    _, sigs = open_note(note, [peter])
    assert len(sigs) == 1


@pytest.mark.parametrize(
    "note",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT
        + "\n"
        + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
    ],
)
def test_go_malformed_messages(note: str, peter: NoteVerifier) -> None:
    with pytest.raises(MalformedInputError):
        open_note(note, [peter])


def test_go_malformed_message_invalid_utf8(peter: NoteVerifier) -> None:
    with pytest.raises(MalformedInputError, match="UTF-8"):
        open_note(b"\xff" + PETER_NOTE.encode(), [peter])


def test_go_verifier_key_manglings_are_refused() -> None:
    raw = PETER_VKEY.encode()
    for i in range(len(raw) + 1):
        for j in range(i + 1, len(raw) + 1):
            if (i, j) != (0, len(raw)):
                with pytest.raises(MalformedInputError):
                    NoteVerifier.from_vkey(raw[i:j].decode())
    for i in range(len(raw)):
        mangled = bytearray(raw)
        mangled[i] += 1
        with pytest.raises(MalformedInputError):
            NoteVerifier.from_vkey(mangled.decode())
    # wrong key length, and unknown algorithm, each with an adjusted key ID
    with pytest.raises(MalformedInputError):
        NoteVerifier.from_vkey(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
    with pytest.raises(MalformedInputError, match="type 0x65"):
        NoteVerifier.from_vkey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_spec_example_parses_with_a_blank_line_inside_the_text() -> None:
    blob = base64.b64decode(SPEC_NOTE.rsplit(" ", 1)[1])
    recorder = RecordingVerifier("quasimodo.example/salvatore", blob[:4])
    text, sigs = open_note(SPEC_NOTE, [recorder])
    assert text == SPEC_NOTE[: SPEC_NOTE.rindex("\n\n") + 1]
    assert text.endswith("ed è subito sera.\n")
    assert "\n\n" in text
    assert recorder.seen == [(text.encode("utf-8"), blob[4:])]
    assert len(blob[4:]) == 64  # an Ed25519 signature
    assert sigs[0].signature == blob[4:]


def test_spec_example_with_unknown_key_is_rejected(peter: NoteVerifier) -> None:
    with pytest.raises(VerificationError, match="1 signature"):
        open_note(SPEC_NOTE, [peter])


# -- independent derivation from the specification text -----------------------------------


def test_key_id_and_signature_derived_by_hand(key: SigningKey) -> None:
    """signed-note §"Ed25519 signatures": key ID = SHA-256(name || 0x0A || 0x01 || key)[:4];
    the signature line carries base64(key ID || Ed25519(text))."""
    name = "safeshare.example/XA-NPOL/audit"
    text = "line one\nline two\n"
    note = sign_note(text, name, key)
    pub = key.public.raw
    assert note.startswith(text + "\n\u2014 " + name + " ")
    assert note.endswith("\n")
    blob = base64.b64decode(note[len(text) + 1 :].split(" ")[2].rstrip("\n"), validate=True)
    want_id = hashlib.sha256(name.encode() + b"\n" + b"\x01" + pub).digest()[:4]
    assert blob[:4] == want_id
    Ed25519PublicKey.from_public_bytes(pub).verify(blob[4:], text.encode())
    material = base64.b64encode(b"\x01" + pub).decode()
    assert format_vkey(name, 0x01, pub) == f"{name}+{want_id.hex()}+{material}"


def test_compute_key_id_includes_the_type_byte(key: SigningKey) -> None:
    pub = key.public.raw
    assert compute_key_id("n", 1, pub) != compute_key_id("n", 4, pub)
    assert compute_key_id("n", 1, pub) == hashlib.sha256(b"n\n\x01" + pub).digest()[:4]
    with pytest.raises(UsageError):
        compute_key_id("n", 256, pub)


# -- round trips ----------------------------------------------------------------------------


def test_round_trip(key: SigningKey) -> None:
    verifier = NoteVerifier("example.com/log", key.public)
    note = sign_note("hello\n\nworld\n", "example.com/log", key)
    text, sigs = open_note(note, [verifier])
    assert text == "hello\n\nworld\n"
    assert sigs == [
        VerifiedSignature("example.com/log", verifier.key_id, sigs[0].signature, verifier)
    ]
    assert open_note(note.encode(), [verifier])[0] == text  # bytes are accepted too


def test_vkey_round_trip_and_upper_case_hex(key: SigningKey) -> None:
    verifier = NoteVerifier("example.com/log", key.public)
    assert NoteVerifier.from_vkey(verifier.vkey) == verifier
    name, key_id, rest = verifier.vkey.split("+", 2)
    assert NoteVerifier.from_vkey(f"{name}+{key_id.upper()}+{rest}") == verifier
    parsed = parse_vkey(verifier.vkey)
    assert (parsed.name, parsed.sig_type, parsed.public_key) == (
        "example.com/log",
        1,
        key.public.raw,
    )


def test_vkey_of_another_type_is_refused(key: SigningKey) -> None:
    with pytest.raises(MalformedInputError, match="type 0x04"):
        NoteVerifier.from_vkey(format_vkey("w.example", 0x04, key.public.raw))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(
        st.text(
            st.characters(min_codepoint=0x20, codec="utf-8"),
            max_size=40,
        ),
        min_size=1,
        max_size=6,
    ),
    position=st.integers(min_value=0),
    delta=st.integers(min_value=1, max_value=255),
)
def test_any_single_byte_change_is_refused(
    key: SigningKey, lines: list[str], position: int, delta: int
) -> None:
    text = "".join(line + "\n" for line in lines)
    if text.startswith("cosignature/v1\n"):
        return
    verifier = NoteVerifier("example.com/log", key.public)
    note = sign_note(text, "example.com/log", key).encode()
    assert open_note(note, [verifier])[0] == text
    mutated = bytearray(note)
    mutated[position % len(note)] = (mutated[position % len(note)] + delta) % 256
    with pytest.raises((MalformedInputError, VerificationError)):
        open_note(bytes(mutated), [verifier])


# -- malformed notes, each with its error ---------------------------------------------------


@pytest.fixture(scope="module")
def signed(key: SigningKey) -> tuple[str, NoteVerifier]:
    return sign_note("origin\n1\n", "example.com/log", key), NoteVerifier(
        "example.com/log", key.public
    )


def _sig_line(note: str) -> str:
    return note[note.rindex("\n\n") + 2 :]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda n: n[:-1], "does not end in a newline"),  # missing final newline
        (lambda n: n.replace("\n\n", "\n"), "needs a blank line"),  # no blank line
        (lambda n: n + "\n", "no signature lines"),  # ends with a blank line
        (lambda n: n.replace("\u2014 ", "-- "), "em dash"),  # ASCII instead of em dash
        (lambda n: n.replace("\u2014 ", "\u2013 "), "em dash"),  # en dash
        (lambda n: n.replace("\u2014 ", "\u2015 "), "em dash"),  # horizontal bar
        (lambda n: n.replace("\u2014 ", "\u2014"), "em dash"),  # no space
        (lambda n: n.replace("\u2014 ", "\u2014  "), "key name"),  # empty name
        (lambda n: n.replace("example.com/log", "example.com/log+x"), "'\\+'"),
        (lambda n: n.replace("example.com/log", "example\u3000com"), "space"),
        (lambda n: n.replace("example.com/log", "example\xa0com"), "space"),
        (lambda n: n.replace("\n", "\r\n"), "control characters"),  # CRLF
        (lambda n: n.replace("origin", "ori\tgin"), "control characters"),
        (lambda n: n.replace("origin", "ori\x00gin"), "control characters"),
        (lambda n: n[:-1] + " extra\n", "base64"),  # trailing field
        (lambda n: n + "— example.com/log\n", "lacks the space"),
    ],
)
def test_malformed_note(signed: tuple[str, NoteVerifier], change: object, message: str) -> None:
    note, verifier = signed
    assert callable(change)
    with pytest.raises(MalformedInputError, match=message):
        open_note(change(note), [verifier])


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("AAAA", "at least one byte"),  # 3 bytes: shorter than key ID + 1
        ("AAAAAA==", "at least one byte"),  # exactly a key ID
        ("not base64!", "base64"),
        ("x08go_ZJ", "base64"),  # URL-safe alphabet
        ("x08go/ZJkuBS9UG", "base64"),  # missing padding
        ("x08go/ZJkuBS9UG=", "base64"),  # missing padding, 4n+3 form with one '='
        ("AAAAAAB=", "canonical"),  # non-zero trailing bits
        ("AAAA AAA=", "base64"),
        ("", "lacks the space"),
    ],
)
def test_malformed_signature(
    signed: tuple[str, NoteVerifier], signature: str, message: str
) -> None:
    note, verifier = signed
    text = note[: note.rindex("\n\n") + 2]
    with pytest.raises(MalformedInputError, match=message):
        open_note(text + f"— example.com/log {signature}\n", [verifier])


def test_wrong_key_id_means_unknown_key(signed: tuple[str, NoteVerifier]) -> None:
    note, verifier = signed
    head, blob_b64 = note.rsplit(" ", 1)
    blob = bytearray(base64.b64decode(blob_b64))
    blob[0] ^= 1
    with pytest.raises(VerificationError, match="not signed by any trusted key"):
        open_note(head + " " + base64.b64encode(bytes(blob)).decode() + "\n", [verifier])


def test_wrong_name_means_unknown_key(signed: tuple[str, NoteVerifier]) -> None:
    note, verifier = signed
    with pytest.raises(VerificationError, match="not signed by any trusted key"):
        open_note(note.replace("example.com/log", "example.com/lob"), [verifier])


def test_wrong_length_signature_by_known_key(signed: tuple[str, NoteVerifier]) -> None:
    note, verifier = signed
    text = note[: note.rindex("\n\n") + 2]
    line = signature_line("example.com/log", verifier.key_id, bytes(63))
    with pytest.raises(VerificationError, match="63 bytes"):
        open_note(text + line, [verifier])


def test_one_bad_known_signature_rejects_the_whole_note(
    signed: tuple[str, NoteVerifier], key: SigningKey
) -> None:
    note, verifier = signed
    other = SigningKey.generate()
    second = NoteVerifier("other.example", other.public)
    forged = signature_line("other.example", second.key_id, bytes(64))
    with pytest.raises(VerificationError, match=r"other\.example"):
        open_note(note + forged, [verifier, second])
    _, sigs = open_note(note + forged, [verifier])  # unknown to this verifier: ignored
    assert len(sigs) == 1


def test_too_many_signatures(signed: tuple[str, NoteVerifier]) -> None:
    note, verifier = signed
    text, line = note[: note.rindex("\n\n") + 2], _sig_line(note)
    assert open_note(text + line * MAX_SIGNATURES, [verifier])[0]
    with pytest.raises(OversizedInputError, match="101 signature lines"):
        open_note(text + line * (MAX_SIGNATURES + 1), [verifier])
    with pytest.raises(OversizedInputError, match="17 signature lines"):
        open_note(text + line * 17, [verifier], max_signatures=16)
    with pytest.raises(UsageError, match="at least 16"):
        open_note(note, [verifier], max_signatures=15)


def test_oversized_note(key: SigningKey) -> None:
    verifier = NoteVerifier("example.com/log", key.public)
    big = sign_note("x" * 5000 + "\n", "example.com/log", key)
    size = len(big.encode())
    assert open_note(big, [verifier], max_bytes=size)[0]
    with pytest.raises(OversizedInputError):
        open_note(big, [verifier], max_bytes=size - 1)
    with pytest.raises(OversizedInputError):
        open_note(big.encode(), [verifier], max_bytes=size - 1)
    multibyte = sign_note("é" * 3000 + "\n", "example.com/log", key)  # 2 bytes each
    with pytest.raises(OversizedInputError, match="bytes"):
        open_note(multibyte, [verifier], max_bytes=len(multibyte) + 100)
    with pytest.raises(OversizedInputError):
        open_note("x" * (MAX_NOTE_BYTES + 1), [verifier])


def test_signature_line_too_long(signed: tuple[str, NoteVerifier]) -> None:
    note, verifier = signed
    text = note[: note.rindex("\n\n") + 2]
    with pytest.raises(OversizedInputError, match="signature line 1"):
        open_note(text + "— a " + "A" * 9000 + "\n", [verifier])


def test_lone_surrogate_and_non_text(signed: tuple[str, NoteVerifier]) -> None:
    note, verifier = signed
    with pytest.raises(MalformedInputError, match="UTF-8"):
        open_note("\ud800" + note, [verifier])
    with pytest.raises(MalformedInputError):
        open_note(42, [verifier])  # type: ignore[arg-type]


def test_cosignature_message_is_never_a_note(key: SigningKey) -> None:
    """A note key must not be tricked into cosigning, or a cosignature replayed as a note."""
    text = "cosignature/v1\ntime 1\norigin\n1\n"
    with pytest.raises(UsageError, match="cosignature"):
        sign_note(text, "example.com/log", key)
    verifier = NoteVerifier("example.com/log", key.public)
    forged = (
        text + "\n" + signature_line("example.com/log", verifier.key_id, key.sign(text.encode()))
    )
    with pytest.raises(VerificationError, match="cosignature"):
        open_note(forged, [verifier])


# -- verifier configuration -------------------------------------------------------------------


def test_ambiguous_verifiers_are_a_usage_error(
    signed: tuple[str, NoteVerifier],
) -> None:
    note, verifier = signed
    impostor = RecordingVerifier(verifier.name, verifier.key_id)
    with pytest.raises(UsageError, match="ambiguous"):
        open_note(note, [verifier, impostor])
    assert open_note(note, [verifier, verifier])[1][0].verifier is verifier  # same key twice: fine


def test_non_verifier_is_a_usage_error(signed: tuple[str, NoteVerifier]) -> None:
    note, _ = signed
    with pytest.raises(UsageError):
        open_note(note, ["not a verifier"])  # type: ignore[list-item]


# -- signing input checks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("no newline", "n", "end with a newline"),
        ("", "n", "end with a newline"),
        ("tab\there\n", "n", "control"),
        ("cr\r\n", "n", "control"),
        ("\ud800\n", "n", "UTF-8"),
        ("ok\n", "", "non-empty"),
        ("ok\n", "a b", "space"),
        ("ok\n", "a+b", "'\\+'"),
        ("ok\n", "a\x01b", "control"),
        ("ok\n", "n" * 1025, "at most 1024"),
    ],
)
def test_sign_note_refuses(key: SigningKey, text: str, name: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        sign_note(text, name, key)


def test_sign_note_needs_a_signing_key(key: SigningKey) -> None:
    with pytest.raises(UsageError):
        sign_note("ok\n", "n", key.public)  # type: ignore[arg-type]


def test_note_verifier_needs_a_verify_key(key: SigningKey) -> None:
    with pytest.raises(UsageError):
        NoteVerifier("n", key)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        NoteVerifier("bad name", key.public)
    assert repr(NoteVerifier("n", key.public)).startswith("NoteVerifier('n', key_id=")
    assert len({NoteVerifier("n", key.public), NoteVerifier("n", key.public)}) == 1


def test_add_signature_lines(key: SigningKey) -> None:
    a, b = NoteVerifier("a.example", key.public), SigningKey.generate()
    note = sign_note("body\n", "a.example", key)
    extra = _sig_line(sign_note("body\n", "b.example", b))
    combined = add_signature_lines(note, extra)
    _, sigs = open_note(combined, [a, NoteVerifier("b.example", b.public)])
    assert [s.name for s in sigs] == ["a.example", "b.example"]
    with pytest.raises(MalformedInputError):
        add_signature_lines(note, "— b.example nope\n")
    with pytest.raises(MalformedInputError):
        add_signature_lines(note, "")
    with pytest.raises(MalformedInputError):
        add_signature_lines("body\n", extra)


def test_signature_line_checks_its_inputs() -> None:
    with pytest.raises(UsageError):
        signature_line("n", b"123", b"sig")
    with pytest.raises(UsageError):
        signature_line("n", b"1234", b"")


def test_b64std_decode_is_strict() -> None:
    assert b64std_decode("AAECAw==", what="x") == b"\x00\x01\x02\x03"
    for bad in ("AAECAw", "AAECAw=", "AAECAx==", "AAEC\nAw==", "AAECAw==\n", "AA-_", "é"):
        with pytest.raises(MalformedInputError):
            b64std_decode(bad, what="x")


def test_verify_key_from_spec_example_has_32_bytes() -> None:
    assert len(NoteVerifier.from_vkey(PETER_VKEY).key.raw) == 32
    assert isinstance(NoteVerifier.from_vkey(ENOCH_VKEY).key, VerifyKey)
