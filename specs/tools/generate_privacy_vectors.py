"""Write the privacy test vectors in ``specs/vectors/privacy/`` (one JSON file per case).

Usage: ``python specs/tools/generate_privacy_vectors.py [--check]``. With
``--check`` it writes nothing and exits 1, listing every file that differs,
is missing or should not be there.

Three kinds of case, each a derivation another implementation must reproduce
exactly for agencies to interoperate:

* ``pseudonym-...``: :meth:`PrivacySecret.pseudonym` of a JSON value for a
  domain (issuer, recipient, case);
* ``blind-index-...``: :func:`~safeshare.privacy.blind_index.normalize` of a
  subject identifier and its blind-index token;
* ``generalize-...``: a generalization (given as a small JSON object, see
  :func:`generalization_from_spec`) applied to one value.

The secrets are ``SHA-256("safeshare-vectors-v1/privacy-secret" || 0x00 ||
label)``: test secrets, published on purpose. Before writing anything every
case is run through the library: an expected error must be the library's,
a normalized or generalized value must be the one written by hand below, and
every pseudonym and token must equal an independent computation (RFC 5869
HKDF and RFC 2104 HMAC written out with :mod:`hmac`, the RFC 8785 canonical
JSON written out character by character), whose intermediate values go into
the vector's ``trace``.
Output is ``strictjson.pretty``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:  # run as a script: make ``specs.tools`` importable
    sys.path.insert(0, str(_ROOT))

from safeshare._internal import strictjson  # noqa: E402
from safeshare.conformance.adapter import (  # noqa: E402
    GENERALIZATIONS,
    generalization_from_json,
)
from safeshare.conformance.runner import same_json  # noqa: E402
from safeshare.errors import SafeShareError, UsageError  # noqa: E402
from safeshare.privacy.blind_index import normalize  # noqa: E402
from safeshare.privacy.secret import PrivacySecret, canonical_json  # noqa: E402
from specs.tools._files import write_or_check  # noqa: E402

VECTOR_DIR: Final = _ROOT / "specs" / "vectors" / "privacy"
SEED: Final = b"safeshare-vectors-v1"

USAGE: Final = UsageError.code
MALFORMED: Final = "malformed"

#: Vector kind -> id prefix.
PREFIXES: Final = {
    "pseudonym": "pseudonym-",
    "blind_index": "blind-index-",
    "generalize": "generalize-",
}
#: HKDF ``info`` labels (RFC 5869) of the two keyed derivations.
PSEUDONYM_INFO: Final = b"safeshare/v1/pseudonym"
BLIND_INDEX_INFO: Final = b"safeshare/v1/blind-index"

#: The JSON members of each generalization type (besides ``type``) and their defaults.
GENERALIZATION_MEMBERS: Final = GENERALIZATIONS


def derived_secret(label: str) -> str:
    """A published test secret, as lowercase hex."""
    return hashlib.sha256(SEED + b"/privacy-secret\x00" + label.encode("utf-8")).hexdigest()


SECRET: Final = derived_secret("XA-NPOL")
OTHER_SECRET: Final = derived_secret("XB-PROS")
ISSUER: Final = "XA-NPOL"
RECIPIENT: Final = "XB-PROS"
CASE_REF: Final = "XA-NPOL/2026/0042"


# -- the library ----------------------------------------------------------------------------


def run(vector: Mapping[str, Any]) -> dict[str, Any]:
    """The library's result for *vector*, in the form of ``expected``."""
    kind = vector["kind"]
    try:
        if kind == "pseudonym":
            secret = PrivacySecret(bytes.fromhex(vector["secret"]))
            pseudonym = secret.pseudonym(
                vector["value"],
                issuer=vector["issuer"],
                recipient=vector["recipient"],
                case_ref=vector["case_ref"],
            )
            return {"result": "valid", "pseudonym": pseudonym}
        if kind == "blind_index":
            secret = PrivacySecret(bytes.fromhex(vector["secret"]))
            normalized = normalize(vector["subject_kind"], vector["value"])
            token = secret.blind_token(vector["subject_kind"], normalized)
            return {"result": "valid", "normalized": normalized, "token": token}
        generalization = generalization_from_json(vector["generalization"])
        generalized = generalization.apply(vector["value"])
        return {"result": "valid", "generalized": generalized, "label": generalization.label}
    except SafeShareError as exc:
        return {"result": "invalid", "error": exc.code}


# -- the independent computation (the vector's trace) ---------------------------------------


def hkdf_sha256(ikm: bytes, info: bytes) -> bytes:
    """RFC 5869 with SHA-256, no salt (HashLen zero bytes), L = 32: one expand block."""
    prk = hmac.new(b"\x00" * 32, ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def frame(*parts: bytes) -> bytes:
    """Each part as its length (4 bytes, big-endian) and then its bytes."""
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


#: I-JSON's integer range (RFC 7493 section 2.2): the only numbers a pseudonym takes.
MAX_SAFE_INTEGER: Final = 2**53 - 1
#: RFC 8785 section 3.2.2.2: the control characters with a two-character escape.
SHORT_ESCAPES: Final = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"}


def utf16_code_units(text: str) -> list[int]:
    """The UTF-16 code units of *text* (a character above U+FFFF is a surrogate pair)."""
    units: list[int] = []
    for char in text:
        point = ord(char)
        if point > 0xFFFF:
            point -= 0x10000
            units += [0xD800 + (point >> 10), 0xDC00 + (point & 0x3FF)]
        else:
            units.append(point)
    return units


def jcs_string(text: str) -> str:
    """RFC 8785 section 3.2.2.2: escape '"', '\\' and U+0000-U+001F only."""
    out = ['"']
    for char in text:
        point = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif point < 0x20:
            out.append(SHORT_ESCAPES.get(point, f"\\u{point:04x}"))
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def jcs(value: Any) -> str:
    """The canonical JSON (RFC 8785) of a pseudonym value, written out by hand.

    Only text, true, false, null, integers within +/-(2**53 - 1) and arrays
    and objects of these; anything else (a number with a fraction or an
    exponent, which JSON parsers read as a float) raises :class:`ValueError`.
    Object members are sorted by the UTF-16 code units of their names.
    """
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError("an integer beyond I-JSON's range")
        return str(value)
    if isinstance(value, str):
        return jcs_string(value)
    if isinstance(value, list):
        return "[" + ",".join(jcs(item) for item in value) + "]"
    if isinstance(value, dict):
        names = sorted(value, key=utf16_code_units)
        return "{" + ",".join(f"{jcs_string(n)}:{jcs(value[n])}" for n in names) + "}"
    raise ValueError(f"not a pseudonym value: {type(value).__name__}")


def trace(vector: Mapping[str, Any]) -> dict[str, Any]:
    """The intermediate values of a valid pseudonym or blind-index vector, computed by hand."""
    ikm = bytes.fromhex(vector["secret"])
    if vector["kind"] == "pseudonym":
        key = hkdf_sha256(ikm, PSEUDONYM_INFO)
        text = jcs(vector["value"])
        message = frame(
            vector["issuer"].encode("utf-8"),
            vector["recipient"].encode("utf-8"),
            vector["case_ref"].encode("utf-8"),
            text.encode("utf-8"),
        )
        extra = {"value_json": text}
        info = PSEUDONYM_INFO
    else:
        key = hkdf_sha256(ikm, BLIND_INDEX_INFO)
        normalized = vector["expected"]["normalized"]
        message = frame(vector["subject_kind"].encode("utf-8"), normalized.encode("utf-8"))
        extra = {}
        info = BLIND_INDEX_INFO
    mac = hmac.new(key, message, hashlib.sha256).digest()
    return {
        "hkdf_info": info.decode("ascii"),
        "key": key.hex(),
        **extra,
        "hmac_input": message.hex(),
        "hmac": mac.hex(),
    }


# -- cases ----------------------------------------------------------------------------------

PSEUDONYM_RULE: Final = (
    " Rule (PrivacySecret.pseudonym): key = HKDF-SHA256 (RFC 5869, no salt, info "
    "'safeshare/v1/pseudonym', 32 bytes) of the secret; pseudonym = 'pn_' and the unpadded "
    "base64url (RFC 4648 section 5) of the first 16 bytes of HMAC-SHA256 (RFC 2104) over the "
    "frame of issuer, recipient, case_ref and the canonical JSON (RFC 8785: no white space, "
    "object members sorted by the UTF-16 code units of their names) of the value, each part "
    "preceded by its length in bytes (4 bytes, big-endian). The value is text, true, false, "
    "null, an integer within +/-(2**53 - 1) (RFC 7493 section 2.2) written without a fraction "
    "or exponent, or an array or object of these; any other value (a number with a fraction "
    "or exponent, 1.0 included) is refused (code usage)."
)
BLIND_RULE: Final = (
    " Token (PrivacySecret.blind_token): unpadded base64url of HMAC-SHA256 (RFC 2104) under "
    "the HKDF-SHA256 (RFC 5869, no salt, info 'safeshare/v1/blind-index') key of the secret, "
    "over the frame of the kind and the normalized value (each preceded by its length in "
    "bytes, 4 bytes big-endian): 43 characters."
)
BLIND_INVALID_RULE: Final = (
    " The identifier is refused (code usage) before any token is computed (blind_index.normalize)."
)
GENERALIZATION_RULES: Final = {
    "date_precision": (
        " Rule DatePrecision: an RFC 3339 (section 5.6) full-date or date-time ('T' and 'Z' "
        "in either case, any fractional seconds, second 60 read as 59), or a date-time "
        "without an offset, years 0001-9999, becomes 'YYYY' (year), 'YYYY-MM' (month) or, for "
        "a date-time only, 'YYYY-MM-DD' (day); a date-time with an offset is converted to UTC "
        "first (outside the years 0001-9999 in UTC it is malformed), one without an offset is "
        "taken as it is. Anything else is malformed."
    ),
    "ip_prefix": (
        " Rule IpPrefix: the CIDR text (RFC 4632; IPv6 in the RFC 5952 form) of the network "
        "of prefix length ipv4 (0-31, default 24) or ipv6 (0-127, default 48) that contains the "
        "address; an IPv4-mapped IPv6 address is taken as its IPv4 address, and an IPv6 zone "
        "index ('%' and 1 or more of A-Z a-z 0-9 - . _ ~) is dropped."
    ),
    "grid": (
        " Rule Grid: latitude and longitude each rounded to 'decimals' (0-4, default 1) decimal "
        "places: the exact binary64 value to the nearest such decimal, ties to even, then the "
        "nearest binary64; a negative zero is written 0."
    ),
    "named_areas": (
        " Rule NamedAreas: the name of the first listed box [south, west, north, east] "
        "(edges included) that contains [latitude, longitude], else 'otherwise' (default "
        "'outside the listed areas')."
    ),
    "number_bucket": (
        " Rule NumberBucket: without a width the order of magnitude of the integer part "
        "(truncated toward zero), with width w the bucket [k*w, (k+1)*w) that contains the "
        "number; integers as inclusive ranges ('1000-1499', '-500 to -1', '-(100-999)'), "
        "fractional numbers as half-open ones ('1000 to <1500'). Text must match "
        "-?[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)? (ASCII) and is an integer only without a "
        "fraction and an exponent; a magnitude above the largest finite binary64 number is "
        "malformed."
    ),
}


@dataclass(frozen=True)
class Case:
    id: str
    description: str
    kind: str
    inputs: Mapping[str, Any]
    error: str | None = None
    #: The hand-written normalized value (blind index) or generalized value (generalize).
    expect: Any = None
    given: bool = field(default=False)

    def rule(self) -> str:
        if self.kind == "pseudonym":
            return PSEUDONYM_RULE
        if self.kind == "blind_index":
            return BLIND_RULE if self.error is None else BLIND_INVALID_RULE
        spec = self.inputs["generalization"]
        kind = spec.get("type") if isinstance(spec, dict) else None
        return GENERALIZATION_RULES.get(kind, "") if isinstance(kind, str) else ""

    def to_json(self) -> dict[str, Any]:
        # Exactly what a reader of the file sees (pretty() sorts object members).
        inputs = strictjson.loads(
            strictjson.dumps_sorted(dict(self.inputs)), what=self.id, max_bytes=1 << 20
        )
        vector: dict[str, Any] = {
            "id": self.id,
            "description": self.description + self.rule(),
            "kind": self.kind,
            **inputs,
        }
        if self.error is not None:
            vector["expected"] = {"result": "invalid", "error": self.error}
            return vector
        vector["expected"] = run(vector)
        if self.kind != "generalize":
            vector["trace"] = trace(vector)
        return vector


def pseudonym(
    name: str,
    description: str,
    value: Any,
    *,
    secret: str = SECRET,
    issuer: Any = ISSUER,
    recipient: Any = RECIPIENT,
    case_ref: Any = CASE_REF,
    error: str | None = None,
) -> Case:
    inputs = {
        "secret": secret,
        "issuer": issuer,
        "recipient": recipient,
        "case_ref": case_ref,
        "value": value,
    }
    return Case(f"pseudonym-{name}", description, "pseudonym", inputs, error)


def blind(
    name: str,
    description: str,
    subject_kind: Any,
    value: Any,
    normalized: str | None = None,
    *,
    secret: str = SECRET,
) -> Case:
    """A blind-index case; without *normalized* it is invalid (``usage``)."""
    inputs = {"secret": secret, "subject_kind": subject_kind, "value": value}
    if normalized is None:
        return Case(f"blind-index-invalid-{name}", description, "blind_index", inputs, USAGE)
    return Case(f"blind-index-{name}", description, "blind_index", inputs, None, normalized, True)


def gen(name: str, description: str, spec: Any, value: Any, generalized: Any) -> Case:
    inputs = {"generalization": spec, "value": value}
    return Case(f"generalize-{name}", description, "generalize", inputs, None, generalized, True)


def gen_error(name: str, description: str, spec: Any, value: Any, error: str) -> Case:
    inputs = {"generalization": spec, "value": value}
    return Case(f"generalize-invalid-{name}", description, "generalize", inputs, error)


PHONE: Final = "+99 555 0100"
ESCAPES: Final = 'quote " backslash \\ slash / newline \n tab \t U+0001 \x01 DEL \x7f U+2028 \u2028'

PSEUDONYM_CASES: Final[tuple[Case, ...]] = (
    pseudonym(
        "string-ascii",
        "A telephone number as a JSON string, in the standard domain (issuer XA-NPOL, "
        "recipient XB-PROS, case XA-NPOL/2026/0042). The base case of the domain-separation "
        "cases pseudonym-domain-*. Pseudonym values are not normalized: other spellings of the "
        "number get other pseudonyms.",
        PHONE,
    ),
    pseudonym("string-empty", "The empty string is a JSON value like any other.", ""),
    pseudonym(
        "string-latin-diacritics",
        "Non-ASCII text: written in the canonical JSON as UTF-8, not as \\u escapes.",
        "Zoë Ünal-Łukasiewicz",
    ),
    pseudonym("string-cjk", "CJK text (3-byte UTF-8 sequences), written as UTF-8.", "山田太郎"),
    pseudonym(
        "string-non-bmp",
        "Characters outside the Basic Multilingual Plane (an emoji, a mathematical letter): "
        "4-byte UTF-8 sequences, never a surrogate-pair escape.",
        "\U0001f642 \U0001d518",
    ),
    pseudonym(
        "string-escapes",
        'Escaping: \\" and \\\\ and the short forms \\n \\t (also \\b \\f \\r) for those '
        "control characters, \\u00XX with lowercase hex for the other characters below "
        "U+0020; '/', DEL (U+007F) and U+2028 are written as they are (RFC 8259 section 7, as "
        "in RFC 8785 section 3.2.2.2).",
        ESCAPES,
    ),
    pseudonym(
        "string-nfc",
        "'José' with a precomposed é (U+00E9). Compare pseudonym-string-nfd: pseudonym values "
        "are taken as they are, without Unicode normalization.",
        "Jos\u00e9",
    ),
    pseudonym(
        "string-nfd",
        "'José' with e and a combining acute accent (U+0065 U+0301): another string than "
        "pseudonym-string-nfc, so another pseudonym.",
        "Jose\u0301",
    ),
    pseudonym(
        "string-42",
        'The string "42". Compare pseudonym-number-42: the canonical JSON keeps the type, so '
        "the two differ.",
        "42",
    ),
    pseudonym("number-42", "The integer 42 (canonical JSON 42).", 42),
    pseudonym("number-zero", "The integer 0.", 0),
    pseudonym("number-negative", "A negative integer, -17.", -17),
    pseudonym(
        "number-max-safe-integer",
        "2**53 - 1, the largest integer of the I-JSON range (RFC 7493 section 2.2), in "
        "decimal digits.",
        9007199254740991,
    ),
    pseudonym(
        "number-min-safe-integer",
        "-(2**53 - 1), the smallest integer of the I-JSON range.",
        -9007199254740991,
    ),
    pseudonym("true", "The literal true.", True),
    pseudonym("false", "The literal false.", False),
    pseudonym(
        "null",
        "The literal null. (A minimization plan leaves a null value null and never "
        "pseudonymizes it; the derivation itself is defined for it.)",
        None,
    ),
    pseudonym("array-empty", "The empty array [].", []),
    pseudonym(
        "array-mixed",
        "An array of values of every type, nested: order is kept, no whitespace.",
        [1, "a", None, True, False, [2, []], {"k": "v"}, -5],
    ),
    pseudonym("object-empty", "The empty object {}.", {}),
    pseudonym(
        "object-nested",
        "A nested object: compact, members separated by ',' and names by ':', sorted by the "
        "UTF-16 code units of their names at every level (RFC 8785 section 3.2.3; in whatever "
        "order a parser or the sender holds them, the pseudonym is the same).",
        {
            "account": {"bank": "Example Bank", "iban": "XK05 1212 0123 4567 8906"},
            "holder": "Jane Doe",
            "since": 2019,
            "tags": ["savings", "joint"],
        },
    ),
    pseudonym(
        "object-non-ascii-names",
        "Member names with non-ASCII characters, sorted by their UTF-16 code units ('name' < "
        "'nom' < 'ñame' < 'имя'), written as UTF-8.",
        {"name": "Jane", "nom": "Jeanne", "ñame": "Juana", "имя": "Яна"},
    ),
    pseudonym(
        "object-utf16-member-order",
        "The example of RFC 8785 section 3.2.3: members sorted by the UTF-16 code units of "
        "their names, so U+1F600 (the surrogate pair D83D DE00) comes before U+FB33, although "
        "its code point is larger: \\r, 1, U+0080, U+00F6, U+20AC, U+1F600, U+FB33 (see "
        "trace.value_json). Sorting by code point or by UTF-8 bytes gives another pseudonym.",
        {
            "\u20ac": "Euro Sign",
            "\r": "Carriage Return",
            "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "\U0001f600": "Emoji: Grinning Face",
            "\u0080": "Control",
            "\u00f6": "Latin Small Letter O With Diaeresis",
        },
    ),
    pseudonym(
        "object-astral-before-private-use",
        "A member name outside the Basic Multilingual Plane (U+1D518, the surrogate pair "
        "D835 DD18) sorts before one at U+E000 (private use) by UTF-16 code units, although "
        "it comes after it by code point: the canonical JSON lists U+1D518 first.",
        {"\ue000": 2, "\U0001d518": 1},
    ),
    # -- domain separation -------------------------------------------------------------------
    pseudonym(
        "domain-other-recipient",
        "Same value as pseudonym-string-ascii, another recipient (XC-CUST): an unrelated "
        "pseudonym, so two recipients cannot link their records.",
        PHONE,
        recipient="XC-CUST",
    ),
    pseudonym(
        "domain-other-case",
        "Same value and recipient as pseudonym-string-ascii, another case "
        "(XA-NPOL/2026/0043): an unrelated pseudonym, so one recipient cannot link two cases.",
        PHONE,
        case_ref="XA-NPOL/2026/0043",
    ),
    pseudonym(
        "domain-other-issuer",
        "Same value, recipient and case, another issuer (XD-FIU) with the same secret: "
        "an unrelated pseudonym.",
        PHONE,
        issuer="XD-FIU",
    ),
    pseudonym(
        "domain-other-secret",
        "Same value and domain as pseudonym-string-ascii under another agency's secret: an "
        "unrelated pseudonym (the HKDF key differs).",
        PHONE,
        secret=OTHER_SECRET,
    ),
    pseudonym(
        "domain-shifted-boundary",
        "recipient 'XB-PROSXA-NPOL' and case '/2026/0042': recipient and case concatenated "
        "are the same text as in pseudonym-string-ascii, but the length prefixes differ, so "
        "the pseudonym differs (the frame is unambiguous).",
        PHONE,
        recipient="XB-PROSXA-NPOL",
        case_ref="/2026/0042",
    ),
    pseudonym(
        "domain-non-ascii-case-ref",
        "A case reference with non-ASCII characters ('Fall/2026/Ä-7'): its length prefix "
        "counts UTF-8 bytes (14), not characters (13).",
        PHONE,
        case_ref="Fall/2026/Ä-7",
    ),
    # -- invalid -----------------------------------------------------------------------------
    pseudonym(
        "invalid-number-fraction",
        "A number with a fraction, 0.1: identifiers are text or integers, and binary64 "
        "numbers have no one canonical text across implementations; refused (code usage), "
        "never written as text. Give such a value as a JSON string.",
        0.1,
        error=USAGE,
    ),
    pseudonym(
        "invalid-number-negative-fraction",
        "-12.5, a negative number with a fraction (code usage).",
        -12.5,
        error=USAGE,
    ),
    pseudonym(
        "invalid-number-integral-fraction",
        "42.0: written with a fraction, so not an integer even though its value is whole "
        "(code usage); compare pseudonym-number-42.",
        42.0,
        error=USAGE,
    ),
    pseudonym(
        "invalid-number-exponent",
        "1e300, a number with an exponent (code usage).",
        1e300,
        error=USAGE,
    ),
    pseudonym(
        "invalid-number-in-array",
        "An array holding a number with a fraction (code usage): the whole value is refused.",
        ["+99 555 0100", 1.5],
        error=USAGE,
    ),
    pseudonym(
        "invalid-number-in-object",
        "An object member whose value has a fraction (code usage).",
        {"msisdn": "+99 555 0100", "weight": 0.5},
        error=USAGE,
    ),
    pseudonym(
        "invalid-empty-issuer",
        "The issuer is the empty string: issuer, recipient and case_ref must be non-empty "
        "strings (code usage).",
        PHONE,
        issuer="",
        error=USAGE,
    ),
    pseudonym(
        "invalid-empty-recipient",
        "The recipient is the empty string (code usage).",
        PHONE,
        recipient="",
        error=USAGE,
    ),
    pseudonym(
        "invalid-empty-case-ref",
        "The case reference is the empty string (code usage): a pseudonym always belongs to "
        "a case.",
        PHONE,
        case_ref="",
        error=USAGE,
    ),
    pseudonym(
        "invalid-null-case-ref",
        "The case reference is null (code usage).",
        PHONE,
        case_ref=None,
        error=USAGE,
    ),
    pseudonym(
        "invalid-issuer-not-a-string",
        "The issuer is the number 42, not a string (code usage).",
        PHONE,
        issuer=42,
        error=USAGE,
    ),
    pseudonym(
        "invalid-secret-31-bytes",
        "A privacy secret is exactly 32 bytes; this one has 31 (code usage).",
        PHONE,
        secret=SECRET[:62],
        error=USAGE,
    ),
    pseudonym(
        "invalid-secret-33-bytes",
        "A privacy secret of 33 bytes (code usage).",
        PHONE,
        secret=SECRET + "00",
        error=USAGE,
    ),
)

LONG_LOCAL: Final = "a" * 1012  # + "@example.org" (12 characters) = 1024

BLIND_INDEX_CASES: Final[tuple[Case, ...]] = (
    # -- phone -------------------------------------------------------------------------------
    blind(
        "phone-international",
        "An international number with spaces. Normalization (phone): NFKC, then spaces, '-', "
        "'.', '/' and parentheses dropped; '+' kept; 3-15 digits (ITU-T E.164).",
        "phone",
        PHONE,
        "+995550100",
    ),
    blind(
        "phone-dashes",
        "The number of blind-index-phone-international with dashes: the same normalized "
        "value and token.",
        "phone",
        "+99-555-0100",
        "+995550100",
    ),
    blind(
        "phone-00-prefix",
        "The international prefix written 00 (read as '+'): the same token as "
        "blind-index-phone-international.",
        "phone",
        "0099 555 0100",
        "+995550100",
    ),
    blind(
        "phone-parentheses-dots-slash",
        "Parentheses, dots and a slash as separators: the same token as "
        "blind-index-phone-international.",
        "phone",
        "+99 (555) 01.00/",
        "+995550100",
    ),
    blind(
        "phone-fullwidth",
        "Fullwidth '+', digits and an ideographic space (U+FF0B, U+FF10-FF19, U+3000): NFKC "
        "maps them to ASCII, the same token as blind-index-phone-international.",
        "phone",
        "\uff0b\uff19\uff19\u3000\uff15\uff15\uff15\u3000\uff10\uff11\uff10\uff10",
        "+995550100",
    ),
    blind(
        "phone-no-break-thin-space",
        "A no-break space (U+00A0) and a thin space (U+2009) as separators (Unicode white "
        "space): the same token as blind-index-phone-international.",
        "phone",
        "+99\u00a0555\u20090100",
        "+995550100",
    ),
    blind(
        "phone-national",
        "A national number (no '+' or 00) keeps its digits without '+': another identifier "
        "than the international form, so another token.",
        "phone",
        "(0555) 0100",
        "05550100",
    ),
    blind("phone-3-digits", "Three digits, the shortest number accepted.", "phone", "112", "112"),
    blind(
        "phone-15-digits",
        "'+' and 15 digits, the longest E.164 number.",
        "phone",
        "+123 456 789 012 345",
        "+123456789012345",
    ),
    blind(
        "phone-other-secret",
        "The number of blind-index-phone-international under another agency's secret: the "
        "same normalized value, an unrelated token.",
        "phone",
        PHONE,
        "+995550100",
        secret=OTHER_SECRET,
    ),
    blind("phone-16-digits", "'+' and 16 digits: more than E.164 allows.", "phone", "+123 456 789 012 3456"),
    blind("phone-2-digits", "'+' and 2 digits: fewer than 3.", "phone", "+12"),
    blind("phone-letters", "Letters are not separators ('ext').", "phone", "+99 555 0100 ext 7"),
    blind(
        "phone-arabic-indic-digits",
        "Arabic-Indic digits (U+0660-0669) are not changed by NFKC and are not the digits 0-9.",
        "phone",
        "+\u0669\u0669 \u0665\u0665\u0665 \u0660\u0661\u0660\u0660",
    ),
    blind(
        "phone-zero-width-space",
        "A zero width space (U+200B) is not white space and not a separator.",
        "phone",
        "+99\u200b555 0100",
    ),
    blind("phone-plus-only", "'+' and no digits.", "phone", "+"),
    # -- email -------------------------------------------------------------------------------
    blind(
        "email-lowercase",
        "An e-mail address already in normal form. Normalization (email): NFKC, white space "
        "trimmed, lower-cased (full Unicode lowercase mapping, not case folding); exactly one "
        "'@', with text on both sides; no white space inside.",
        "email",
        "jane.doe@example.org",
        "jane.doe@example.org",
    ),
    blind(
        "email-mixed-case",
        "Upper-case letters: the same token as blind-index-email-lowercase.",
        "email",
        "Jane.Doe@Example.ORG",
        "jane.doe@example.org",
    ),
    blind(
        "email-surrounding-white-space",
        "Leading spaces and a trailing newline are trimmed: the same token as "
        "blind-index-email-lowercase.",
        "email",
        "  jane.doe@example.org\n",
        "jane.doe@example.org",
    ),
    blind(
        "email-fullwidth",
        "Fullwidth letters, full stop and commercial at (U+FF41.., U+FF0E, U+FF20): NFKC maps "
        "them to ASCII, the same token as blind-index-email-lowercase.",
        "email",
        "\uff4a\uff41\uff4e\uff45\uff0e\uff44\uff4f\uff45\uff20\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff4f\uff52\uff47",
        "jane.doe@example.org",
    ),
    blind(
        "email-sharp-s",
        "'ß' stays 'ß' (lowercase mapping; case folding would give 'ss'): another token than "
        "blind-index-email-double-s.",
        "email",
        "Straße@Example.DE",
        "straße@example.de",
    ),
    blind(
        "email-double-s",
        "'STRASSE' lower-cases to 'strasse', not to 'straße'.",
        "email",
        "STRASSE@example.de",
        "strasse@example.de",
    ),
    blind(
        "email-greek-final-sigma",
        "A capital sigma at the end of a word lower-cases to the final sigma U+03C2 (the "
        "Final_Sigma rule of the Unicode lowercase mapping), the others to U+03C3.",
        "email",
        "ΟΔΥΣΣΕΑΣ@EXAMPLE.GR",
        "οδυσσεας@example.gr",
    ),
    blind(
        "email-dotted-capital-i",
        "U+0130 (capital I with dot above) lower-cases to 'i' and U+0307 (combining dot "
        "above), two code points (the unconditional SpecialCasing mapping, no locale).",
        "email",
        "İNCİ@example.com",
        "i\u0307nci\u0307@example.com",
    ),
    blind(
        "email-1024-characters",
        "An identifier of 1024 characters, the longest accepted.",
        "email",
        LONG_LOCAL + "@example.org",
        LONG_LOCAL + "@example.org",
    ),
    blind(
        "email-1025-characters",
        "An identifier of 1025 characters: longer than 1024.",
        "email",
        "a" + LONG_LOCAL + "@example.org",
    ),
    blind("email-inner-space", "White space inside the address.", "email", "jane doe@example.org"),
    blind("email-no-at", "No '@'.", "email", "jane.doe.example.org"),
    blind("email-empty-local-part", "Nothing before the '@'.", "email", "@example.org"),
    blind("email-empty-domain", "Nothing after the '@'.", "email", "jane.doe@"),
    blind(
        "email-two-at",
        "Two '@': an address has exactly one (a quoted local part with '@' is not supported).",
        "email",
        "jane@doe@example.org",
    ),
    blind("email-at-only", "Only '@'.", "email", "@"),
    # -- passport ----------------------------------------------------------------------------
    blind(
        "passport-plain",
        "A document number in normal form. Normalization (passport): NFKC, upper-cased (full "
        "Unicode uppercase mapping), white space, '-', '/' and '.' dropped; then 1-64 of A-Z "
        "and 0-9.",
        "passport",
        "AB1234567",
        "AB1234567",
    ),
    blind(
        "passport-lowercase-separators",
        "Lower case with a space, '-', '/' and '.': the same token as blind-index-passport-plain.",
        "passport",
        "ab 123-45/6.7",
        "AB1234567",
    ),
    blind(
        "passport-fullwidth",
        "Fullwidth letters and digits: NFKC maps them to ASCII, the same token as "
        "blind-index-passport-plain.",
        "passport",
        "\uff21\uff22\uff11\uff12\uff13\uff14\uff15\uff16\uff17",
        "AB1234567",
    ),
    blind(
        "passport-sharp-s",
        "'ß' upper-cases to 'SS' (full uppercase mapping), which then passes the A-Z check.",
        "passport",
        "ß123",
        "SS123",
    ),
    blind(
        "passport-64-characters",
        "64 letters and digits, the longest accepted.",
        "passport",
        "AB" + "1234567890" * 6 + "12",
        "AB" + "1234567890" * 6 + "12",
    ),
    blind("passport-65-characters", "65 letters and digits.", "passport", "AB" + "1234567890" * 6 + "123"),
    blind(
        "passport-accented-letter",
        "'É' (after upper-casing 'é') is not one of A-Z.",
        "passport",
        "é1234567",
    ),
    blind("passport-underscore", "'_' is not a separator.", "passport", "AB_1234567"),
    blind(
        "passport-separators-only",
        "Only separators: nothing is left.",
        "passport",
        "-/.",
    ),
    # -- iban --------------------------------------------------------------------------------
    blind(
        "iban-compact",
        "An IBAN in normal form. Normalization (iban): NFKC, upper-cased, white space and '-' "
        "dropped; two letters, two digits, 1-30 letters or digits (ISO 13616 shape).",
        "iban",
        "GB82WEST12345698765432",
        "GB82WEST12345698765432",
    ),
    blind(
        "iban-grouped",
        "Printed in groups of four: the same token as blind-index-iban-compact.",
        "iban",
        "GB82 WEST 1234 5698 7654 32",
        "GB82WEST12345698765432",
    ),
    blind(
        "iban-lowercase-dashes",
        "Lower case with dashes: the same token as blind-index-iban-compact.",
        "iban",
        "gb82-west-1234-5698-7654-32",
        "GB82WEST12345698765432",
    ),
    blind(
        "iban-wrong-check-digits",
        "Check digits 00 (wrong for this account): not verified, so a mistyped IBAN in a "
        "record can still be found; another token than blind-index-iban-compact.",
        "iban",
        "GB00 WEST 1234 5698 7654 32",
        "GB00WEST12345698765432",
    ),
    blind("iban-5-characters", "The shortest shape: one character after the check digits.", "iban", "GB82X", "GB82X"),
    blind(
        "iban-34-characters",
        "The longest shape: 30 characters after the check digits.",
        "iban",
        "GB82WEST" + "1" * 26,
        "GB82WEST" + "1" * 26,
    ),
    blind("iban-35-characters", "31 characters after the check digits.", "iban", "GB82WEST" + "1" * 27),
    blind("iban-digit-in-country", "The country code must be two letters.", "iban", "G182WEST12345698765432"),
    blind("iban-dots", "Dots are not dropped (only white space and '-').", "iban", "GB82.WEST.1234.5698.7654.32"),
    blind("iban-no-account", "Country and check digits only.", "iban", "GB82"),
    # -- name_dob ----------------------------------------------------------------------------
    blind(
        "name-dob-pipe",
        "A name and date of birth. Normalization (name_dob): NFKC, trimmed; split at the last "
        "'|' (else the last space); the name case-folded (Unicode full case folding) with runs "
        "of white space made one space; the date an ISO 8601 calendar date YYYY-MM-DD that "
        "exists; joined by '|'.",
        "name_dob",
        "Jane Doe|1970-12-31",
        "jane doe|1970-12-31",
    ),
    blind(
        "name-dob-upper-case-spaces",
        "Upper case, extra spaces around the name and the date: the same token as "
        "blind-index-name-dob-pipe.",
        "name_dob",
        "  JANE   DOE | 1970-12-31 ",
        "jane doe|1970-12-31",
    ),
    blind(
        "name-dob-space-separated",
        "Name and date separated by the last space instead of '|': the same token as "
        "blind-index-name-dob-pipe.",
        "name_dob",
        "Jane Doe 1970-12-31",
        "jane doe|1970-12-31",
    ),
    blind(
        "name-dob-tab",
        "A tab between the names is white space: the same token as blind-index-name-dob-pipe.",
        "name_dob",
        "Jane\tDoe|1970-12-31",
        "jane doe|1970-12-31",
    ),
    blind(
        "name-dob-fullwidth-date",
        "Fullwidth digits in the date: NFKC maps them to ASCII, the same token as "
        "blind-index-name-dob-pipe.",
        "name_dob",
        "Jane Doe|\uff11\uff19\uff17\uff10-\uff11\uff12-\uff13\uff11",
        "jane doe|1970-12-31",
    ),
    blind(
        "name-dob-sharp-s",
        "'ß' case-folds to 'ss': the same token as blind-index-name-dob-double-s.",
        "name_dob",
        "Ulrike Strauß|1970-01-01",
        "ulrike strauss|1970-01-01",
    ),
    blind(
        "name-dob-double-s",
        "'STRAUSS' case-folds to 'strauss': the same token as blind-index-name-dob-sharp-s.",
        "name_dob",
        "ULRIKE STRAUSS|1970-01-01",
        "ulrike strauss|1970-01-01",
    ),
    blind(
        "name-dob-greek-sigma",
        "Case folding maps every sigma, final or not, to U+03C3 (unlike the lowercase mapping "
        "of blind-index-email-greek-final-sigma).",
        "name_dob",
        "ΟΔΥΣΣΕΑΣ ΠΑΠΑΔΟΠΟΥΛΟΣ|1970-01-01",
        "οδυσσεασ παπαδοπουλοσ|1970-01-01",
    ),
    blind(
        "name-dob-precomposed",
        "'José García' with precomposed letters (U+00E9, U+00ED).",
        "name_dob",
        "Jos\u00e9 Garc\u00eda|1980-05-17",
        "jos\u00e9 garc\u00eda|1980-05-17",
    ),
    blind(
        "name-dob-decomposed",
        "'José García' with combining acute accents (U+0301): NFKC composes them, the same "
        "token as blind-index-name-dob-precomposed.",
        "name_dob",
        "JOSE\u0301 GARCI\u0301A|1980-05-17",
        "jos\u00e9 garc\u00eda|1980-05-17",
    ),
    blind(
        "name-dob-ligature",
        "The ligature 'ﬁ' (U+FB01) becomes 'fi' under NFKC.",
        "name_dob",
        "ﬁona Black|1970-01-01",
        "fiona black|1970-01-01",
    ),
    blind(
        "name-dob-leap-day",
        "29 February 2000 exists (divisible by 400).",
        "name_dob",
        "Jane Doe|2000-02-29",
        "jane doe|2000-02-29",
    ),
    blind("name-dob-not-leap-1900", "29 February 1900 does not exist (divisible by 100, not 400).", "name_dob", "Jane Doe|1900-02-29"),
    blind("name-dob-not-leap-2023", "29 February 2023 does not exist.", "name_dob", "Jane Doe|2023-02-29"),
    blind("name-dob-month-13", "Month 13.", "name_dob", "Jane Doe|1970-13-01"),
    blind("name-dob-year-0", "Year 0000 is not a calendar year here (years 0001-9999).", "name_dob", "Jane Doe|0000-01-01"),
    blind("name-dob-empty-name", "No name before the '|'.", "name_dob", "|1970-12-31"),
    blind("name-dob-no-date", "No date.", "name_dob", "Jane Doe"),
    blind("name-dob-basic-date", "The date must be YYYY-MM-DD, not the basic format YYYYMMDD.", "name_dob", "Jane Doe|19701231"),
    blind("name-dob-two-digit-year", "A two-digit year.", "name_dob", "Jane Doe|70-12-31"),
    # -- ip ----------------------------------------------------------------------------------
    blind(
        "ip-v4",
        "An IPv4 address. Normalization (ip): trimmed, then the canonical text: dotted "
        "decimal for IPv4, RFC 5952 for IPv6 (lower case, leading zeros dropped, the longest "
        "run of two or more zero fields compressed, the first of equal runs); an IPv4-mapped "
        "IPv6 address as its IPv4 address; an IPv6 zone index ('%' and 1 or more of A-Z a-z "
        "0-9 - . _ ~) dropped.",
        "ip",
        "203.0.113.7",
        "203.0.113.7",
    ),
    blind(
        "ip-v4-surrounding-space",
        "Surrounding spaces are trimmed: the same token as blind-index-ip-v4.",
        "ip",
        " 203.0.113.7 ",
        "203.0.113.7",
    ),
    blind(
        "ip-v4-mapped",
        "An IPv4-mapped IPv6 address (RFC 4291 section 2.5.5.2) in mixed notation: the same "
        "token as blind-index-ip-v4.",
        "ip",
        "::ffff:203.0.113.7",
        "203.0.113.7",
    ),
    blind(
        "ip-v4-mapped-hex",
        "The same IPv4-mapped address in hexadecimal: the same token as blind-index-ip-v4.",
        "ip",
        "::FFFF:CB00:7107",
        "203.0.113.7",
    ),
    blind("ip-v6-compressed", "An IPv6 address in RFC 5952 form.", "ip", "2001:db8::1", "2001:db8::1"),
    blind(
        "ip-v6-upper-case",
        "Upper-case hexadecimal: the same token as blind-index-ip-v6-compressed.",
        "ip",
        "2001:DB8::1",
        "2001:db8::1",
    ),
    blind(
        "ip-v6-expanded",
        "All eight fields with leading zeros: the same token as blind-index-ip-v6-compressed.",
        "ip",
        "2001:0db8:0000:0000:0000:0000:0000:0001",
        "2001:db8::1",
    ),
    blind(
        "ip-v6-single-zero-field",
        "A single zero field is not compressed (RFC 5952 section 4.2.2).",
        "ip",
        "2001:db8:0:1:1:1:1:1",
        "2001:db8:0:1:1:1:1:1",
    ),
    blind(
        "ip-v6-longest-run",
        "The longest run of zero fields is compressed (RFC 5952 section 4.2.3).",
        "ip",
        "2001:0:0:1:0:0:0:1",
        "2001:0:0:1::1",
    ),
    blind(
        "ip-v6-first-of-equal-runs",
        "Of two equally long runs of zero fields the first is compressed (RFC 5952 section "
        "4.2.3).",
        "ip",
        "2001:db8:0:0:1:0:0:1",
        "2001:db8::1:0:0:1",
    ),
    blind(
        "ip-v6-link-local",
        "A link-local IPv6 address without a zone index.",
        "ip",
        "fe80::1",
        "fe80::1",
    ),
    blind(
        "ip-v6-zone",
        "The address of blind-index-ip-v6-link-local with the zone index %eth0 (RFC 4007 "
        "section 11): the zone is dropped, the same token.",
        "ip",
        "fe80::1%eth0",
        "fe80::1",
    ),
    blind(
        "ip-v6-zone-numeric-expanded",
        "Upper case, leading zeros and a numeric zone index (%3): the same token as "
        "blind-index-ip-v6-link-local.",
        "ip",
        "FE80:0:0:0:0:0:0:0001%3",
        "fe80::1",
    ),
    blind(
        "ip-v4-mapped-zone",
        "An IPv4-mapped IPv6 address with a zone index: the zone is dropped, then the IPv4 "
        "address; the same token as blind-index-ip-v4.",
        "ip",
        "::ffff:203.0.113.7%eth0",
        "203.0.113.7",
    ),
    blind("ip-v4-leading-zeros", "Leading zeros in an IPv4 octet (ambiguous: octal?) are refused.", "ip", "203.000.113.007"),
    blind("ip-v4-zone", "A zone index belongs to an IPv6 address, not to an IPv4 one.", "ip", "203.0.113.7%eth0"),
    blind("ip-v6-empty-zone", "'%' without a zone index.", "ip", "fe80::1%"),
    blind("ip-v6-zone-space", "A space in the zone index (only A-Z a-z 0-9 - . _ ~).", "ip", "fe80::1%eth 0"),
    blind("ip-v4-octet-256", "An octet above 255.", "ip", "256.0.113.7"),
    blind("ip-cidr", "A network, not an address.", "ip", "203.0.113.0/24"),
    blind("ip-host-name", "A host name, not an address.", "ip", "www.example.org"),
    # -- any kind ----------------------------------------------------------------------------
    blind(
        "unknown-kind",
        "'fax' is not an identifier kind (phone, email, passport, iban, name_dob, ip).",
        "fax",
        "+99 555 0100",
    ),
    blind("kind-upper-case", "Kinds are lower case: 'EMAIL' is unknown.", "EMAIL", "jane.doe@example.org"),
    blind("empty-value", "The empty string.", "phone", ""),
    blind("white-space-value", "Only white space.", "email", " \t\n"),
    blind("value-not-a-string", "The number 995550100, not a string.", "phone", 995550100),
)  # fmt: skip

DATE_YEAR: Final = {"type": "date_precision", "unit": "year"}
DATE_MONTH: Final = {"type": "date_precision", "unit": "month"}
DATE_DAY: Final = {"type": "date_precision", "unit": "day"}
IP_DEFAULT: Final = {"type": "ip_prefix"}
GRID_1: Final = {"type": "grid", "decimals": 1}
BUCKET: Final = {"type": "number_bucket", "width": 500}
MAGNITUDE: Final = {"type": "number_bucket", "width": None}
AREAS: Final = [
    {"name": "Wien-Innere Stadt", "box": [48.198, 16.355, 48.217, 16.385]},
    {"name": "Wien", "box": [48.118, 16.182, 48.323, 16.578]},
    {"name": "Buenos Aires", "box": [-34.705, -58.531, -34.527, -58.335]},
]
NAMED: Final = {"type": "named_areas", "areas": AREAS}


def _ip(ipv4: Any = 24, ipv6: Any = 48) -> dict[str, Any]:
    return {"type": "ip_prefix", "ipv4": ipv4, "ipv6": ipv6}


def _grid(decimals: Any) -> dict[str, Any]:
    return {"type": "grid", "decimals": decimals}


def _areas(areas: Any, **more: Any) -> dict[str, Any]:
    return {"type": "named_areas", "areas": areas, **more}


GENERALIZE_CASES: Final[tuple[Case, ...]] = (
    # -- dates -------------------------------------------------------------------------------
    gen("date-year", "A full-date to its year.", DATE_YEAR, "1984-07-15", "1984"),
    gen("date-month", "A full-date to its month.", DATE_MONTH, "1984-07-15", "1984-07"),
    gen("date-year-leap-day", "29 February of a leap year to its year.", DATE_YEAR, "2024-02-29", "2024"),
    gen("date-month-leap-day", "29 February of a leap year to its month.", DATE_MONTH, "2024-02-29", "2024-02"),
    gen("date-month-leap-day-2000", "29 February 2000 (divisible by 400) exists.", DATE_MONTH, "2000-02-29", "2000-02"),
    gen("date-year-before-1000", "A year below 1000 keeps four digits.", DATE_YEAR, "0987-03-04", "0987"),
    gen(
        "datetime-day-utc",
        "A date-time in UTC to its day.",
        DATE_DAY,
        "1984-07-15T10:30:00Z",
        "1984-07-15",
    ),
    gen(
        "datetime-day-negative-offset",
        "23:30 at offset -02:00 is 01:30 UTC the next day.",
        DATE_DAY,
        "1984-07-15T23:30:00-02:00",
        "1984-07-16",
    ),
    gen(
        "datetime-day-offset-plus-14",
        "10:30 at offset +14:00 is 20:30 UTC the day before.",
        DATE_DAY,
        "1984-07-15T10:30:00+14:00",
        "1984-07-14",
    ),
    gen(
        "datetime-year-crosses-new-year",
        "23:30 on 31 December at offset -01:00 is already the next year in UTC.",
        DATE_YEAR,
        "1984-12-31T23:30:00-01:00",
        "1985",
    ),
    gen(
        "datetime-month-leap-day-crosses",
        "23:30 on 29 February 2024 at offset -01:00 is 1 March in UTC.",
        DATE_MONTH,
        "2024-02-29T23:30:00-01:00",
        "2024-03",
    ),
    gen(
        "datetime-day-fraction",
        "Midnight at offset +00:30 is 23:30 UTC the day before; fractional seconds do not "
        "matter.",
        DATE_DAY,
        "1984-07-15T00:00:00.999999+00:30",
        "1984-07-14",
    ),
    gen(
        "datetime-day-no-offset",
        "A date-time without an offset (as written for a naive date-time) is taken as it "
        "is, not converted.",
        DATE_DAY,
        "1984-07-15T23:30:00",
        "1984-07-15",
    ),
    gen(
        "datetime-day-lower-case-t-z",
        "'t' and 'z' in lower case (RFC 3339 section 5.6, NOTE).",
        DATE_DAY,
        "1984-07-15t10:30:00z",
        "1984-07-15",
    ),
    gen(
        "datetime-year-leap-second",
        "A leap second (second 60) is a valid RFC 3339 time.",
        DATE_YEAR,
        "1990-12-31T23:59:60Z",
        "1990",
    ),
    gen(
        "datetime-day-leap-second-offset",
        "The leap second example of RFC 3339 section 5.8: 15:59:60 at -08:00 is 23:59:60 UTC, "
        "read as 23:59:59: still 31 December.",
        DATE_DAY,
        "1990-12-31T15:59:60-08:00",
        "1990-12-31",
    ),
    gen(
        "datetime-day-unknown-local-offset",
        "The offset -00:00 (RFC 3339 section 4.3: UTC, local offset unknown) is UTC.",
        DATE_DAY,
        "1984-07-15T23:30:00-00:00",
        "1984-07-15",
    ),
    gen(
        "datetime-month-no-offset-fraction",
        "No offset and a fraction of a second: taken as it is.",
        DATE_MONTH,
        "1984-07-31T23:59:59.5",
        "1984-07",
    ),
    gen(
        "datetime-year-end-of-calendar",
        "The last second of year 9999 in UTC.",
        DATE_YEAR,
        "9999-12-31T23:59:59Z",
        "9999",
    ),
    gen_error(
        "datetime-after-year-9999-in-utc",
        "23:30 on 31 December 9999 at -01:00 is in year 10000 in UTC: malformed.",
        DATE_YEAR,
        "9999-12-31T23:30:00-01:00",
        MALFORMED,
    ),
    gen_error(
        "datetime-before-year-1-in-utc",
        "00:30 on 1 January 0001 at +01:00 is in year 0 in UTC: malformed.",
        DATE_YEAR,
        "0001-01-01T00:30:00+01:00",
        MALFORMED,
    ),
    gen_error("date-year-0", "Year 0000 (years 0001-9999 only).", DATE_YEAR, "0000-01-01", MALFORMED),
    gen_error("date-space-separator", "A space instead of 'T' (RFC 3339 section 5.6 has only 'T').", DATE_DAY, "1984-07-15 10:30:00Z", MALFORMED),
    gen_error("date-no-seconds", "A time without seconds.", DATE_DAY, "1984-07-15T10:30Z", MALFORMED),
    gen_error("date-empty-fraction", "A '.' without fraction digits.", DATE_DAY, "1984-07-15T10:30:00.Z", MALFORMED),
    gen_error("date-offset-without-colon", "The offset +0200 (ISO 8601 basic, not RFC 3339).", DATE_DAY, "1984-07-15T10:30:00+0200", MALFORMED),
    gen_error("date-offset-hour-24", "The offset +24:00.", DATE_DAY, "1984-07-15T10:30:00+24:00", MALFORMED),
    gen_error("date-second-61", "Second 61.", DATE_DAY, "1984-07-15T23:59:61Z", MALFORMED),
    gen_error("date-basic-format", "ISO 8601 basic format YYYYMMDD.", DATE_YEAR, "19840715", MALFORMED),
    gen_error("date-week-date", "An ISO 8601 week date.", DATE_YEAR, "1984-W28-7", MALFORMED),
    gen_error("date-fullwidth-digits", "Fullwidth digits (U+FF10-FF19): ASCII digits only.", DATE_YEAR, "\uff11\uff19\uff18\uff14-07-15", MALFORMED),
    gen_error("date-trailing-newline", "A line feed after the date.", DATE_YEAR, "1984-07-15\n", MALFORMED),
    gen_error(
        "date-day-of-full-date",
        "A full-date cannot be generalized to its day (that would be the whole date): "
        "malformed.",
        DATE_DAY,
        "1984-07-15",
        MALFORMED,
    ),
    gen_error("date-not-leap-year", "29 February 2023 does not exist.", DATE_YEAR, "2023-02-29", MALFORMED),
    gen_error("date-not-leap-1900", "29 February 1900 does not exist.", DATE_MONTH, "1900-02-29", MALFORMED),
    gen_error("date-month-13", "Month 13.", DATE_YEAR, "1984-13-01", MALFORMED),
    gen_error("date-single-digit-month", "RFC 3339 needs two-digit months.", DATE_YEAR, "1984-7-15", MALFORMED),
    gen_error("date-hour-24", "Hour 24 is not an RFC 3339 time.", DATE_DAY, "1984-07-15T24:00:00Z", MALFORMED),
    gen_error("date-other-format", "A date in another format (DD/MM/YYYY).", DATE_YEAR, "15/07/1984", MALFORMED),
    gen_error("date-number", "A number, not a date.", DATE_YEAR, 1984, MALFORMED),
    gen_error("date-null", "null (a plan leaves a null value null; the generalization refuses it).", DATE_YEAR, None, MALFORMED),
    gen_error("date-unknown-unit", "'week' is not a date unit: usage.", {"type": "date_precision", "unit": "week"}, "1984-07-15", USAGE),
    gen_error("date-no-unit", "The unit is required: usage.", {"type": "date_precision"}, "1984-07-15", USAGE),
    # -- IP addresses ------------------------------------------------------------------------
    gen("ip-v4-default", "IPv4 to the default /24.", IP_DEFAULT, "203.0.113.77", "203.0.113.0/24"),
    gen(
        "ip-v6-default",
        "IPv6 to the default /48.",
        IP_DEFAULT,
        "2001:db8:1234:5678::1",
        "2001:db8:1234::/48",
    ),
    gen("ip-v4-prefix-0", "IPv4 /0: the whole address space.", _ip(ipv4=0), "203.0.113.77", "0.0.0.0/0"),
    gen("ip-v4-prefix-1", "IPv4 /1.", _ip(ipv4=1), "203.0.113.77", "128.0.0.0/1"),
    gen("ip-v4-prefix-31", "IPv4 /31, the longest prefix allowed.", _ip(ipv4=31), "203.0.113.77", "203.0.113.76/31"),
    gen("ip-v6-prefix-0", "IPv6 /0.", _ip(ipv6=0), "2001:db8::1", "::/0"),
    gen(
        "ip-v6-prefix-127",
        "IPv6 /127, the longest prefix allowed.",
        _ip(ipv6=127),
        "2001:db8:1234:5678:9abc:def0:1234:5679",
        "2001:db8:1234:5678:9abc:def0:1234:5678/127",
    ),
    gen(
        "ip-v6-prefix-64",
        "IPv6 /64, written in RFC 5952 form.",
        _ip(ipv6=64),
        "2001:0DB8:0000:0042:0000:0000:0000:0001",
        "2001:db8:0:42::/64",
    ),
    gen(
        "ip-v4-mapped",
        "An IPv4-mapped IPv6 address is generalized as its IPv4 address, with the IPv4 "
        "prefix length.",
        IP_DEFAULT,
        "::ffff:203.0.113.77",
        "203.0.113.0/24",
    ),
    gen("ip-v6-zone", "A zone index (%eth0) is dropped.", _ip(ipv6=64), "fe80::1%eth0", "fe80::/64"),
    gen_error("ip-v4-prefix-32", "IPv4 /32 would keep the whole address: usage.", _ip(ipv4=32), "203.0.113.77", USAGE),
    gen_error("ip-v6-prefix-128", "IPv6 /128 would keep the whole address: usage.", _ip(ipv6=128), "2001:db8::1", USAGE),
    gen_error("ip-negative-prefix", "A negative prefix length: usage.", _ip(ipv4=-1), "203.0.113.77", USAGE),
    gen_error("ip-prefix-boolean", "A prefix length must be a number, not true: usage.", _ip(ipv4=True), "203.0.113.77", USAGE),
    gen_error("ip-prefix-string", "A prefix length must be a number, not \"24\": usage.", _ip(ipv4="24"), "203.0.113.77", USAGE),
    gen_error("ip-leading-zeros", "Leading zeros in an IPv4 octet.", IP_DEFAULT, "203.000.113.077", MALFORMED),
    gen_error("ip-cidr", "A network, not an address.", IP_DEFAULT, "203.0.113.0/24", MALFORMED),
    gen_error("ip-number", "An address must be text, not the number 3405803853.", IP_DEFAULT, 3405803853, MALFORMED),
    gen_error("ip-surrounding-space", "Surrounding spaces are not trimmed here.", IP_DEFAULT, " 203.0.113.77", MALFORMED),
    gen_error("ip-v4-zone", "A zone index belongs to an IPv6 address only.", IP_DEFAULT, "203.0.113.77%eth0", MALFORMED),
    gen_error("ip-v6-empty-zone", "'%' without a zone index.", IP_DEFAULT, "fe80::1%", MALFORMED),
    # -- grid --------------------------------------------------------------------------------
    gen("grid-1-decimal", "Coordinates to 0.1 degree.", GRID_1, [48.2082, 16.3738], [48.2, 16.4]),
    gen("grid-default-decimals", "Without 'decimals': 1.", {"type": "grid"}, [48.2082, 16.3738], [48.2, 16.4]),
    gen(
        "grid-negative",
        "Southern and western hemisphere: negative values round the same way.",
        GRID_1,
        [-33.8688, -151.2093],
        [-33.9, -151.2],
    ),
    gen(
        "grid-ties-to-even",
        "0.25 and 0.75 are exact binary64 values halfway between two steps: ties go to the "
        "even last digit (0.2 and 0.8), not up or away from zero.",
        GRID_1,
        [0.25, -0.75],
        [0.2, -0.8],
    ),
    gen(
        "grid-ties-to-even-0-decimals",
        "0 decimals: 2.5 rounds to 2 and -3.5 to -4 (ties to even).",
        _grid(0),
        [2.5, -3.5],
        [2.0, -4.0],
    ),
    gen(
        "grid-not-a-tie-below",
        "0.35 as binary64 is 0.34999999999999997779...: below the midpoint, so 0.3 (rounding "
        "its decimal text half up would give 0.4).",
        GRID_1,
        [0.35, -0.35],
        [0.3, -0.3],
    ),
    gen(
        "grid-not-a-tie-above",
        "0.45 as binary64 is 0.45000000000000001110...: above the midpoint, so 0.5.",
        GRID_1,
        [0.45, -0.45],
        [0.5, -0.5],
    ),
    gen(
        "grid-2-decimals",
        "2 decimals: 1.005 is 1.00499999999999989... as binary64 (so 1.0); 0.125 is an exact "
        "tie (so 0.12, even).",
        _grid(2),
        [1.005, 0.125],
        [1.0, 0.12],
    ),
    gen(
        "grid-4-decimals",
        "4 decimals, the most allowed: 48.20825 is just below the midpoint as binary64 "
        "(48.2082), 16.37385 just above (16.3739).",
        _grid(4),
        [48.20825, 16.37385],
        [48.2082, 16.3739],
    ),
    gen(
        "grid-negative-zero",
        "-0.04 and -0.0001 round to a negative zero, written 0 (never -0).",
        GRID_1,
        [-0.04, -0.0001],
        [0.0, 0.0],
    ),
    gen(
        "grid-negative-zero-tie",
        "0 decimals: -0.5 is a tie and rounds to -0, written 0; 0.5 to 0.",
        _grid(0),
        [-0.5, 0.5],
        [0.0, 0.0],
    ),
    gen("grid-limits", "Latitude 90 and longitude -180 are in range.", GRID_1, [90, -180], [90.0, -180.0]),
    gen("grid-limits-other", "Latitude -90 and longitude 180 are in range.", GRID_1, [-90, 180], [-90.0, 180.0]),
    gen("grid-integers", "Integer degrees.", _grid(2), [48, 16], [48.0, 16.0]),
    gen_error("grid-latitude-out-of-range", "Latitude 90.5.", GRID_1, [90.5, 16.0], MALFORMED),
    gen_error("grid-longitude-out-of-range", "Longitude -180.01.", GRID_1, [48.2, -180.01], MALFORMED),
    gen_error("grid-three-numbers", "Three numbers (an altitude) are not [latitude, longitude].", GRID_1, [48.2, 16.4, 170], MALFORMED),
    gen_error("grid-strings", "Coordinates as strings.", GRID_1, ["48.2", "16.4"], MALFORMED),
    gen_error("grid-boolean", "true is not a number.", GRID_1, [True, 16.4], MALFORMED),
    gen_error("grid-object", "An object, not a pair.", GRID_1, {"lat": 48.2, "lon": 16.4}, MALFORMED),
    gen_error("grid-5-decimals", "5 decimals (about 1 m) is no generalization: usage.", _grid(5), [48.2, 16.4], USAGE),
    gen_error("grid-negative-decimals", "-1 decimals: usage.", _grid(-1), [48.2, 16.4], USAGE),
    # -- named areas -------------------------------------------------------------------------
    gen(
        "area-first-match",
        "The point is in both Wien-Innere Stadt and Wien: the first listed area wins.",
        NAMED,
        [48.2082, 16.3738],
        "Wien-Innere Stadt",
    ),
    gen("area-second", "A point in Wien outside the inner city.", NAMED, [48.25, 16.45], "Wien"),
    gen(
        "area-south-west-corner",
        "The south-west corner of Wien's box: edges belong to the box.",
        NAMED,
        [48.118, 16.182],
        "Wien",
    ),
    gen("area-north-east-corner", "The north-east corner of Wien's box.", NAMED, [48.323, 16.578], "Wien"),
    gen(
        "area-negative-coordinates",
        "A box in the southern and western hemispheres.",
        NAMED,
        [-34.6037, -58.3816],
        "Buenos Aires",
    ),
    gen(
        "area-outside",
        "In no box: the default 'otherwise' text.",
        NAMED,
        [0, 0],
        "outside the listed areas",
    ),
    gen(
        "area-just-outside",
        "Just north of Wien's box.",
        _areas(AREAS, otherwise="anderswo"),
        [48.3231, 16.3],
        "anderswo",
    ),
    gen_error("area-none", "An empty list of areas: usage.", _areas([]), [48.2, 16.4], USAGE),
    gen_error(
        "area-south-above-north",
        "A box whose south is north of its north: usage.",
        _areas([{"name": "X", "box": [48.3, 16.1, 48.1, 16.5]}]),
        [48.2, 16.4],
        USAGE,
    ),
    gen_error(
        "area-crosses-antimeridian",
        "A box with west > east (crossing the antimeridian) is not supported; split it: usage.",
        _areas([{"name": "Fiji", "box": [-21.0, 177.0, -12.0, -178.0]}]),
        [-17.7, 178.0],
        USAGE,
    ),
    gen_error(
        "area-latitude-91",
        "A box reaching latitude 91: usage.",
        _areas([{"name": "X", "box": [80, 0, 91, 10]}]),
        [85, 5],
        USAGE,
    ),
    gen_error(
        "area-name-leading-space",
        "An area name starting with a space: usage.",
        _areas([{"name": " Wien", "box": [48.118, 16.182, 48.323, 16.578]}]),
        [48.2, 16.4],
        USAGE,
    ),
    gen_error(
        "area-name-control-character",
        "An area name with a control character (U+0007): usage.",
        _areas([{"name": "Wi\u0007en", "box": [48.118, 16.182, 48.323, 16.578]}]),
        [48.2, 16.4],
        USAGE,
    ),
    gen_error(
        "area-otherwise-empty",
        "An empty 'otherwise' text: usage.",
        _areas(AREAS, otherwise=""),
        [48.2, 16.4],
        USAGE,
    ),
    gen_error(
        "area-box-three-numbers",
        "A box of three numbers: usage.",
        _areas([{"name": "X", "box": [48.1, 16.1, 48.3]}]),
        [48.2, 16.4],
        USAGE,
    ),
    gen_error("area-value-not-coordinates", "A place name is not coordinates.", NAMED, "Wien", MALFORMED),
    # -- numbers -----------------------------------------------------------------------------
    gen("magnitude-zero", "0 is in 0-9.", MAGNITUDE, 0, "0-9"),
    gen("magnitude-9", "9, the top of 0-9.", MAGNITUDE, 9, "0-9"),
    gen("magnitude-10", "10, the bottom of 10-99.", MAGNITUDE, 10, "10-99"),
    gen("magnitude-99", "99, the top of 10-99.", MAGNITUDE, 99, "10-99"),
    gen("magnitude-100", "100, the bottom of 100-999.", MAGNITUDE, 100, "100-999"),
    gen("magnitude-negative-1", "-1: the magnitude of 1, with a minus sign.", MAGNITUDE, -1, "-(0-9)"),
    gen("magnitude-negative-250", "-250.", MAGNITUDE, -250, "-(100-999)"),
    gen(
        "magnitude-max-safe-integer",
        "2**53 - 1 (16 digits).",
        MAGNITUDE,
        9007199254740991,
        "1000000000000000-9999999999999999",
    ),
    gen(
        "magnitude-fraction",
        "1234.5: the integer part 1234 has 4 digits; a fractional number gets a half-open range.",
        MAGNITUDE,
        1234.5,
        "1000 to <10000",
    ),
    gen("magnitude-fraction-below-10", "9.99: integer part 9.", MAGNITUDE, 9.99, "0 to <10"),
    gen(
        "magnitude-negative-fraction",
        "-0.5: integer part 0 (truncated toward zero), negative.",
        MAGNITUDE,
        -0.5,
        "-(0 to <10)",
    ),
    gen(
        "magnitude-fraction-written",
        "100.0 is written with a fraction, so it is a fractional number (not the integer "
        "100): the half-open range.",
        MAGNITUDE,
        100.0,
        "100 to <1000",
    ),
    gen(
        "magnitude-decimal-text",
        "A decimal number as text (as pydantic writes a Decimal) with a '.': fractional.",
        MAGNITUDE,
        "1234.50",
        "1000 to <10000",
    ),
    gen("magnitude-integer-text", "An integer as text (no '.' and no exponent): an integer.", MAGNITUDE, "1234", "1000-9999"),
    gen("magnitude-leading-zeros-text", "Leading zeros are allowed in text: '007' is 7.", MAGNITUDE, "007", "0-9"),
    gen(
        "magnitude-exponent-text",
        "'1.5e3' (1500) as text: with an exponent, a fractional number.",
        MAGNITUDE,
        "1.5e3",
        "1000 to <10000",
    ),
    gen(
        "bucket-exponent-text",
        "'1E3' is 1000, but written with an exponent it is a fractional number (as a JSON "
        "parser reads 1E3 as a float): the half-open range.",
        BUCKET,
        "1E3",
        "1000 to <1500",
    ),
    gen(
        "bucket-tiny-negative-text",
        "'-1e-400' is below zero (though no binary64 holds it): in [-500, 0).",
        BUCKET,
        "-1e-400",
        "-500 to <0",
    ),
    gen("magnitude-default-width", "Without 'width': the order of magnitude.", {"type": "number_bucket"}, 42, "10-99"),
    gen("bucket-bottom", "0 is in the bucket 0-499.", BUCKET, 0, "0-499"),
    gen("bucket-top-edge", "1499, the top of the bucket 1000-1499.", BUCKET, 1499, "1000-1499"),
    gen("bucket-bottom-edge", "1500, the bottom of the bucket 1500-1999.", BUCKET, 1500, "1500-1999"),
    gen("bucket-negative-1", "-1 is in the bucket -500 to -1 (buckets start at multiples of the width; floor, not truncation).", BUCKET, -1, "-500 to -1"),
    gen("bucket-negative-edge", "-500, the bottom of the bucket -500 to -1.", BUCKET, -500, "-500 to -1"),
    gen("bucket-negative-501", "-501 is in the bucket -1000 to -501.", BUCKET, -501, "-1000 to -501"),
    gen("bucket-fraction", "1499.5 is in the bucket [1000, 1500): half-open.", BUCKET, 1499.5, "1000 to <1500"),
    gen("bucket-negative-fraction", "-0.5 is in the bucket [-500, 0).", BUCKET, -0.5, "-500 to <0"),
    gen("bucket-fraction-written", "1500.0 (written with a fraction) is in [1500, 2000).", BUCKET, 1500.0, "1500 to <2000"),
    gen("bucket-decimal-text", "\"-20.25\" as text (a Decimal).", BUCKET, "-20.25", "-500 to <0"),
    gen("bucket-width-2", "Width 2, the smallest: 7 is in 6-7.", {"type": "number_bucket", "width": 2}, 7, "6-7"),
    gen_error("number-boolean", "true is not a number.", BUCKET, True, MALFORMED),
    gen_error("number-text", "Text that is not a number.", BUCKET, "about 1500", MALFORMED),
    gen_error("number-plus-sign", "A leading '+' is not in the grammar.", BUCKET, "+1500", MALFORMED),
    gen_error("number-surrounding-space", "Spaces are not trimmed.", BUCKET, " 1500 ", MALFORMED),
    gen_error("number-underscore", "'_' between digits (as Python allows) is not in the grammar.", BUCKET, "1_500", MALFORMED),
    gen_error("number-arabic-indic-digits", "Arabic-Indic digits (U+0660-0669): ASCII digits only.", BUCKET, "\u0661\u0665\u0660\u0660", MALFORMED),
    gen_error("number-fullwidth-digits", "Fullwidth digits: ASCII digits only.", BUCKET, "\uff11\uff15\uff10\uff10", MALFORMED),
    gen_error("number-trailing-dot", "A '.' without fraction digits.", BUCKET, "1500.", MALFORMED),
    gen_error("number-leading-dot", "A fraction without integer digits.", BUCKET, ".5", MALFORMED),
    gen_error("number-hexadecimal", "Hexadecimal.", BUCKET, "0x5dc", MALFORMED),
    gen_error(
        "number-above-binary64",
        "'1e309' is larger than the largest finite binary64 number (about 1.8e308).",
        MAGNITUDE,
        "1e309",
        MALFORMED,
    ),
    gen_error(
        "number-huge-exponent",
        "An exponent of 10**18: far beyond binary64; refused without computing the number.",
        MAGNITUDE,
        "1e1000000000000000000",
        MALFORMED,
    ),
    gen_error("number-nan-text", "\"NaN\" is not a finite number.", MAGNITUDE, "NaN", MALFORMED),
    gen_error("number-infinity-text", "\"Infinity\" is not a finite number.", MAGNITUDE, "Infinity", MALFORMED),
    gen_error("number-null", "null is not a number.", MAGNITUDE, None, MALFORMED),
    gen_error("bucket-width-1", "Width 1 is no generalization: usage.", {"type": "number_bucket", "width": 1}, 7, USAGE),
    gen_error("bucket-width-fraction", "Width 2.5: a width is a whole number: usage.", {"type": "number_bucket", "width": 2.5}, 7, USAGE),
    gen_error("bucket-width-boolean", "Width true: usage.", {"type": "number_bucket", "width": True}, 7, USAGE),
    # -- the format --------------------------------------------------------------------------
    gen_error(
        "free-text",
        "There is no generalization of free text (a name, a number or a health condition can "
        "be anywhere in it; a plan withholds such a field): the type 'free_text' is unknown, "
        "usage.",
        {"type": "free_text"},
        "seen near the station with J. Doe",
        USAGE,
    ),
    gen_error(
        "unknown-member",
        "A member the type does not have ('round'): usage.",
        {"type": "grid", "decimals": 1, "round": "half_up"},
        [48.2, 16.4],
        USAGE,
    ),
    gen_error("spec-not-an-object", "A generalization is an object, not the text 'year': usage.", "year", "1984-07-15", USAGE),
    gen_error("spec-without-type", "An object without 'type': usage.", {"unit": "year"}, "1984-07-15", USAGE),
)  # fmt: skip

CASES: Final[tuple[Case, ...]] = PSEUDONYM_CASES + BLIND_INDEX_CASES + GENERALIZE_CASES


# -- writing --------------------------------------------------------------------------------


def check_cases(vectors: Mapping[str, dict[str, Any]]) -> None:
    """Every expectation must be the library's and the hand-written one (a bug otherwise)."""
    ids = [c.id for c in CASES]
    if len(set(ids)) != len(ids):
        raise SystemExit("duplicate vector ids")
    for case in CASES:
        if not case.id.startswith(PREFIXES[case.kind]):
            raise SystemExit(
                f"{case.id}: a {case.kind} vector id starts with {PREFIXES[case.kind]}"
            )
        vector = vectors[case.id]
        got = run(vector)
        if not same_json(got, vector["expected"]):
            raise SystemExit(f"{case.id}: expected {vector['expected']}, got {got}")
        if case.error is not None:
            continue
        if got["result"] != "valid":
            raise SystemExit(f"{case.id}: the library refuses a valid case: {got}")
        check_valid(case, vector)


def check_valid(case: Case, vector: dict[str, Any]) -> None:
    expected = vector["expected"]
    mac = bytes.fromhex(vector["trace"]["hmac"]) if "trace" in vector else b""
    if case.kind == "pseudonym":
        if canonical_json(vector["value"]).decode("utf-8") != vector["trace"]["value_json"]:
            raise SystemExit(f"{case.id}: the library's canonical JSON is not RFC 8785's")
        if expected["pseudonym"] != "pn_" + b64u(mac[:16]):
            raise SystemExit(f"{case.id}: the pseudonym differs from the trace")
        return
    if not case.given:
        raise SystemExit(f"{case.id}: a valid case needs its expected value written by hand")
    if case.kind == "blind_index":
        if expected["normalized"] != case.expect or expected["token"] != b64u(mac):
            raise SystemExit(f"{case.id}: expected {case.expect!r}, got {expected}")
    elif not same_json(expected["generalized"], case.expect):
        raise SystemExit(f"{case.id}: expected {case.expect!r}, got {expected['generalized']!r}")


def vectors_by_id() -> dict[str, dict[str, Any]]:
    return {c.id: c.to_json() for c in CASES}


def rendered(vectors: Mapping[str, dict[str, Any]]) -> dict[str, bytes]:
    """File name -> exact bytes."""
    return {f"{vid}.json": strictjson.pretty(vector) for vid, vector in vectors.items()}


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the vector files."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; fail on drift")
    parser.add_argument("--dir", type=Path, default=VECTOR_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    files = rendered(vectors_by_id())
    # Check what a reader of the files sees, parsed back from the exact bytes.
    check_cases(
        {
            name.removesuffix(".json"): strictjson.loads(data, what=name, max_bytes=1 << 20)
            for name, data in files.items()
        }
    )
    return write_or_check(
        files,
        args.dir,
        check=args.check,
        name="privacy vectors",
        generator="generate_privacy_vectors.py",
    )


if __name__ == "__main__":
    sys.exit(main())
