"""Agency key sets: Ed25519 signing keys, X25519 encryption keys, key files.

Security properties
-------------------
* **No algorithm choice.** A signing key is Ed25519 (JWS ``alg`` ``Ed25519``,
  RFC 9864); an encryption key is X25519 used with ``ECDH-ES+A256KW``
  (RFC 7518 section 4.6, RFC 8037). Each key is bound to that one algorithm.
* **Key ids are RFC 7638 thumbprints** of the RFC 8037 OKP public key, so a
  ``kid`` can always be recomputed and never names a different key.
* **Secrets stay inside.** Private key objects refuse pickling and copying,
  show only their ``kid`` in ``repr``, and hand out raw private bytes only to a
  caller who passes :data:`SECRET_KEY_ACCESS` - a name that is easy to grep for
  in code review (the Tink rule).
* **Key files are encrypted.** :meth:`AgencyKeySet.save` writes a JWE (RFC 7516
  flattened JSON serialization) with ``PBES2-HS512+A256KW`` (RFC 7518 section
  4.8, 210,000 PBKDF2 iterations) and ``A256GCM``, file mode 0600, atomically.
  A wrong passphrase or a modified file gives :class:`~safeshare.errors.KeyFileError`.
  The format is standard: any JOSE library can decrypt it with the passphrase.
* **The privacy secret travels with the keys.** A key set may hold one
  256-bit :class:`~safeshare.privacy.secret.PrivacySecret` (pseudonyms, the
  blind index, the pseudonym vault). :meth:`AgencyKeySet.private_jwks`
  exports it as an RFC 7517 symmetric JWK (section 6.4 of RFC 7518,
  ``kty`` ``oct``) with ``use`` ``safeshare-privacy`` (RFC 7517 section
  4.2 allows values other than ``sig`` and ``enc``) and ``kid`` the secret's
  fingerprint (a domain-separated hash that reveals nothing of it), after
  the signing and encryption keys; the key file encrypts it with them. It
  is never in :meth:`AgencyKeySet.public_jwks` nor in a ``repr``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, NoReturn

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from safeshare._internal import fs, strictjson
from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare.errors import (
    KeyFileError,
    MalformedInputError,
    SafeShareError,
    UnknownKeyError,
    UsageError,
    VerificationError,
)

if TYPE_CHECKING:
    # Imported at run time only inside functions: safeshare.privacy may import
    # modules (the audit log, purpose enforcement) that import this one.
    from safeshare.privacy.secret import PrivacySecret

__all__ = [
    "ENC_ALG",
    "PRIVACY_KEY_USE",
    "SECRET_KEY_ACCESS",
    "SIG_ALG",
    "AgencyKeySet",
    "DecryptionKey",
    "EncryptionKey",
    "KeyUse",
    "SecretKeyAccess",
    "SigningKey",
    "VerifyKey",
    "jwk_thumbprint",
    "public_key_from_jwk",
]

KeyUse = Literal["sig", "enc"]

#: The one signature algorithm (RFC 9864 fully-specified name for EdDSA/Ed25519).
SIG_ALG: Final = "Ed25519"
#: The one key-management algorithm (RFC 7518 section 4.6 with X25519, RFC 8037).
ENC_ALG: Final = "ECDH-ES+A256KW"

#: ``use`` of the privacy secret's ``oct`` JWK in a private key set (RFC 7517 section 4.2).
PRIVACY_KEY_USE: Final = "safeshare-privacy"
_PRIVACY_JWK_MEMBERS: Final = frozenset({"kty", "k", "use", "kid"})

_CRV_FOR_USE: Final[dict[str, str]] = {"sig": "Ed25519", "enc": "X25519"}
_ALG_FOR_USE: Final[dict[str, str]] = {"sig": SIG_ALG, "enc": ENC_ALG}

#: Largest key file accepted.
MAX_KEY_FILE_BYTES: Final = 256 * 1024
_KEYFILE_ALG: Final = "PBES2-HS512+A256KW"
_KEYFILE_ENC: Final = "A256GCM"
_KEYFILE_TYP: Final = "safeshare-keyset+jwe"
_PBKDF2_ITERATIONS: Final = 210_000  # OWASP 2023 figure for PBKDF2-HMAC-SHA512
_PBKDF2_MIN: Final = 100_000
_PBKDF2_MAX: Final = 5_000_000  # refuse files that would make us spin for minutes
_MIN_PASSPHRASE: Final = 8


class SecretKeyAccess:
    """Token that a caller passes to read raw private key material.

    There is exactly one instance, :data:`SECRET_KEY_ACCESS`. Code that exports
    secrets must name it, which makes every such place easy to find.
    """

    _instance: SecretKeyAccess | None = None

    def __new__(cls) -> SecretKeyAccess:
        if cls._instance is not None:
            raise UsageError("use safeshare.keys.SECRET_KEY_ACCESS; do not create new tokens")
        inst = super().__new__(cls)
        cls._instance = inst
        return inst

    def __repr__(self) -> str:
        return "SECRET_KEY_ACCESS"

    def __reduce__(self) -> NoReturn:
        raise UsageError("SECRET_KEY_ACCESS cannot be pickled")


#: The secret-access token; see :class:`SecretKeyAccess`.
SECRET_KEY_ACCESS: Final = SecretKeyAccess()


def _check_access(access: object) -> None:
    if access is not SECRET_KEY_ACCESS:
        raise UsageError("exporting private key material requires safeshare.keys.SECRET_KEY_ACCESS")


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of an OKP public key.

    Section 3.2 of RFC 7638 hashes the required members in lexicographic
    order with no whitespace; for OKP keys these are ``crv``, ``kty``, ``x``
    (RFC 8037 section 2).
    """
    try:
        crv, kty, x = jwk["crv"], jwk["kty"], jwk["x"]
    except (KeyError, TypeError):
        raise MalformedInputError("JWK lacks one of the members crv, kty, x") from None
    if not all(isinstance(v, str) for v in (crv, kty, x)):
        raise MalformedInputError("JWK members crv, kty and x must be strings")
    canonical = strictjson.dumps({"crv": crv, "kty": kty, "x": x})
    return b64u_encode(hashlib.sha256(canonical).digest())


def _okp_thumbprint(crv: str, x: bytes) -> str:
    return jwk_thumbprint({"crv": crv, "kty": "OKP", "x": b64u_encode(x)})


class _PublicKey:
    """Shared behaviour of the two public key kinds."""

    use: KeyUse
    crv: str
    alg: str
    __slots__ = ("_kid", "_raw")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != 32:
            raise MalformedInputError(f"an {self.crv} public key is 32 bytes, not {len(raw)}")
        self._raw = raw
        self._kid = _okp_thumbprint(self.crv, raw)

    @property
    def kid(self) -> str:
        """The RFC 7638 thumbprint of this key."""
        return self._kid

    @property
    def raw(self) -> bytes:
        """The 32-byte public key (public keys are not secret)."""
        return self._raw

    def to_jwk(self) -> dict[str, str]:
        """RFC 7517 / RFC 8037 public JWK with ``kid``, ``use`` and ``alg``."""
        return {
            "kty": "OKP",
            "crv": self.crv,
            "x": b64u_encode(self._raw),
            "kid": self._kid,
            "use": self.use,
            "alg": self.alg,
        }

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash((type(self), self._raw))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kid={self._kid!r})"


class VerifyKey(_PublicKey):
    """An Ed25519 public key that verifies agency signatures."""

    use: KeyUse = "sig"
    crv = "Ed25519"
    alg = SIG_ALG
    __slots__ = ("_key",)

    def __init__(self, raw: bytes) -> None:
        super().__init__(raw)
        try:
            self._key = ed25519.Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            raise MalformedInputError("not a valid Ed25519 public key") from None

    def verify(self, signature: bytes, data: bytes) -> None:
        """Verify an Ed25519 signature; raise :class:`VerificationError` if it is wrong."""
        try:
            self._key.verify(signature, data)
        except InvalidSignature:
            raise VerificationError(f"the signature does not verify with key {self._kid}") from None


class EncryptionKey(_PublicKey):
    """An X25519 public key that envelopes are encrypted to."""

    use: KeyUse = "enc"
    crv = "X25519"
    alg = ENC_ALG
    __slots__ = ("_key",)

    def __init__(self, raw: bytes) -> None:
        super().__init__(raw)
        self._key = x25519.X25519PublicKey.from_public_bytes(raw)

    @property
    def public_key(self) -> x25519.X25519PublicKey:
        """The ``cryptography`` object (hazmat; for the envelope layer)."""
        return self._key


def public_key_from_jwk(jwk: Mapping[str, Any]) -> VerifyKey | EncryptionKey:
    """Parse a public OKP JWK strictly.

    Rejects private members (``d``), unknown curves, a ``use`` or ``alg`` that
    does not belong to the curve, and a ``kid`` that is not the thumbprint.
    """
    if not isinstance(jwk, Mapping):
        raise MalformedInputError("a JWK must be a JSON object")
    allowed = {"kty", "crv", "x", "kid", "use", "alg", "key_ops"}
    extra = set(jwk) - allowed
    if "d" in jwk:
        raise MalformedInputError(
            "this JWK contains a private key ('d'); only public keys belong here"
        )
    if extra:
        raise MalformedInputError(f"JWK has members that are not allowed: {sorted(extra)}")
    if jwk.get("kty") != "OKP":
        raise MalformedInputError("only OKP keys (RFC 8037) are used by safeshare")
    crv = jwk.get("crv")
    cls: type[VerifyKey] | type[EncryptionKey]
    if crv == "Ed25519":
        cls = VerifyKey
    elif crv == "X25519":
        cls = EncryptionKey
    else:
        raise MalformedInputError(f"unsupported curve {crv!r}; expected Ed25519 or X25519")
    x = jwk.get("x")
    if not isinstance(x, str):
        raise MalformedInputError("JWK member 'x' must be a base64url string")
    key = cls(b64u_decode(x, what="JWK member 'x'"))
    if "use" in jwk and jwk["use"] != cls.use:
        raise MalformedInputError(f"a {crv} key must have use {cls.use!r}, not {jwk['use']!r}")
    if "alg" in jwk and jwk["alg"] != cls.alg:
        raise MalformedInputError(f"a {crv} key must have alg {cls.alg!r}, not {jwk['alg']!r}")
    if "kid" in jwk and jwk["kid"] != key.kid:
        raise MalformedInputError(
            f"JWK kid {str(jwk['kid'])[:64]!r} is not the RFC 7638 thumbprint of the key ({key.kid})"
        )
    return key


class _PrivateKey:
    """Shared behaviour of private keys: no pickling, no secrets in repr,
    raw material only with :data:`SECRET_KEY_ACCESS`."""

    __slots__ = ("_key", "_public")
    _key: ed25519.Ed25519PrivateKey | x25519.X25519PrivateKey
    _public: VerifyKey | EncryptionKey

    @property
    def kid(self) -> str:
        """The RFC 7638 thumbprint of the public key."""
        return self._public.kid

    def private_bytes(self, access: SecretKeyAccess) -> bytes:
        """The raw 32-byte private key. Requires :data:`SECRET_KEY_ACCESS`."""
        _check_access(access)
        return self._key.private_bytes_raw()

    def to_private_jwk(self, access: SecretKeyAccess) -> dict[str, str]:
        """The private JWK (with ``d``). Requires :data:`SECRET_KEY_ACCESS`."""
        jwk = self._public.to_jwk()
        jwk["d"] = b64u_encode(self.private_bytes(access))
        return jwk

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kid={self.kid!r})"

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise UsageError(
            f"{type(self).__name__} cannot be pickled or copied: private keys stay in "
            "memory or in an encrypted key file (AgencyKeySet.save)"
        )

    def __getstate__(self) -> NoReturn:
        self.__reduce_ex__(None)


class SigningKey(_PrivateKey):
    """An agency's Ed25519 signing key. Signs; never shows its secret."""

    __slots__ = ()
    _key: ed25519.Ed25519PrivateKey
    _public: VerifyKey

    def __init__(self, key: ed25519.Ed25519PrivateKey) -> None:
        self._key = key
        self._public = VerifyKey(key.public_key().public_bytes_raw())

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key from the operating system's CSPRNG."""
        return cls(ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> SigningKey:
        """Import a 32-byte Ed25519 seed (test vectors, key files)."""
        try:
            return cls(ed25519.Ed25519PrivateKey.from_private_bytes(raw))
        except ValueError:
            raise MalformedInputError("not a valid 32-byte Ed25519 private key") from None

    @property
    def public(self) -> VerifyKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        """Ed25519 signature over *data* (deterministic, RFC 8032)."""
        return self._key.sign(data)


class DecryptionKey(_PrivateKey):
    """An agency's X25519 key that opens envelopes sealed to it."""

    __slots__ = ()
    _key: x25519.X25519PrivateKey
    _public: EncryptionKey

    def __init__(self, key: x25519.X25519PrivateKey) -> None:
        self._key = key
        self._public = EncryptionKey(key.public_key().public_bytes_raw())

    @classmethod
    def generate(cls) -> DecryptionKey:
        """A fresh key from the operating system's CSPRNG."""
        return cls(x25519.X25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> DecryptionKey:
        """Import a 32-byte X25519 private key (test vectors, key files)."""
        try:
            return cls(x25519.X25519PrivateKey.from_private_bytes(raw))
        except ValueError:
            raise MalformedInputError("not a valid 32-byte X25519 private key") from None

    @property
    def public(self) -> EncryptionKey:
        return self._public

    def exchange(self, peer: EncryptionKey) -> bytes:
        """Raw X25519 shared secret with *peer* (hazmat; for the envelope layer).

        Raises :class:`VerificationError` for a low-order peer point, which
        would give an all-zero secret (RFC 7748 section 6.1).
        """
        try:
            return self._key.exchange(peer.public_key)
        except ValueError:
            raise VerificationError(
                "the ephemeral key is a low-order X25519 point (all-zero shared secret)"
            ) from None


def _private_key_from_jwk(jwk: Mapping[str, Any]) -> SigningKey | DecryptionKey:
    if not isinstance(jwk, Mapping):
        raise MalformedInputError("a private JWK must be a JSON object")
    d = jwk.get("d")
    if not isinstance(d, str):
        raise MalformedInputError("a private JWK needs the member 'd'")
    public = public_key_from_jwk({k: v for k, v in jwk.items() if k != "d"})
    seed = b64u_decode(d, what="JWK member 'd'")
    key: SigningKey | DecryptionKey
    if isinstance(public, VerifyKey):
        key = SigningKey.from_private_bytes(seed)
    else:
        key = DecryptionKey.from_private_bytes(seed)
    if key.kid != public.kid:
        raise MalformedInputError(f"private JWK {public.kid}: 'd' does not match 'x'")
    return key


def _privacy_secret_type() -> type[PrivacySecret]:
    from safeshare.privacy.secret import PrivacySecret  # noqa: PLC0415 - see TYPE_CHECKING above

    return PrivacySecret


def _privacy_jwk(secret: PrivacySecret, access: SecretKeyAccess) -> dict[str, str]:
    """The RFC 7517 ``oct`` JWK of the privacy secret (RFC 7518 section 6.4)."""
    return {
        "kty": "oct",
        "k": b64u_encode(secret.raw_bytes(access)),
        "use": PRIVACY_KEY_USE,
        "kid": secret.fingerprint,
    }


def _is_privacy_jwk(jwk: object) -> bool:
    return isinstance(jwk, Mapping) and jwk.get("kty") == "oct"


def _privacy_secret_from_jwk(jwk: Mapping[str, Any]) -> PrivacySecret:
    """Parse the privacy secret's ``oct`` JWK strictly (members, ``use``, length, ``kid``)."""
    extra = set(jwk) - _PRIVACY_JWK_MEMBERS
    if extra:
        raise MalformedInputError(
            f"the privacy secret's JWK has members that are not allowed: {sorted(extra)}"
        )
    if jwk.get("use") != PRIVACY_KEY_USE:
        raise MalformedInputError(
            f"an oct JWK in a key set must be the privacy secret (use {PRIVACY_KEY_USE!r})"
        )
    k = jwk.get("k")
    if not isinstance(k, str):
        raise MalformedInputError("the privacy secret's JWK needs the member 'k'")
    raw = b64u_decode(k, what="JWK member 'k'")
    cls = _privacy_secret_type()
    try:
        secret = cls(raw)
    except UsageError as exc:
        raise MalformedInputError(f"the privacy secret's JWK is invalid: {exc.message}") from None
    kid = jwk.get("kid")
    if kid is not None and kid != secret.fingerprint:
        raise MalformedInputError("the privacy secret's JWK: 'kid' does not match 'k'")
    return secret


class AgencyKeySet:
    """All private keys of one agency: signing keys, decryption keys, privacy secret.

    The last key of each kind is the current one; older keys stay so that
    envelopes sealed to them can still be opened during a rotation. Which key
    is valid when is the trust registry's business, not the key set's.

    The optional privacy secret (:class:`~safeshare.privacy.secret.PrivacySecret`)
    keys the agency's pseudonyms, blind index and pseudonym vault. It is
    never rotated by the key-rotation methods (a new secret would make every
    pseudonym and blind-index token issued so far unresolvable) and is kept
    by them unchanged. It is exported only by :meth:`private_jwks` (with
    :data:`SECRET_KEY_ACCESS`) and saved encrypted in the key file.
    """

    __slots__ = ("_agency", "_decryption", "_privacy", "_signing")

    def __init__(
        self,
        agency: str,
        signing_keys: Sequence[SigningKey],
        decryption_keys: Sequence[DecryptionKey],
        *,
        privacy: PrivacySecret | None = None,
    ) -> None:
        if not isinstance(agency, str) or not agency:
            raise UsageError("an agency key set needs a non-empty agency id")
        if not signing_keys or not decryption_keys:
            raise UsageError("an agency key set needs at least one signing and one encryption key")
        if privacy is not None and not isinstance(privacy, _privacy_secret_type()):
            raise UsageError("privacy must be a safeshare.privacy.secret.PrivacySecret or None")
        self._agency = agency
        self._signing = tuple(signing_keys)
        self._decryption = tuple(decryption_keys)
        self._privacy = privacy

    @classmethod
    def generate(cls, agency: str) -> AgencyKeySet:
        """A new key set: a fresh signing key, encryption key and privacy secret."""
        return cls(
            agency,
            [SigningKey.generate()],
            [DecryptionKey.generate()],
            privacy=_privacy_secret_type().generate(),
        )

    @property
    def agency(self) -> str:
        return self._agency

    @property
    def signing_key(self) -> SigningKey:
        """The current signing key."""
        return self._signing[-1]

    @property
    def decryption_key(self) -> DecryptionKey:
        """The current encryption (decryption) key."""
        return self._decryption[-1]

    @property
    def signing_keys(self) -> tuple[SigningKey, ...]:
        return self._signing

    @property
    def decryption_keys(self) -> tuple[DecryptionKey, ...]:
        return self._decryption

    @property
    def has_privacy_secret(self) -> bool:
        """Whether this key set holds a privacy secret."""
        return self._privacy is not None

    @property
    def privacy_secret(self) -> PrivacySecret:
        """The agency's privacy secret; :class:`UsageError` if the key set has none."""
        if self._privacy is None:
            raise UsageError(
                f"the key set of {self._agency} has no privacy secret (needed for pseudonyms, "
                "the blind index and the pseudonym vault)",
                hint=(
                    "create one with `safeshare keygen --privacy KEYFILE` (adds it to an "
                    "existing key file) or AgencyKeySet.with_privacy_secret(), then save the "
                    "key set"
                ),
            )
        return self._privacy

    def with_privacy_secret(self) -> AgencyKeySet:
        """A copy of this set with a fresh privacy secret (replacing any it had).

        Replacing a secret makes every pseudonym and blind-index token made
        with the old one unresolvable by the new one: do it only for a key
        set that has none, or deliberately.
        """
        return AgencyKeySet(
            self._agency,
            self._signing,
            self._decryption,
            privacy=_privacy_secret_type().generate(),
        )

    def with_new_signing_key(self) -> AgencyKeySet:
        """A copy of this set with a fresh signing key as the current one."""
        return AgencyKeySet(
            self._agency,
            [*self._signing, SigningKey.generate()],
            self._decryption,
            privacy=self._privacy,
        )

    def with_new_encryption_key(self) -> AgencyKeySet:
        """A copy of this set with a fresh encryption key as the current one."""
        return AgencyKeySet(
            self._agency,
            self._signing,
            [*self._decryption, DecryptionKey.generate()],
            privacy=self._privacy,
        )

    def decryption_key_for(self, kid: str) -> DecryptionKey:
        """The decryption key with this ``kid``, or :class:`UnknownKeyError`."""
        for key in self._decryption:
            if key.kid == kid:
                return key
        raise UnknownKeyError(f"agency {self._agency} holds no encryption key {kid[:64]!r}")

    def public_jwks(self) -> dict[str, list[dict[str, str]]]:
        """RFC 7517 JWK Set of the public keys (signing first, then encryption).

        Never contains the privacy secret (it has no public part).
        """
        keys = [k.public.to_jwk() for k in self._signing]
        keys += [k.public.to_jwk() for k in self._decryption]
        return {"keys": keys}

    def private_jwks(self, access: SecretKeyAccess) -> dict[str, Any]:
        """JWK Set with private keys. Requires :data:`SECRET_KEY_ACCESS`.

        Signing keys, then encryption keys, then (if the set has one) the
        privacy secret as an ``oct`` JWK with ``use`` :data:`PRIVACY_KEY_USE`.
        A key set without a privacy secret exports exactly what it did before
        privacy secrets existed.
        """
        _check_access(access)
        keys = [k.to_private_jwk(access) for k in self._signing]
        keys += [k.to_private_jwk(access) for k in self._decryption]
        if self._privacy is not None:
            keys.append(_privacy_jwk(self._privacy, access))
        return {"safeshare_agency": self._agency, "keys": keys}

    @classmethod
    def from_private_jwks(cls, jwks: Mapping[str, Any]) -> AgencyKeySet:
        """Rebuild a key set from :meth:`private_jwks` output (vectors, key files).

        Accepts zero or one privacy secret (an ``oct`` JWK); two are refused.
        """
        if not isinstance(jwks, Mapping) or set(jwks) != {"safeshare_agency", "keys"}:
            raise MalformedInputError(
                "a private key set has exactly the members 'safeshare_agency' and 'keys'"
            )
        agency, keys = jwks["safeshare_agency"], jwks["keys"]
        if not isinstance(agency, str) or not isinstance(keys, list):
            raise MalformedInputError("'safeshare_agency' must be a string and 'keys' a list")
        signing: list[SigningKey] = []
        decryption: list[DecryptionKey] = []
        privacy: PrivacySecret | None = None
        for jwk in keys:
            if _is_privacy_jwk(jwk):
                if privacy is not None:
                    raise MalformedInputError("a key set holds at most one privacy secret")
                privacy = _privacy_secret_from_jwk(jwk)
                continue
            key = _private_key_from_jwk(jwk)
            (signing if isinstance(key, SigningKey) else decryption).append(key)  # type: ignore[arg-type]
        if not signing or not decryption:
            raise MalformedInputError("a key set needs at least one Ed25519 and one X25519 key")
        return cls(agency, signing, decryption, privacy=privacy)

    def __repr__(self) -> str:
        privacy = "" if self._privacy is None else ", privacy_secret=present"
        return (
            f"AgencyKeySet(agency={self._agency!r}, signing={[k.kid for k in self._signing]}, "
            f"encryption={[k.kid for k in self._decryption]}{privacy})"
        )

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise UsageError("AgencyKeySet cannot be pickled or copied; use save() for a key file")

    # -- key files ---------------------------------------------------------

    def save(self, path: str | os.PathLike[str], passphrase: str | bytes) -> None:
        """Write the key set encrypted under *passphrase* (mode 0600, atomic)."""
        data = _encrypt_keyfile(
            strictjson.dumps(self.private_jwks(SECRET_KEY_ACCESS)),
            _passphrase_bytes(passphrase, new=True),
            agency=self._agency,
            iterations=_PBKDF2_ITERATIONS,
        )
        fs.atomic_write(path, data, mode=0o600)

    @classmethod
    def load(cls, path: str | os.PathLike[str], passphrase: str | bytes) -> AgencyKeySet:
        """Read a key file written by :meth:`save`.

        Raises :class:`KeyFileError` for a wrong passphrase or a damaged file.
        """
        secret = _passphrase_bytes(passphrase, new=False)
        data = fs.read_bytes(path, what="key file", max_bytes=MAX_KEY_FILE_BYTES)
        try:
            plaintext = _decrypt_keyfile(data, secret)
            return cls.from_private_jwks(
                strictjson.loads(plaintext, what="key set", max_bytes=MAX_KEY_FILE_BYTES)
            )
        except KeyFileError:
            raise
        except SafeShareError as exc:
            raise KeyFileError(f"key file {os.fspath(path)!r} is damaged: {exc.message}") from None


def _passphrase_bytes(passphrase: str | bytes, *, new: bool) -> bytes:
    raw = passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
    if not isinstance(raw, bytes) or not raw:
        raise UsageError("a key file passphrase must be a non-empty string")
    if new and len(raw) < _MIN_PASSPHRASE:
        raise UsageError(f"choose a passphrase of at least {_MIN_PASSPHRASE} characters")
    return raw


def _pbes2_kek(passphrase: bytes, p2s: bytes, iterations: int) -> bytes:
    # RFC 7518 section 4.8.1.1: salt = UTF8(alg) || 0x00 || p2s
    salt = _KEYFILE_ALG.encode("ascii") + b"\x00" + p2s
    return PBKDF2HMAC(hashes.SHA512(), 32, salt, iterations).derive(passphrase)


def _encrypt_keyfile(plaintext: bytes, passphrase: bytes, *, agency: str, iterations: int) -> bytes:
    p2s = os.urandom(16)
    header = {
        "alg": _KEYFILE_ALG,
        "enc": _KEYFILE_ENC,
        "p2s": b64u_encode(p2s),
        "p2c": iterations,
        "typ": _KEYFILE_TYP,
        "cty": "jwk-set+json",
        "safeshare_agency": agency,
    }
    protected = b64u_encode(strictjson.dumps(header))
    cek = AESGCM.generate_key(bit_length=256)
    iv = os.urandom(12)
    sealed = AESGCM(cek).encrypt(iv, plaintext, protected.encode("ascii"))
    doc = {
        "protected": protected,
        "encrypted_key": b64u_encode(aes_key_wrap(_pbes2_kek(passphrase, p2s, iterations), cek)),
        "iv": b64u_encode(iv),
        "ciphertext": b64u_encode(sealed[:-16]),
        "tag": b64u_encode(sealed[-16:]),
    }
    return strictjson.pretty(doc)


def _decrypt_keyfile(data: bytes, passphrase: bytes) -> bytes:
    doc = strictjson.loads(data, what="key file", max_bytes=MAX_KEY_FILE_BYTES)
    members = {"protected", "encrypted_key", "iv", "ciphertext", "tag"}
    if not isinstance(doc, dict) or set(doc) != members:
        raise KeyFileError(
            f"this is not a safeshare key file (expected a JWE with the members {sorted(members)})"
        )
    if not all(isinstance(doc[m], str) for m in members):
        raise KeyFileError("key file members must be base64url strings")
    header = strictjson.loads(
        b64u_decode(doc["protected"], what="key file header"),
        what="key file header",
        max_bytes=4096,
    )
    if (
        not isinstance(header, dict)
        or header.get("alg") != _KEYFILE_ALG
        or header.get("enc") != _KEYFILE_ENC
        or header.get("typ") != _KEYFILE_TYP
        or set(header) - {"alg", "enc", "p2s", "p2c", "typ", "cty", "safeshare_agency"}
    ):
        raise KeyFileError(f"key file header must use {_KEYFILE_ALG} with {_KEYFILE_ENC}")
    p2c = header.get("p2c")
    if not isinstance(p2c, int) or isinstance(p2c, bool) or not _PBKDF2_MIN <= p2c <= _PBKDF2_MAX:
        raise KeyFileError(
            f"key file iteration count must be between {_PBKDF2_MIN} and {_PBKDF2_MAX}"
        )
    p2s = b64u_decode(str(header.get("p2s", "")), what="key file salt")
    if len(p2s) < 16:
        raise KeyFileError("key file salt must be at least 16 bytes")
    iv = b64u_decode(doc["iv"], what="key file iv")
    tag = b64u_decode(doc["tag"], what="key file tag")
    if len(iv) != 12 or len(tag) != 16:
        raise KeyFileError("key file iv or tag has the wrong length")
    try:
        cek = aes_key_unwrap(
            _pbes2_kek(passphrase, p2s, p2c),
            b64u_decode(doc["encrypted_key"], what="key file encrypted_key"),
        )
    except (InvalidUnwrap, ValueError):
        raise KeyFileError(
            "could not decrypt the key file: the passphrase is wrong or the file is damaged",
            hint="check the passphrase (SAFESHARE_PASSPHRASE or --passphrase-file)",
        ) from None
    if len(cek) != 32:
        raise KeyFileError("key file content key has the wrong length")
    try:
        return AESGCM(cek).decrypt(
            iv,
            b64u_decode(doc["ciphertext"], what="key file ciphertext") + tag,
            doc["protected"].encode("ascii"),
        )
    except InvalidTag:
        raise KeyFileError(
            "the key file has been modified or damaged (authentication failed)"
        ) from None
