"""SD-JWT (RFC 9901) for safeshare's strict profile. Private: used by the envelope.

Four jobs, section numbers from RFC 9901:

* **conceal** (issuer, section 4.2): turn a JSON object into a payload in which
  chosen members (and, with a spec, array elements and nested members) are
  replaced by digests of Disclosures, plus decoy digests (section 4.2.5);
* **serialize** / **split** (section 4): ``<JWT>~<D1>~...~<Dn>~<KB-JWT>``,
  where the KB-JWT is empty when there is none;
* **reveal** (verifier, section 7.1 step 3 to 5): given a payload whose
  signature the caller has already verified, put the disclosed claims back
  and reject everything section 7.1 rejects, and more (see below);
* **sd_hash** (section 4.3.1): the digest a Key Binding JWT signs.

Profile rules beyond RFC 9901 (each rejects something the RFC allows or leaves
open; SD-JWTs from conforming issuers, such as the reference implementation,
contain none of these things):

* ``_sd_alg`` must be absent or ``sha-256`` (section 4.1.1 lets profiles pick);
  it may appear only at the top level, never in a nested object or a
  disclosed value (section 4.1.1 says it MUST NOT, but gives no verifier rule).
* A disclosure may not name the claim ``_sd_alg`` (nor ``_sd`` or ``...``).
* ``_sd`` must be an array of base64url SHA-256 digests (43 characters), and
  ``...`` may appear only as the single member of an array element whose value
  is such a digest; an object with ``...`` and other members, or ``...`` in any
  other place, is rejected (section 4.1 rule 7 forbids it in the payload;
  section 7.1 would merely not treat it as a digest).
* Caps: :data:`MAX_DISCLOSURES` disclosures of at most
  :data:`MAX_DISCLOSURE_CHARS` characters each, :data:`MAX_SD_JWT_CHARS` for
  the whole serialization, and the processed payload nested at most
  :data:`~safeshare._internal.strictjson.MAX_DEPTH` levels.

Error types: base64url, JSON syntax, shape of the serialization and caps give
:class:`~safeshare.errors.MalformedInputError` (caps:
:class:`~safeshare.errors.OversizedInputError`); every section 7.1 rejection
gives :class:`~safeshare.errors.VerificationError`; a bad call on the issuer
side gives :class:`~safeshare.errors.UsageError`.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal, TypeAlias, overload

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_check, b64u_decode, b64u_encode
from safeshare.errors import (
    MalformedInputError,
    OversizedInputError,
    UsageError,
    VerificationError,
)

__all__ = [
    "DEFAULT_DECOYS",
    "MAX_DECOYS",
    "MAX_DISCLOSURES",
    "MAX_DISCLOSURE_CHARS",
    "MAX_SD_JWT_CHARS",
    "SALT_BYTES",
    "SD_ALG",
    "ArraySpec",
    "Disclosure",
    "MemberSpec",
    "Sd",
    "SdSpec",
    "conceal",
    "create_disclosure",
    "digest_of",
    "disclosure_paths",
    "reveal",
    "sd_hash",
    "select",
    "serialize",
    "split",
]

#: The only ``_sd_alg`` accepted; also the default when it is absent (section 4.1.1).
SD_ALG: Final = "sha-256"
#: Most disclosures in one SD-JWT (issued or received).
MAX_DISCLOSURES: Final = 256
#: Longest single disclosure, in base64url characters.
MAX_DISCLOSURE_CHARS: Final = 64 * 1024
#: Salt length: 128 bits, the minimum section 9.3 recommends.
SALT_BYTES: Final = 16
#: Longest serialized SD-JWT or SD-JWT+KB accepted by :func:`split` (1 MiB).
MAX_SD_JWT_CHARS: Final = 1024 * 1024
#: Decoy digests added to every object :func:`conceal` processes (section 4.2.5).
#:
#: A fixed count rather than a random one: the output size and the sequence of
#: ``randbytes`` calls then depend only on the input, so test vectors are
#: reproducible and the size of a message leaks nothing about the random
#: generator. Be aware that a *fixed* count does not hide how many members an
#: object has from a verifier that knows the count (it subtracts it). It does
#: hide which undisclosed digests are real, and a caller that must hide the
#: number of members passes ``decoys`` so that every message has the same
#: ``_sd`` length (for example the schema's member count minus the record's).
DEFAULT_DECOYS: Final = 2
#: Largest ``decoys`` accepted by :func:`conceal`.
MAX_DECOYS: Final = MAX_DISCLOSURES

#: Largest integer magnitude a recipient accepts: I-JSON (RFC 7493 section 2.2)
#: keeps numbers exact in IEEE 754 doubles, so strictjson rejects larger ones.


_SD: Final = "_sd"
_DOTS: Final = "..."
_SD_ALG_CLAIM: Final = "_sd_alg"
_RESERVED: Final = frozenset({_SD, _DOTS, _SD_ALG_CLAIM})
#: The JSON container types, which the verifier processes (a prebuilt tuple:
#: ``isinstance`` with it is about twice as fast as with ``dict | list`` inline).
_CONTAINERS: Final = (dict, list)
#: A base64url SHA-256 digest: 32 bytes are 43 characters.
_DIGEST: Final = re.compile(r"[A-Za-z0-9_-]{43}")
#: The shape of a JWS compact serialization (RFC 9901 section 4 ABNF: ``JWT``).
_JWT: Final = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class Disclosure:
    """One Disclosure (section 4.2.1 object property, section 4.2.2 array element)."""

    #: base64url of the UTF-8 JSON array, exactly as transmitted.
    encoded: str
    #: base64url(SHA-256(ASCII(encoded))) (section 4.2.3).
    digest: str
    salt: str
    #: The claim name; ``None`` for an array-element disclosure.
    name: str | None
    #: The value as it appears in the disclosure (nested digests not yet resolved).
    #: Not hashed (it may be a list or dict); ``encoded`` determines it anyway.
    value: Any = field(hash=False)


@dataclass(frozen=True, slots=True)
class ArraySpec:
    """The value is an array; each element is handled per ``each``.

    ``each`` is a :data:`MemberSpec` applied to every element: ``True`` makes
    each element selectively disclosable (``{"...": digest}`` in place,
    section 4.2.4.2), ``False`` keeps it plain, a mapping or nested
    :class:`ArraySpec` keeps the element and conceals inside it, and
    :class:`Sd` does both (recursive disclosure, section 4.2.6). No decoys are
    added to arrays: a decoy element's position would be a choice the
    verifier could learn from, and the spec has no use for it.
    """

    each: MemberSpec = True


@dataclass(frozen=True, slots=True)
class Sd:
    """The member (or element) is selectively disclosable *and* its value is
    concealed inside per ``inner`` first (recursive disclosure, section 4.2.6)."""

    inner: SdSpec | ArraySpec


#: Where a disclosure's claim sits in the payload: member names and (for array
#: elements) the element's position in the *signed* array.
Path: TypeAlias = tuple[str | int, ...]

#: How one member (or array element) is concealed:
#:
#: * ``True``: selectively disclosable, value as-is;
#: * ``False``: plain (always visible), value as-is;
#: * a mapping (:data:`SdSpec`): plain, the value is an object concealed per the mapping;
#: * :class:`ArraySpec`: plain, the value is an array concealed per the spec;
#: * :class:`Sd`: selectively disclosable, and the value is concealed per ``Sd.inner``.
MemberSpec: TypeAlias = "bool | Mapping[str, MemberSpec] | ArraySpec | Sd"
#: Spec of an object: member name -> :data:`MemberSpec`. Members the spec does
#: not name are selectively disclosable (``True``): privacy is the default, and
#: ``sd=None`` is the same as ``{}``. Names the object lacks are ignored.
SdSpec: TypeAlias = "Mapping[str, MemberSpec]"


# -- digests -----------------------------------------------------------------


def _sha256_b64u(text: str, *, what: str) -> str:
    if not isinstance(text, str):
        raise MalformedInputError(f"{what} must be a string")
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise MalformedInputError(f"{what} contains non-ASCII characters") from None
    return b64u_encode(hashlib.sha256(raw).digest())


def digest_of(encoded: str) -> str:
    """base64url(SHA-256(ASCII(*encoded*))) of a Disclosure string (section 4.2.3).

    The digest is over the string as transmitted, never over a re-encoding:
    two disclosures that differ only in JSON whitespace have different digests.
    """
    return _sha256_b64u(encoded, what="a disclosure")


def _digest_of_b64u(encoded: str) -> str:
    """:func:`digest_of` for text already known to be base64url, so ASCII: no checks."""
    return b64u_encode(hashlib.sha256(encoded.encode("ascii")).digest())


def sd_hash(presentation_without_kb: str) -> str:
    """The ``sd_hash`` of a Key Binding JWT (section 4.3.1).

    *presentation_without_kb* is the SD-JWT up to and including its last
    ``~`` (the Issuer-signed JWT, ``~``, and each presented Disclosure followed
    by ``~``). The hash is SHA-256, the ``_sd_alg`` of this profile.
    """
    if not isinstance(presentation_without_kb, str) or not presentation_without_kb.endswith("~"):
        raise UsageError(
            "sd_hash takes the SD-JWT up to and including its last '~' (no KB-JWT after it)"
        )
    return _sha256_b64u(presentation_without_kb, what="the SD-JWT")


# -- issuer side -------------------------------------------------------------


def _make_disclosure(salt: str, name: str | None, value: Any) -> Disclosure:
    """Encode ``[salt, name, value]`` or ``[salt, value]`` as compact UTF-8 JSON."""
    if name is not None:
        if not isinstance(name, str):
            raise UsageError("a claim name must be a string")
        if name in _RESERVED:
            # Section 4.2.1: the name MUST NOT be _sd or ...; _sd_alg is a profile rule.
            raise UsageError(
                f"the claim name {name!r} is reserved by SD-JWT (RFC 9901 section 4.2.1)"
            )
    array = [salt, value] if name is None else [salt, name, value]
    encoded = b64u_encode(strictjson.dumps(array))
    if len(encoded) > MAX_DISCLOSURE_CHARS:
        raise UsageError(
            f"a disclosure would be {len(encoded)} characters; the limit is {MAX_DISCLOSURE_CHARS}"
        )
    return Disclosure(encoded, _digest_of_b64u(encoded), salt, name, value)


def create_disclosure(salt: bytes, name: str | None, value: Any) -> Disclosure:
    """One Disclosure with the salt ``base64url(salt)`` (section 4.2.1 / 4.2.2).

    *name* ``None`` makes an array-element disclosure. *salt* must be at
    least :data:`SALT_BYTES` bytes from a CSPRNG (section 9.3). *value* must
    be JSON (``dict`` with ``str`` keys, ``list``, ``str``, ``int`` within
    +/-(2**53 - 1), finite ``float``, ``bool``, ``None``); it may contain
    ``_sd`` and ``...`` to build recursive disclosures by hand.
    """
    if not isinstance(salt, bytes) or len(salt) < SALT_BYTES:
        raise UsageError(f"a salt is at least {SALT_BYTES} random bytes (RFC 9901 section 9.3)")
    _check_json(value, depth=1, reserved=False)
    return _make_disclosure(b64u_encode(salt), name, value)


def _check_json(value: Any, *, depth: int, reserved: bool) -> None:
    """Refuse non-JSON values and, with *reserved*, the names ``_sd``, ``...``, ``_sd_alg``."""
    if isinstance(value, dict):
        if depth > strictjson.MAX_DEPTH - 1:
            raise UsageError(
                f"the object is nested more than {strictjson.MAX_DEPTH - 1} levels deep; "
                "a recipient would reject it"
            )
        for key, item in value.items():
            if not isinstance(key, str):
                raise UsageError(f"object member names must be strings, not {type(key).__name__}")
            if not key.isascii():  # an ASCII string holds no surrogate: nothing to check
                _check_text(key)
            if reserved and key in _RESERVED:
                raise UsageError(
                    f"the member name {key!r} is reserved by SD-JWT (RFC 9901 section 4.1 rule 7, "
                    "section 4.1.1)"
                )
            # The commonest value, an ASCII string, passes every check: no call for it.
            if type(item) is not str or not item.isascii():
                _check_json(item, depth=depth + 1, reserved=reserved)
    elif isinstance(value, list):
        if depth > strictjson.MAX_DEPTH - 1:
            raise UsageError(
                f"the object is nested more than {strictjson.MAX_DEPTH - 1} levels deep; "
                "a recipient would reject it"
            )
        for item in value:
            if type(item) is not str or not item.isascii():  # as above
                _check_json(item, depth=depth + 1, reserved=reserved)
    elif isinstance(value, str):
        if not value.isascii():
            _check_text(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise UsageError("NaN and infinite numbers are not JSON")
    elif isinstance(value, int):  # includes bool
        if abs(value) > strictjson.MAX_SAFE_INTEGER:
            raise UsageError(
                "integers must be within +/-(2**53 - 1) (I-JSON, RFC 7493 section 2.2); "
                "a recipient would reject this one"
            )
    elif value is not None:
        raise UsageError(f"values must be JSON; {type(value).__name__} is not")


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError("strings must be valid Unicode (no lone surrogates)") from None


class _Concealer:
    """Issuer state of one :func:`conceal` call."""

    __slots__ = ("_decoys", "_digests", "_randbytes", "_salts", "disclosures")

    def __init__(self, randbytes: Callable[[int], bytes], decoys: int) -> None:
        self._randbytes = randbytes
        self._decoys = decoys
        self._salts: set[str] = set()
        self._digests: set[str] = set()
        self.disclosures: list[Disclosure] = []

    def _random(self) -> bytes:
        data = self._randbytes(SALT_BYTES)
        if not isinstance(data, bytes) or len(data) != SALT_BYTES:
            raise UsageError(f"randbytes({SALT_BYTES}) must return {SALT_BYTES} bytes")
        return data

    def _new_digest(self, digest: str) -> str:
        # Section 4.1: the same digest MUST NOT appear more than once. With a
        # working CSPRNG this never happens; a broken randbytes is caught here.
        if digest in self._digests:
            raise UsageError("randbytes returned repeated values (digest collision)")
        self._digests.add(digest)
        return digest

    def _disclose(self, name: str | None, value: Any) -> str:
        salt = b64u_encode(self._random())
        if salt in self._salts:  # section 4.2.1: a salt MUST be unique per claim
            raise UsageError("randbytes returned repeated values (salt reused)")
        self._salts.add(salt)
        disclosure = _make_disclosure(salt, name, value)
        self.disclosures.append(disclosure)
        return self._new_digest(disclosure.digest)

    def do_object(self, obj: dict[str, Any], spec: SdSpec) -> dict[str, Any]:
        out: dict[str, Any] = {}
        digests: list[str] = []
        for name, value in obj.items():
            member = spec.get(name, True)
            if isinstance(member, bool):
                if member:
                    digests.append(self._disclose(name, value))
                else:
                    out[name] = value
            elif isinstance(member, Sd):
                digests.append(self._disclose(name, self._inside(member.inner, value, name)))
            else:
                out[name] = self._inside(member, value, name)
        for _ in range(self._decoys):
            # Section 4.2.5: a decoy is the digest of a CSPRNG value.
            digests.append(self._new_digest(b64u_encode(hashlib.sha256(self._random()).digest())))
        if digests:
            # Section 4.2.4.1: hide the original order; sorting also keeps vectors stable.
            out[_SD] = sorted(digests)
        return out

    def do_array(self, values: list[Any], each: MemberSpec) -> list[Any]:
        out: list[Any] = []
        for value in values:
            if isinstance(each, bool):
                out.append({_DOTS: self._disclose(None, value)} if each else value)
            elif isinstance(each, Sd):
                out.append({_DOTS: self._disclose(None, self._inside(each.inner, value, "[]"))})
            else:
                out.append(self._inside(each, value, "[]"))
        return out

    def _inside(self, spec: object, value: Any, where: str) -> Any:
        if isinstance(spec, ArraySpec):
            if not isinstance(value, list):
                raise UsageError(
                    f"the spec for {where!r} describes an array, but the value is not one"
                )
            return self.do_array(value, spec.each)
        if isinstance(spec, Mapping):
            if not isinstance(value, dict):
                raise UsageError(
                    f"the spec for {where!r} describes an object, but the value is not one"
                )
            return self.do_object(value, spec)
        raise UsageError(
            f"the spec for {where!r} must be a bool, a mapping, an ArraySpec or Sd(mapping or "
            f"ArraySpec), not {type(spec).__name__}"
        )


def conceal(
    obj: dict[str, Any],
    *,
    randbytes: Callable[[int], bytes],
    decoys: int = DEFAULT_DECOYS,
    sd: SdSpec | None = None,
) -> tuple[dict[str, Any], list[Disclosure]]:
    """Conceal *obj* for an Issuer-signed JWT; return ``(payload, disclosures)``.

    With ``sd=None`` every member of *obj* becomes a selectively disclosable
    object property with its value as-is, and the payload is
    ``{"_sd": [digests and decoy digests, sorted]}`` (sections 4.2.1, 4.2.4.1).
    *sd* (see :data:`SdSpec`) keeps members plain, conceals inside nested
    objects and arrays (section 6.2, 4.2.4.2) and makes recursive disclosures
    (section 4.2.6). Every object processed gets *decoys* decoy digests
    (section 4.2.5; see :data:`DEFAULT_DECOYS`).

    *randbytes* is the only source of randomness and is always called with
    :data:`SALT_BYTES`: once per disclosure (its salt) and once per decoy.
    Order: members in *obj*'s order, depth first; a member's inner values are
    concealed before the member's own salt is drawn; an object's decoys come
    after all its members. Disclosures are returned in creation order.

    The names ``_sd``, ``...`` and ``_sd_alg`` are refused anywhere in *obj*
    (section 4.1 rule 7, 4.1.1), as are non-JSON values and nesting deeper
    than a recipient accepts. *obj* is not modified. The caller adds
    ``_sd_alg`` (:data:`SD_ALG`) at the top level of the JWT payload.
    """
    if not isinstance(obj, dict):
        raise UsageError("conceal takes a dict")
    if isinstance(decoys, bool) or not isinstance(decoys, int) or not 0 <= decoys <= MAX_DECOYS:
        raise UsageError(f"decoys must be an integer from 0 to {MAX_DECOYS}")
    if sd is not None and not isinstance(sd, Mapping):
        raise UsageError("sd must be a mapping of member names to specs")
    _check_json(obj, depth=1, reserved=True)
    issuer = _Concealer(randbytes, decoys)
    payload = issuer.do_object(obj, {} if sd is None else sd)
    if len(issuer.disclosures) > MAX_DISCLOSURES:
        raise UsageError(
            f"{len(issuer.disclosures)} disclosures; a recipient accepts at most {MAX_DISCLOSURES}"
        )
    return payload, issuer.disclosures


# -- serialization -----------------------------------------------------------


def serialize(
    issuer_jwt: str, disclosures: Sequence[Disclosure | str], kb_jwt: str | None = None
) -> str:
    """``<Issuer-signed JWT>~<D1>~...~<Dn>~`` followed by the KB-JWT, if any (section 4)."""
    if not isinstance(issuer_jwt, str) or _JWT.fullmatch(issuer_jwt) is None:
        raise UsageError("the Issuer-signed JWT must be a JWS compact serialization")
    if kb_jwt and (not isinstance(kb_jwt, str) or _JWT.fullmatch(kb_jwt) is None):
        raise UsageError("the KB-JWT must be a JWS compact serialization")
    if len(disclosures) > MAX_DISCLOSURES:
        raise UsageError(f"at most {MAX_DISCLOSURES} disclosures")
    parts = [issuer_jwt]
    for item in disclosures:
        encoded = item.encoded if isinstance(item, Disclosure) else item
        if not isinstance(encoded, str) or not encoded or len(encoded) > MAX_DISCLOSURE_CHARS:
            raise UsageError("each disclosure must be a non-empty base64url string within the cap")
        try:
            # The checks of b64u_decode, without decoding what is not used.
            b64u_check(encoded, what="disclosure")
        except MalformedInputError as exc:
            raise UsageError(exc.message) from None
        parts.append(encoded)
    parts.append(kb_jwt or "")
    out = "~".join(parts)
    if len(out) > MAX_SD_JWT_CHARS:
        raise UsageError(
            f"the SD-JWT would be {len(out)} characters; the limit is {MAX_SD_JWT_CHARS}"
        )
    return out


def split(sd_jwt: str) -> tuple[str, list[str], str | None]:
    """Split a compact SD-JWT or SD-JWT+KB; return ``(issuer_jwt, disclosures, kb_jwt)``.

    The strict inverse of :func:`serialize` (section 4 ABNF): at most
    :data:`MAX_SD_JWT_CHARS` characters and :data:`MAX_DISCLOSURES`
    disclosures; the JWT parts have the shape of a JWS compact serialization;
    each disclosure is non-empty canonical base64url of at most
    :data:`MAX_DISCLOSURE_CHARS` characters (an empty one, ``~~``, is
    malformed). ``kb_jwt`` is ``None`` when the last component is empty.
    Signatures, JSON and disclosure contents are not checked here.
    """
    if not isinstance(sd_jwt, str):
        raise MalformedInputError("an SD-JWT must be text")
    if len(sd_jwt) > MAX_SD_JWT_CHARS:
        raise OversizedInputError(
            f"the SD-JWT is {len(sd_jwt)} characters; the limit is {MAX_SD_JWT_CHARS}"
        )
    if sd_jwt.count("~") - 1 > MAX_DISCLOSURES:
        raise OversizedInputError(f"the SD-JWT has more than {MAX_DISCLOSURES} disclosures")
    parts = sd_jwt.split("~")
    if len(parts) < 2:
        raise MalformedInputError("not an SD-JWT: no '~' after the Issuer-signed JWT")
    issuer_jwt, disclosures, kb = parts[0], parts[1:-1], parts[-1]
    if _JWT.fullmatch(issuer_jwt) is None:
        raise MalformedInputError(
            "the Issuer-signed JWT is not a JWS compact serialization (three base64url parts)"
        )
    for position, encoded in enumerate(disclosures, start=1):
        _check_encoded(encoded, position)
    if kb and _JWT.fullmatch(kb) is None:
        raise MalformedInputError(
            "the Key Binding JWT is not a JWS compact serialization (three base64url parts)"
        )
    return issuer_jwt, disclosures, kb or None


def _check_encoded(encoded: object, position: int) -> str:
    what = f"disclosure #{position}"
    text = _check_size(encoded, what)
    b64u_check(text, what=what)
    return text


def _check_size(encoded: object, what: str) -> str:
    """A disclosure is a non-empty string within the cap (its base64url is checked apart)."""
    if not isinstance(encoded, str):
        raise MalformedInputError(f"{what} must be a string")
    if not encoded:
        raise MalformedInputError(f"{what} is empty ('~~' inside an SD-JWT)")
    if len(encoded) > MAX_DISCLOSURE_CHARS:
        raise OversizedInputError(
            f"{what} is {len(encoded)} characters; the limit is {MAX_DISCLOSURE_CHARS}"
        )
    return encoded


# -- verifier side -----------------------------------------------------------


def _parse_disclosure(encoded: object, position: int) -> Disclosure:
    """Decode one received disclosure; check its form (section 7.1 step 3.3.2.1, 3.3.3.1)."""
    what = f"disclosure #{position}"
    text = _check_size(encoded, what)
    # b64u_decode makes exactly the checks of _check_encoded's b64u_check, with
    # the same messages, so the text is not checked twice.
    array = strictjson.loads(
        b64u_decode(text, what=what), what=what, max_bytes=MAX_DISCLOSURE_CHARS
    )
    if not isinstance(array, list):
        raise VerificationError(f"{what} is not a JSON array")
    name: str | None = None
    if len(array) == 3:
        salt, name_value, value = array
        if not isinstance(name_value, str):
            raise VerificationError(f"{what}: the claim name must be a string")
        if name_value in _RESERVED:
            raise VerificationError(
                f"{what}: the claim name {name_value!r} is not allowed (RFC 9901 section 7.1 "
                "step 3.3.2.2; _sd_alg by this profile)"
            )
        name = name_value
    elif len(array) == 2:
        salt, value = array
    else:
        raise VerificationError(
            f"{what} has {len(array)} elements; a disclosure has 3 (salt, name, value) "
            "or 2 (salt, value)"
        )
    if not isinstance(salt, str):
        raise VerificationError(f"{what}: the salt must be a string (section 4.2.1)")
    # Section 7.1 step 3.1: the digest is over the string as received.
    return Disclosure(text, _digest_of_b64u(text), salt, name, value)


class _Revealer:
    """Verifier state of one :func:`reveal` call: the digest index, what was seen and used.

    With *frozen*, every object of the output is built as a read-only
    :class:`~types.MappingProxyType` and every array as a tuple, in the same
    pass that processes the payload (rather than a second walk to freeze it).
    """

    __slots__ = ("_frozen", "_index", "_seen", "used")

    def __init__(self, index: dict[str, Disclosure], *, frozen: bool = False) -> None:
        self._index = index
        self._frozen = frozen
        self._seen: set[str] = set()
        self.used: set[str] = set()

    def _lookup(self, digest: object, where: str) -> Disclosure | None:
        if not isinstance(digest, str) or _DIGEST.fullmatch(digest) is None:
            raise VerificationError(
                f"{where} must hold base64url SHA-256 digests (43 characters); found "
                f"{repr(digest)[:50] if isinstance(digest, str) else type(digest).__name__}"
            )
        if digest in self._seen:
            # Section 7.1 step 4 (and section 4.1: never more than once).
            raise VerificationError(f"the digest {digest} appears more than once in the SD-JWT")
        self._seen.add(digest)
        disclosure = self._index.get(digest)
        if disclosure is not None:
            self.used.add(digest)
        return disclosure

    def value(self, value: Any, depth: int) -> Any:
        if isinstance(value, dict):
            return self.do_object(value, depth, top=False)
        if isinstance(value, list):
            return self.do_array(value, depth)
        return value

    def do_object(self, obj: dict[str, Any], depth: int, *, top: bool) -> Any:
        if depth > strictjson.MAX_DEPTH:
            raise MalformedInputError(
                f"the processed SD-JWT payload is nested more than {strictjson.MAX_DEPTH} levels deep"
            )
        out: dict[str, Any] = {}
        for key, item in obj.items():
            if key in _RESERVED:  # one set lookup for the three names in the usual case
                if key == _SD:
                    continue
                if key == _DOTS:
                    raise VerificationError(
                        "'...' may appear only as the single member of an array element "
                        "(RFC 9901 section 4.1 rule 7, 4.2.4.2)"
                    )
                if top:  # _SD_ALG_CLAIM
                    continue  # checked by reveal(); removed (section 7.1 step 3.6)
                raise VerificationError(
                    "_sd_alg may appear only at the top level of the payload (section 4.1.1)"
                )
            # Scalars, most values, are kept without the call to value().
            out[key] = self.value(item, depth + 1) if isinstance(item, _CONTAINERS) else item
        if _SD in obj:
            digests = obj[_SD]
            if not isinstance(digests, list):
                raise VerificationError("_sd must be an array of digests (section 4.2.4.1)")
            for digest in digests:
                disclosure = self._lookup(digest, "_sd")
                if disclosure is None:
                    continue  # a decoy or an undisclosed claim (section 7.1 step 3.3.1)
                if disclosure.name is None:
                    raise VerificationError(
                        f"an array-element disclosure (digest {disclosure.digest}) is referenced "
                        "from an object's _sd (section 7.1 step 3.3.2.1)"
                    )
                if disclosure.name in out:
                    raise VerificationError(
                        f"the disclosed claim {disclosure.name[:64]!r} already exists in its "
                        "object (section 7.1 step 3.3.2.3)"
                    )
                # Section 7.1 step 3.3.2.4-5: insert, then process the value recursively.
                out[disclosure.name] = self.value(disclosure.value, depth + 1)
        return MappingProxyType(out) if self._frozen else out

    def do_array(self, values: list[Any], depth: int) -> Any:
        if depth > strictjson.MAX_DEPTH:
            raise MalformedInputError(
                f"the processed SD-JWT payload is nested more than {strictjson.MAX_DEPTH} levels deep"
            )
        out: list[Any] = []
        for item in values:
            if isinstance(item, dict) and _DOTS in item:
                if len(item) != 1:
                    raise VerificationError(
                        "an array element with '...' must have no other member (section 4.2.4.2)"
                    )
                disclosure = self._lookup(item[_DOTS], "an array element's '...'")
                if disclosure is None:
                    continue  # section 7.1 step 3.4: undisclosed elements are removed
                if disclosure.name is not None:
                    raise VerificationError(
                        f"an object-property disclosure ({disclosure.name[:64]!r}) is referenced "
                        "from an array element (section 7.1 step 3.3.3.1)"
                    )
                # Section 7.1 step 3.3.3.2-3: replace, then process recursively.
                out.append(self.value(disclosure.value, depth + 1))
            elif isinstance(item, _CONTAINERS):
                out.append(self.value(item, depth + 1))
            else:
                out.append(item)  # a scalar, kept without the call to value()
        return tuple(out) if self._frozen else out


@overload
def reveal(
    payload: dict[str, Any], disclosures: Sequence[str], *, frozen: Literal[False] = False
) -> tuple[dict[str, Any], list[Disclosure]]: ...


@overload
def reveal(
    payload: dict[str, Any], disclosures: Sequence[str], *, frozen: bool
) -> tuple[Mapping[str, Any], list[Disclosure]]: ...


def reveal(
    payload: dict[str, Any], disclosures: Sequence[str], *, frozen: bool = False
) -> tuple[Mapping[str, Any], list[Disclosure]]:
    """Process *disclosures* against a verified *payload* (section 7.1 steps 2.4 and 3-5).

    The caller has verified the Issuer-signed JWT's signature (section 7.1
    step 2.1-2.3) and passes its payload. Returns the Processed SD-JWT
    Payload (disclosed claims inserted; ``_sd``, ``_sd_alg`` and undisclosed
    array elements removed) and the parsed disclosures in the order given.
    Neither the payload nor anything returned shares mutable state with the
    other; on error nothing is returned. With *frozen*, the Processed SD-JWT
    Payload is read-only: its objects are :class:`~types.MappingProxyType`
    and its arrays tuples.

    Raises :class:`~safeshare.errors.MalformedInputError` for base64url/JSON
    syntax and caps, :class:`~safeshare.errors.VerificationError` for every
    section 7.1 rejection: unsupported ``_sd_alg``; a disclosure that is not a
    JSON array of 3 (property) or 2 (element) with string salt and name; the
    names ``_sd``, ``...``, ``_sd_alg``; a property disclosure referenced from
    an array element or the reverse; a claim name already in its object; a
    digest seen twice (payload, disclosed values, or the same disclosure twice);
    a disclosure no digest references; malformed ``_sd``/``...``.
    """
    if not isinstance(payload, dict):
        raise MalformedInputError("the SD-JWT payload must be a JSON object")
    # Section 7.1 step 2.4 / 4.1.1: absent means sha-256; nothing else is accepted.
    alg = payload.get(_SD_ALG_CLAIM, SD_ALG)
    if alg != SD_ALG:
        shown = repr(alg)[:40] if isinstance(alg, str) else type(alg).__name__
        raise VerificationError(
            f"unsupported _sd_alg {shown}; this profile accepts only {SD_ALG!r} (section 4.1.1)"
        )
    if isinstance(disclosures, str) or not isinstance(disclosures, Sequence):
        raise UsageError("disclosures must be a sequence of strings")
    if len(disclosures) > MAX_DISCLOSURES:
        raise OversizedInputError(f"{len(disclosures)} disclosures; the limit is {MAX_DISCLOSURES}")
    parsed = [_parse_disclosure(d, i) for i, d in enumerate(disclosures, start=1)]
    index: dict[str, Disclosure] = {}
    for position, disclosure in enumerate(parsed, start=1):
        if disclosure.digest in index:
            raise VerificationError(
                f"disclosure #{position} is sent more than once (digest {disclosure.digest}; "
                "section 4, section 7.1 step 4)"
            )
        index[disclosure.digest] = disclosure
    revealer = _Revealer(index, frozen=frozen)
    out: Mapping[str, Any] = revealer.do_object(payload, 1, top=True)
    for position, disclosure in enumerate(parsed, start=1):
        if disclosure.digest not in revealer.used:
            raise VerificationError(
                f"disclosure #{position} (digest {disclosure.digest}) is not referenced by any "
                "digest in the Issuer-signed JWT or a disclosed value (section 7.1 step 5)"
            )
    return out, parsed


# -- paths and selection (holder side) ----------------------------------------


def disclosure_paths(
    payload: Mapping[str, Any], disclosures: Sequence[Disclosure]
) -> dict[str, Path]:
    """Where each of *disclosures* sits in *payload*: digest -> :data:`Path`.

    *payload* is an Issuer-signed JWT payload that :func:`conceal` produced or
    whose disclosures :func:`reveal` accepted (a holder only selects from a
    verified SD-JWT); a nested disclosure's path runs through the disclosure
    that contains it (section 4.2.6). A disclosure no digest references is
    missing from the result.
    """
    index = {d.digest: d for d in disclosures}
    found: dict[str, Path] = {}

    def walk(value: Any, path: Path) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                if key == _SD and isinstance(item, list):
                    for digest in item:
                        disclosure = index.get(digest) if isinstance(digest, str) else None
                        if disclosure is not None and disclosure.name is not None:
                            found[digest] = (*path, disclosure.name)
                            walk(disclosure.value, found[digest])
                elif key not in _RESERVED:
                    walk(item, (*path, key))
        elif isinstance(value, list):
            for position, item in enumerate(value):
                if isinstance(item, Mapping) and _DOTS in item and len(item) == 1:
                    digest = item[_DOTS]
                    disclosure = index.get(digest) if isinstance(digest, str) else None
                    if disclosure is not None and disclosure.name is None:
                        found[digest] = (*path, position)
                        walk(disclosure.value, found[digest])
                else:
                    walk(item, (*path, position))

    walk(payload, ())
    return found


def _related(a: Path, b: Path) -> bool:
    """True when one path is a prefix of the other (an ancestor, itself, or a descendant)."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def select(
    payload: Mapping[str, Any], disclosures: Sequence[Disclosure], paths: Sequence[Path]
) -> list[Disclosure]:
    """The disclosures a holder presents to reveal exactly the claims at *paths*.

    A disclosure is kept when its path leads to one of *paths* (an enclosing
    object's disclosure is needed to reach a nested claim, section 4.2.6) or
    lies inside one (disclosing an object discloses its concealed members).
    Order is that of *disclosures*. A path that no disclosure reaches raises
    :class:`~safeshare.errors.UsageError` naming it, so a holder never
    believes it passed on a claim it did not have; so does a path inside a
    disclosure's plain value (presenting it would reveal the whole value).
    """
    where = disclosure_paths(payload, disclosures)
    by_digest = {d.digest: d for d in disclosures}
    wanted = [tuple(p) for p in paths]
    for path in wanted:
        shown = "/".join(str(p) for p in path)
        if _plain_at(payload, path) or any(
            _related(found, path) and len(found) >= len(path) for found in where.values()
        ):
            continue
        enclosing = [
            found
            for digest, found in where.items()
            if _related(found, path) and _plain_at(by_digest[digest].value, path[len(found) :])
        ]
        if enclosing:
            # Presenting the enclosing disclosure would reveal more than was asked.
            whole = "/".join(str(p) for p in max(enclosing, key=len))
            raise UsageError(
                f"{shown!r} is not selectively disclosable on its own: the issuer concealed "
                f"{whole!r} as a whole; pass on {whole!r} or leave it out"
            )
        raise UsageError(f"no disclosure reveals {shown!r}: it was not disclosed to us")
    return [
        d
        for d in disclosures
        if d.digest in where and any(_related(where[d.digest], p) for p in wanted)
    ]


def _plain_at(payload: Any, path: Path) -> bool:
    """True when *path* names a plain (always visible) member of *payload*."""
    value: Any = payload
    for part in path:
        if isinstance(value, Mapping) and isinstance(part, str):
            if part not in value or part in _RESERVED:
                return False
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        else:
            return False
    return True
