"""Audit entries: strict fields, one canonical encoding, strict decoding."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeshare.audit.entry import (
    ACTIONS,
    MAX_ENTRY_BYTES,
    MAX_REASON_LENGTH,
    MAX_SUBJECTS,
    OUTCOMES,
    AuditEntry,
    decode,
    encode,
)
from safeshare.errors import MalformedInputError, OversizedInputError, UsageError

DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
TOKEN = "Zm9vYmFyYmF6cXV4cXV1eA"

FULL: dict[str, Any] = {
    "action": "open",
    "time": 1_795_000_000,
    "actor": "officer 4711 (case desk)",
    "agency": "XB-PROS",
    "counterparty": "XA-NPOL",
    "jti": "AAECAwQFBgcICQoLDA0ODw",
    "envelope_digest": DIGEST,
    "purpose": "investigation",
    "outcome": "success",
    "reason": "opened for case 2026/117 — Überprüfung",
    "subjects": [TOKEN],
}
FULL_BYTES = (
    '{"action":"open","time":1795000000,"actor":"officer 4711 (case desk)",'
    '"agency":"XB-PROS","counterparty":"XA-NPOL","jti":"AAECAwQFBgcICQoLDA0ODw",'
    f'"envelope_digest":"{DIGEST}","purpose":"investigation","outcome":"success",'
    '"reason":"opened for case 2026/117 — Überprüfung","subjects":["Zm9vYmFyYmF6cXV4cXV1eA"]}'
).encode()

MINIMAL = AuditEntry(action="deny", time=0, actor="gateway", agency="XA-NPOL", outcome="denied")
MINIMAL_BYTES = (
    b'{"action":"deny","time":0,"actor":"gateway","agency":"XA-NPOL","counterparty":null,'
    b'"jti":null,"envelope_digest":null,"purpose":null,"outcome":"denied","reason":null,'
    b'"subjects":[]}'
)


def full_entry(**changes: Any) -> AuditEntry:
    fields = dict(FULL, subjects=tuple(FULL["subjects"]))
    fields.update(changes)
    return AuditEntry(**fields)


def test_canonical_encoding_is_fixed() -> None:
    assert encode(full_entry()) == FULL_BYTES
    assert encode(MINIMAL) == MINIMAL_BYTES


def test_round_trip() -> None:
    assert decode(FULL_BYTES) == full_entry()
    assert decode(MINIMAL_BYTES) == MINIMAL
    assert decode(bytearray(MINIMAL_BYTES)) == MINIMAL
    assert decode(memoryview(MINIMAL_BYTES)) == MINIMAL


def test_field_order_is_the_declaration_order() -> None:
    keys = list(json.loads(FULL_BYTES))
    assert keys == list(AuditEntry.__struct_fields__)
    assert keys == [
        "action",
        "time",
        "actor",
        "agency",
        "counterparty",
        "jti",
        "envelope_digest",
        "purpose",
        "outcome",
        "reason",
        "subjects",
    ]


def test_every_action_and_outcome() -> None:
    assert len(ACTIONS) == 19
    assert sorted(OUTCOMES) == ["denied", "error", "success"]
    for action in sorted(ACTIONS):
        for outcome in sorted(OUTCOMES):
            entry = full_entry(action=action, outcome=outcome)
            assert decode(encode(entry)) == entry


def test_entries_are_immutable() -> None:
    entry = full_entry()
    with pytest.raises(AttributeError):
        entry.actor = "someone else"  # type: ignore[misc]
    assert isinstance(entry.subjects, tuple)


def test_keyword_only() -> None:
    with pytest.raises(TypeError):
        AuditEntry("open", 1, "x", "XA-NPOL", outcome="success")  # type: ignore[call-arg]


BAD_FIELDS: list[tuple[str, Any, type[Exception]]] = [
    ("action", "read", MalformedInputError),
    ("action", "OPEN", MalformedInputError),
    ("outcome", "ok", MalformedInputError),
    ("time", -1, MalformedInputError),
    ("time", 2**53, MalformedInputError),
    ("time", True, MalformedInputError),
    ("time", 1.5, MalformedInputError),
    ("time", "1", MalformedInputError),
    ("actor", "", MalformedInputError),
    ("actor", "a" * 257, OversizedInputError),
    ("actor", "officer\nINJECTED LINE", MalformedInputError),
    ("actor", "officer\u2028x", MalformedInputError),
    ("actor", "officer\x00", MalformedInputError),
    ("actor", "officer\x85", MalformedInputError),
    ("actor", "\ud800", MalformedInputError),
    ("actor", None, MalformedInputError),
    ("agency", "xa-npol", MalformedInputError),
    ("agency", "XA", MalformedInputError),
    ("agency", "XA-NPOL\n", MalformedInputError),
    ("counterparty", "XB PROS", MalformedInputError),
    ("counterparty", 5, MalformedInputError),
    ("jti", "", MalformedInputError),
    ("jti", "has space", MalformedInputError),
    ("jti", "x" * 257, MalformedInputError),
    ("envelope_digest", DIGEST.upper(), MalformedInputError),
    ("envelope_digest", DIGEST[:-1], MalformedInputError),
    ("envelope_digest", "sha256:" + DIGEST, MalformedInputError),
    ("purpose", "Investigation", MalformedInputError),
    ("purpose", "", MalformedInputError),
    ("reason", "", MalformedInputError),
    ("reason", "r" * (MAX_REASON_LENGTH + 1), OversizedInputError),
    ("reason", "line one\r\nline two", MalformedInputError),
    ("subjects", ("short",), MalformedInputError),
    ("subjects", ("has/slash" + "x" * 16,), MalformedInputError),
    ("subjects", (TOKEN, TOKEN), MalformedInputError),
    ("subjects", tuple(f"{TOKEN}{i:04d}" for i in range(MAX_SUBJECTS + 1)), OversizedInputError),
    ("subjects", (5,), MalformedInputError),
]


@pytest.mark.parametrize(("field", "value", "error"), BAD_FIELDS)
def test_building_a_bad_entry_is_refused(field: str, value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        full_entry(**{field: value})


@pytest.mark.parametrize(("field", "value", "error"), BAD_FIELDS)
def test_decoding_a_bad_entry_is_refused(field: str, value: Any, error: type[Exception]) -> None:
    fields = dict(FULL)
    fields[field] = list(value) if isinstance(value, tuple) else value
    text = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    data = text.encode("utf-8", "surrogatepass")
    with pytest.raises(MalformedInputError):
        decode(data)


def test_subjects_are_built_as_a_tuple() -> None:
    with pytest.raises(MalformedInputError, match="tuple"):
        full_entry(subjects=[TOKEN])


def test_limits_are_accepted() -> None:
    entry = full_entry(
        actor="a" * 256,
        reason="€" * MAX_REASON_LENGTH,
        jti="~" * 256,
        subjects=tuple(f"{TOKEN}{i:04d}" + "x" * 102 for i in range(MAX_SUBJECTS)),
        time=2**53 - 1,
    )
    data = encode(entry)
    assert len(data) <= MAX_ENTRY_BYTES
    assert decode(data) == entry


def test_updating_with_replace_is_checked() -> None:
    entry = full_entry()
    assert msgspec.structs.replace(entry, time=5).time == 5
    with pytest.raises(MalformedInputError):
        msgspec.structs.replace(entry, agency="nobody")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (FULL_BYTES[:-1] + b',"content":"the record itself"}', "unknown field"),
        (FULL_BYTES.replace(b'"time":1795000000', b'"time":1795000000,"time":1'), "more than once"),
        (FULL_BYTES.replace(b',"subjects":["Zm9vYmFyYmF6cXV4cXV1eA"]', b""), "lacks the field"),
        (FULL_BYTES.replace(b'"purpose":"investigation",', b""), "lacks the field"),
        (b" " + FULL_BYTES, "canonical"),
        (FULL_BYTES.replace(b'","', b'", "', 1), "canonical"),
        (FULL_BYTES.replace("Ü".encode(), b"\\u00dc"), "canonical"),
        (FULL_BYTES.replace(b'"time":1795000000', b'"time":1.795e9'), "int"),
        (FULL_BYTES.replace(b'"time":1795000000', b'"time":NaN'), "not valid JSON"),
        (FULL_BYTES.replace(b'"time":1795000000', b'"time":1e400'), "not finite"),
        (FULL_BYTES.replace(b'"time":1795000000', b'"time":99999999999999999999'), "2\\*\\*53"),
        (b"\xef\xbb\xbf" + FULL_BYTES, "byte order mark"),
        (FULL_BYTES.replace(b"gateway", b"\xff") + b"\xff", "not UTF-8"),
        (b"[]", "not a JSON object"),
        (b"null", "not a JSON object"),
        (b"", "not valid JSON"),
        (b"{" * 100, "not valid JSON|nested"),
        (b'{"action":', "not valid JSON"),
    ],
)
def test_decode_refuses_hostile_bytes(data: bytes, message: str) -> None:
    with pytest.raises(MalformedInputError, match=message):
        decode(data)


def test_decode_size_cap() -> None:
    padded = FULL_BYTES[:-1] + b"," + b" " * MAX_ENTRY_BYTES + b"}"
    with pytest.raises(OversizedInputError):
        decode(padded)


def test_codec_usage_errors() -> None:
    with pytest.raises(UsageError):
        encode({"action": "open"})  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        decode("text")  # type: ignore[arg-type]


def test_entries_never_hold_record_content() -> None:
    """There is no field for content: a record smuggled in is refused."""
    assert "content" not in AuditEntry.__struct_fields__
    assert "data" not in AuditEntry.__struct_fields__
    with pytest.raises(TypeError):
        AuditEntry(  # type: ignore[call-arg]
            action="open", time=1, actor="x", agency="XA-NPOL", outcome="success", content="x"
        )


# -- property: every valid entry has exactly one encoding ---------------------------------

printable = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
    ),
    min_size=1,
    max_size=40,
)
agency = st.from_regex(r"[A-Z]{2}(?:-[A-Z0-9]{1,24}){1,4}", fullmatch=True)


@st.composite
def entries(draw: st.DrawFn) -> AuditEntry:
    return AuditEntry(
        action=draw(st.sampled_from(sorted(ACTIONS))),
        time=draw(st.integers(0, 2**53 - 1)),
        actor=draw(printable),
        agency=draw(agency),
        counterparty=draw(st.none() | agency),
        jti=draw(st.none() | st.from_regex(r"[\x21-\x7e]{1,40}", fullmatch=True)),
        envelope_digest=draw(st.none() | st.from_regex(r"[0-9a-f]{64}", fullmatch=True)),
        purpose=draw(st.none() | st.from_regex(r"[a-z][a-z0-9_.-]{0,20}", fullmatch=True)),
        outcome=draw(st.sampled_from(sorted(OUTCOMES))),
        reason=draw(st.none() | printable),
        subjects=tuple(
            draw(
                st.lists(
                    st.from_regex(r"[A-Za-z0-9_-]{16,40}", fullmatch=True), max_size=4, unique=True
                )
            )
        ),
    )


@settings(max_examples=300, deadline=None)
@given(entries())
def test_round_trip_property(entry: AuditEntry) -> None:
    data = encode(entry)
    assert decode(data) == entry
    assert encode(decode(data)) == data
    assert list(json.loads(data)) == list(AuditEntry.__struct_fields__)
