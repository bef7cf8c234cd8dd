"""Agency keys: thumbprints, strict JWK parsing, secret handling, key files."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import pickle
import stat
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from jwcrypto import jwa as jwcrypto_jwa
from jwcrypto import jwe as jwcrypto_jwe
from jwcrypto import jwk as jwcrypto_jwk

from safeshare import keys
from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare.errors import (
    KeyFileError,
    MalformedInputError,
    StorageError,
    UnknownKeyError,
    UsageError,
    VerificationError,
)
from safeshare.keys import (
    SECRET_KEY_ACCESS,
    AgencyKeySet,
    DecryptionKey,
    EncryptionKey,
    SecretKeyAccess,
    SigningKey,
    VerifyKey,
    jwk_thumbprint,
    public_key_from_jwk,
)
from tests.conftest import PASSPHRASE, XA

# RFC 7638 section 3.1: the RSA key of RFC 7517 appendix A.1.
RFC7638_RSA = {
    "kty": "RSA",
    "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJEC"
        "PebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qvz"
        "qY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6We"
        "Zu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    ),
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_RSA_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

# RFC 8037 appendix A.1 - A.4.
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
RFC8037_SIGNING_INPUT = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
RFC8037_SIGNATURE = (
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)

# RFC 7748 section 6.1.
RFC7748_ALICE = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
RFC7748_ALICE_PUBLIC = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
RFC7748_BOB = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
RFC7748_BOB_PUBLIC = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
RFC7748_SHARED = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"

REQUIRED_MEMBERS = {"RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}


def reference_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 section 3, written independently of safeshare."""
    required = {m: jwk[m] for m in REQUIRED_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# -- thumbprints ---------------------------------------------------------------


def test_reference_thumbprint_matches_rfc7638_example() -> None:
    assert reference_thumbprint(RFC7638_RSA) == RFC7638_RSA_THUMBPRINT


def test_rfc8037_thumbprint_example() -> None:
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}
    assert jwk_thumbprint(jwk) == RFC8037_THUMBPRINT
    assert reference_thumbprint(jwk) == RFC8037_THUMBPRINT
    assert public_key_from_jwk(jwk).kid == RFC8037_THUMBPRINT


def test_rfc8037_private_key_gives_the_public_key_and_signature() -> None:
    key = SigningKey.from_private_bytes(b64u_decode(RFC8037_D))
    assert b64u_encode(key.public.raw) == RFC8037_X
    assert key.kid == RFC8037_THUMBPRINT
    assert b64u_encode(key.sign(RFC8037_SIGNING_INPUT)) == RFC8037_SIGNATURE
    key.public.verify(b64u_decode(RFC8037_SIGNATURE), RFC8037_SIGNING_INPUT)


@pytest.mark.parametrize("kind", [SigningKey, DecryptionKey])
def test_thumbprint_matches_independent_computations(
    kind: type[SigningKey] | type[DecryptionKey],
) -> None:
    for _ in range(20):
        public = kind.generate().public
        jwk = public.to_jwk()
        assert jwk_thumbprint(jwk) == reference_thumbprint(jwk)
        assert jwk_thumbprint(jwk) == jwcrypto_jwk.JWK(**jwk).thumbprint()


@pytest.mark.parametrize("kind", [SigningKey, DecryptionKey])
def test_kid_is_the_thumbprint_of_generated_keys(
    kind: type[SigningKey] | type[DecryptionKey],
) -> None:
    key = kind.generate()
    jwk = key.public.to_jwk()
    assert key.kid == key.public.kid == jwk["kid"] == reference_thumbprint(jwk)


@pytest.mark.parametrize(
    "jwk",
    [{"crv": "Ed25519", "kty": "OKP"}, {}, {"kty": "OKP", "crv": "Ed25519", "x": 5}, ["x"]],
)
def test_thumbprint_needs_string_members(jwk: Any) -> None:
    with pytest.raises(MalformedInputError):
        jwk_thumbprint(jwk)


# -- strict public JWK parsing -------------------------------------------------


def test_public_key_from_jwk_round_trips() -> None:
    for key in (SigningKey.generate().public, DecryptionKey.generate().public):
        jwk = key.to_jwk()
        parsed = public_key_from_jwk(jwk)
        assert parsed == key
        assert type(parsed) is type(key)
        minimal = {m: jwk[m] for m in ("kty", "crv", "x")}
        assert public_key_from_jwk(minimal) == key
        assert public_key_from_jwk({**minimal, "key_ops": ["verify"]}) == key


def _sig_jwk() -> dict[str, Any]:
    return dict(SigningKey.from_private_bytes(bytes(32)).public.to_jwk())


def _enc_jwk() -> dict[str, Any]:
    return dict(DecryptionKey.from_private_bytes(bytes(range(32))).public.to_jwk())


BAD_JWKS: list[tuple[str, Callable[[], dict[str, Any]], str]] = [
    ("private d", lambda: {**_sig_jwk(), "d": RFC8037_D}, "private key"),
    ("private d on enc", lambda: {**_enc_jwk(), "d": RFC8037_D}, "private key"),
    ("RSA private members", lambda: {**_sig_jwk(), "p": "AQAB"}, "not allowed"),
    ("unknown member", lambda: {**_sig_jwk(), "x5c": ["MIIB"]}, "not allowed"),
    ("kty RSA", lambda: {**_sig_jwk(), "kty": "RSA"}, "OKP"),
    ("kty EC", lambda: {**_sig_jwk(), "kty": "EC"}, "OKP"),
    ("kty oct", lambda: {**_sig_jwk(), "kty": "oct"}, "OKP"),
    ("kty okp", lambda: {**_sig_jwk(), "kty": "okp"}, "OKP"),
    ("no kty", lambda: {k: v for k, v in _sig_jwk().items() if k != "kty"}, "OKP"),
    ("crv Ed448", lambda: {**_sig_jwk(), "crv": "Ed448"}, "curve"),
    ("crv X448", lambda: {**_enc_jwk(), "crv": "X448"}, "curve"),
    ("crv P-256", lambda: {**_sig_jwk(), "crv": "P-256"}, "curve"),
    ("crv ed25519", lambda: {**_sig_jwk(), "crv": "ed25519"}, "curve"),
    ("no crv", lambda: {k: v for k, v in _sig_jwk().items() if k != "crv"}, "curve"),
    ("Ed25519 with use enc", lambda: {**_sig_jwk(), "use": "enc"}, "use"),
    ("X25519 with use sig", lambda: {**_enc_jwk(), "use": "sig"}, "use"),
    ("Ed25519 with alg EdDSA", lambda: {**_sig_jwk(), "alg": "EdDSA"}, "alg"),
    ("Ed25519 with alg ECDH-ES+A256KW", lambda: {**_sig_jwk(), "alg": "ECDH-ES+A256KW"}, "alg"),
    ("X25519 with alg Ed25519", lambda: {**_enc_jwk(), "alg": "Ed25519"}, "alg"),
    ("X25519 with alg ECDH-ES", lambda: {**_enc_jwk(), "alg": "ECDH-ES"}, "alg"),
    ("X25519 with alg HS256", lambda: {**_enc_jwk(), "alg": "HS256"}, "alg"),
    ("kid of another key", lambda: {**_sig_jwk(), "kid": _enc_jwk()["kid"]}, "thumbprint"),
    ("kid free text", lambda: {**_sig_jwk(), "kid": "2011-04-29"}, "thumbprint"),
    ("kid not a string", lambda: {**_sig_jwk(), "kid": 7}, "thumbprint"),
    ("x padded", lambda: {**_sig_jwk(), "x": _sig_jwk()["x"] + "="}, "base64url"),
    ("x standard alphabet", lambda: {**_sig_jwk(), "x": "+" + _sig_jwk()["x"][1:]}, "base64url"),
    ("x with whitespace", lambda: {**_sig_jwk(), "x": " " + _sig_jwk()["x"]}, "base64url"),
    ("x not a string", lambda: {**_sig_jwk(), "x": 1}, "base64url"),
    ("x missing", lambda: {k: v for k, v in _sig_jwk().items() if k != "x"}, "base64url"),
    ("x 31 bytes", lambda: {**_sig_jwk(), "x": b64u_encode(bytes(31))}, "32 bytes"),
    ("x 33 bytes", lambda: {**_sig_jwk(), "x": b64u_encode(bytes(33))}, "32 bytes"),
    ("x 64 bytes", lambda: {**_enc_jwk(), "x": b64u_encode(bytes(64))}, "32 bytes"),
    ("x empty", lambda: {**_enc_jwk(), "x": ""}, "32 bytes"),
]


@pytest.mark.parametrize(
    ("build", "message"), [(b, m) for _, b, m in BAD_JWKS], ids=[n for n, _, _ in BAD_JWKS]
)
def test_public_key_from_jwk_rejects(build: Callable[[], dict[str, Any]], message: str) -> None:
    jwk = build()
    with pytest.raises(MalformedInputError, match=message):
        public_key_from_jwk(jwk)


@pytest.mark.parametrize("value", [None, "jwk", ["kty", "OKP"], 5])
def test_public_key_from_jwk_rejects_non_objects(value: Any) -> None:
    with pytest.raises(MalformedInputError):
        public_key_from_jwk(value)


@pytest.mark.parametrize("kind", [VerifyKey, EncryptionKey])
@pytest.mark.parametrize("length", [0, 31, 33])
def test_public_key_constructors_check_length(
    kind: type[VerifyKey] | type[EncryptionKey], length: int
) -> None:
    with pytest.raises(MalformedInputError, match="32 bytes"):
        kind(bytes(length))


@pytest.mark.parametrize("kind", [SigningKey, DecryptionKey])
@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_private_key_import_checks_length(
    kind: type[SigningKey] | type[DecryptionKey], length: int
) -> None:
    with pytest.raises(MalformedInputError):
        kind.from_private_bytes(bytes(length))


# -- the keys themselves -------------------------------------------------------


def test_sign_and_verify() -> None:
    key = SigningKey.generate()
    signature = key.sign(b"message")
    key.public.verify(signature, b"message")
    with pytest.raises(VerificationError, match=key.kid):
        key.public.verify(signature, b"messagE")
    with pytest.raises(VerificationError):
        SigningKey.generate().public.verify(signature, b"message")
    with pytest.raises(VerificationError):
        key.public.verify(signature[:-1], b"message")


def test_rfc7748_x25519_exchange() -> None:
    alice = DecryptionKey.from_private_bytes(bytes.fromhex(RFC7748_ALICE))
    bob = DecryptionKey.from_private_bytes(bytes.fromhex(RFC7748_BOB))
    assert alice.public.raw.hex() == RFC7748_ALICE_PUBLIC
    assert bob.public.raw.hex() == RFC7748_BOB_PUBLIC
    assert alice.exchange(bob.public).hex() == RFC7748_SHARED
    assert bob.exchange(alice.public).hex() == RFC7748_SHARED


@pytest.mark.parametrize(
    "point",
    [
        bytes(32),  # 0
        (1).to_bytes(32, "little"),  # 1
        bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
        bytes.fromhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
        bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),  # p - 1
    ],
)
def test_low_order_peer_point_is_refused(point: bytes) -> None:
    with pytest.raises(VerificationError, match="low-order"):
        DecryptionKey.generate().exchange(EncryptionKey(point))


def test_public_key_equality_and_hash() -> None:
    key = SigningKey.generate()
    same = VerifyKey(key.public.raw)
    assert same == key.public
    assert hash(same) == hash(key.public)
    assert key.public != SigningKey.generate().public
    # Same 32 bytes, different key kind: not equal.
    assert EncryptionKey(key.public.raw) != key.public
    assert EncryptionKey(key.public.raw).kid != key.public.kid


# -- secrets stay inside -------------------------------------------------------


def _private_keys() -> list[SigningKey | DecryptionKey]:
    return [SigningKey.generate(), DecryptionKey.generate()]


@pytest.mark.parametrize(
    "operation",
    [pickle.dumps, copy.copy, copy.deepcopy, lambda o: pickle.dumps(o, protocol=0)],
    ids=["pickle", "copy", "deepcopy", "pickle-0"],
)
def test_private_keys_and_key_sets_refuse_pickle_and_copy(
    operation: Callable[[object], object],
) -> None:
    objects: list[object] = [*_private_keys(), AgencyKeySet.generate(XA), SECRET_KEY_ACCESS]
    for obj in objects:
        with pytest.raises(UsageError):
            operation(obj)


def test_private_keys_inside_containers_refuse_pickle() -> None:
    with pytest.raises(UsageError):
        pickle.dumps({"keys": [SigningKey.generate()]})


def _secret_spellings(secret: bytes) -> list[str]:
    return [
        b64u_encode(secret),
        base64.b64encode(secret).decode(),
        secret.hex(),
        secret.hex().upper(),
        repr(secret),
    ]


def test_repr_and_str_never_show_private_bytes() -> None:
    keyset = AgencyKeySet.generate(XA).with_new_signing_key()
    private: list[SigningKey | DecryptionKey] = [*keyset.signing_keys, *keyset.decryption_keys]
    for key in private:
        secret = key.private_bytes(SECRET_KEY_ACCESS)
        shown = [repr(key), str(key), f"{key!r}", repr(keyset), str(keyset), repr([key])]
        for text in shown:
            for spelling in _secret_spellings(secret):
                assert spelling not in text
        assert key.kid in repr(key)
        assert key.kid in repr(keyset)


@pytest.mark.parametrize("access", [None, object(), "SECRET_KEY_ACCESS", True, SecretKeyAccess])
def test_private_export_requires_the_access_token(access: Any) -> None:
    keyset = AgencyKeySet.generate(XA)
    for key in (keyset.signing_key, keyset.decryption_key):
        with pytest.raises(UsageError, match="SECRET_KEY_ACCESS"):
            key.private_bytes(access)
        with pytest.raises(UsageError, match="SECRET_KEY_ACCESS"):
            key.to_private_jwk(access)
    with pytest.raises(UsageError, match="SECRET_KEY_ACCESS"):
        keyset.private_jwks(access)


def test_private_export_with_the_token() -> None:
    seed = bytes(range(32))
    key = SigningKey.from_private_bytes(seed)
    assert key.private_bytes(SECRET_KEY_ACCESS) == seed
    jwk = key.to_private_jwk(SECRET_KEY_ACCESS)
    assert jwk["d"] == b64u_encode(seed)
    assert public_key_from_jwk({k: v for k, v in jwk.items() if k != "d"}) == key.public


def test_a_second_access_token_cannot_be_created() -> None:
    with pytest.raises(UsageError, match="SECRET_KEY_ACCESS"):
        SecretKeyAccess()
    with pytest.raises(UsageError):
        type(SECRET_KEY_ACCESS)()
    assert repr(SECRET_KEY_ACCESS) == "SECRET_KEY_ACCESS"


def test_public_jwks_contain_no_private_members() -> None:
    keyset = AgencyKeySet.generate(XA)
    jwks = keyset.public_jwks()
    assert [k["use"] for k in jwks["keys"]] == ["sig", "enc"]
    for jwk in jwks["keys"]:
        assert "d" not in jwk
        public_key_from_jwk(jwk)


# -- key sets ------------------------------------------------------------------


def test_key_set_construction_rules() -> None:
    sk, dk = SigningKey.generate(), DecryptionKey.generate()
    with pytest.raises(UsageError):
        AgencyKeySet("", [sk], [dk])
    with pytest.raises(UsageError):
        AgencyKeySet(XA, [], [dk])
    with pytest.raises(UsageError):
        AgencyKeySet(XA, [sk], [])


def test_rotation_keeps_old_keys_and_makes_the_new_one_current() -> None:
    original = AgencyKeySet.generate(XA)
    rotated = original.with_new_signing_key()
    assert rotated.signing_keys[:-1] == original.signing_keys
    assert rotated.signing_key is rotated.signing_keys[-1]
    assert rotated.signing_key.kid not in {k.kid for k in original.signing_keys}
    assert rotated.decryption_keys == original.decryption_keys
    assert len(original.signing_keys) == 1  # the original is unchanged
    twice = rotated.with_new_signing_key()
    assert twice.signing_keys[:2] == rotated.signing_keys
    assert len({k.kid for k in twice.signing_keys}) == 3


def test_encryption_key_rotation_keeps_old_keys() -> None:
    original = AgencyKeySet.generate(XA)
    rotated = original.with_new_encryption_key()
    assert rotated.decryption_keys[:-1] == original.decryption_keys
    assert rotated.decryption_key.kid != original.decryption_key.kid
    assert rotated.signing_keys == original.signing_keys
    old = original.decryption_key
    assert rotated.decryption_key_for(old.kid) is old
    assert rotated.decryption_key_for(rotated.decryption_key.kid) is rotated.decryption_key


def test_decryption_key_for_unknown_kid() -> None:
    keyset = AgencyKeySet.generate(XA)
    with pytest.raises(UnknownKeyError, match=XA):
        keyset.decryption_key_for(keyset.signing_key.kid)
    with pytest.raises(UnknownKeyError):
        keyset.decryption_key_for("../../etc/passwd")


def test_private_jwks_round_trip() -> None:
    keyset = AgencyKeySet.generate(XA).with_new_signing_key().with_new_encryption_key()
    jwks = keyset.private_jwks(SECRET_KEY_ACCESS)
    again = AgencyKeySet.from_private_jwks(jwks)
    assert again.private_jwks(SECRET_KEY_ACCESS) == jwks
    assert again.signing_key.kid == keyset.signing_key.kid
    assert again.decryption_key.kid == keyset.decryption_key.kid


def _jwks() -> dict[str, Any]:
    return AgencyKeySet.generate(XA).private_jwks(SECRET_KEY_ACCESS)


def _mismatched_d() -> dict[str, Any]:
    jwks = _jwks()
    jwks["keys"][0]["d"] = b64u_encode(bytes(32))
    return jwks


BAD_PRIVATE_JWKS: list[tuple[str, Callable[[], Any]]] = [
    ("not an object", lambda: ["keys"]),
    ("extra member", lambda: {**_jwks(), "extra": 1}),
    ("no agency", lambda: {"keys": _jwks()["keys"]}),
    ("agency not a string", lambda: {**_jwks(), "safeshare_agency": 5}),
    ("keys not a list", lambda: {**_jwks(), "keys": {}}),
    ("no signing key", lambda: {**_jwks(), "keys": _jwks()["keys"][1:]}),
    ("no encryption key", lambda: {**_jwks(), "keys": _jwks()["keys"][:1]}),
    ("missing d", lambda: {**_jwks(), "keys": [_jwks()["keys"][0] | {"d": None}]}),
    ("d does not match x", _mismatched_d),
    ("key is not an object", lambda: {**_jwks(), "keys": ["jwk"]}),
]


@pytest.mark.parametrize(
    "build", [b for _, b in BAD_PRIVATE_JWKS], ids=[n for n, _ in BAD_PRIVATE_JWKS]
)
def test_from_private_jwks_rejects(build: Callable[[], Any]) -> None:
    with pytest.raises(MalformedInputError):
        AgencyKeySet.from_private_jwks(build())


# -- key files -----------------------------------------------------------------


def _file_doc(path: Path) -> dict[str, str]:
    doc: dict[str, str] = json.loads(path.read_bytes())
    return doc


def _header(doc: Mapping[str, str]) -> dict[str, Any]:
    header: dict[str, Any] = json.loads(b64u_decode(doc["protected"]))
    return header


def _write(path: Path, doc: Mapping[str, Any]) -> Path:
    path.write_text(json.dumps(doc))
    return path


def _with_header(doc: Mapping[str, str], **changes: Any) -> dict[str, str]:
    header = {**_header(doc), **changes}
    return {**doc, "protected": b64u_encode(json.dumps(header).encode())}


def test_key_file_round_trip(saved_keyfile: Path, xa_keys: AgencyKeySet) -> None:
    loaded = AgencyKeySet.load(saved_keyfile, PASSPHRASE)
    assert loaded.agency == XA
    assert loaded.private_jwks(SECRET_KEY_ACCESS) == xa_keys.private_jwks(SECRET_KEY_ACCESS)
    # The loaded key signs like the saved one (Ed25519 is deterministic).
    assert loaded.signing_key.sign(b"m") == xa_keys.signing_key.sign(b"m")


def test_key_file_is_mode_0600(saved_keyfile: Path) -> None:
    assert stat.S_IMODE(saved_keyfile.stat().st_mode) == 0o600


def test_key_file_does_not_contain_the_secrets(saved_keyfile: Path, xa_keys: AgencyKeySet) -> None:
    text = saved_keyfile.read_text()
    private: list[SigningKey | DecryptionKey] = [*xa_keys.signing_keys, *xa_keys.decryption_keys]
    for key in private:
        for spelling in _secret_spellings(key.private_bytes(SECRET_KEY_ACCESS)):
            assert spelling not in text


def test_key_file_header(saved_keyfile: Path) -> None:
    doc = _file_doc(saved_keyfile)
    assert set(doc) == {"protected", "encrypted_key", "iv", "ciphertext", "tag"}
    header = _header(doc)
    assert header["alg"] == "PBES2-HS512+A256KW"
    assert header["enc"] == "A256GCM"
    assert header["p2c"] >= 210_000
    assert len(b64u_decode(header["p2s"])) >= 16
    assert header["safeshare_agency"] == XA


def test_key_file_interop_with_jwcrypto(
    saved_keyfile: Path, xa_keys: AgencyKeySet, monkeypatch: pytest.MonkeyPatch
) -> None:
    # jwcrypto caps PBES2 iterations at 16384 by default; the file uses 210,000.
    monkeypatch.setattr(jwcrypto_jwa, "default_max_pbkdf2_iterations", 1_000_000)
    token = jwcrypto_jwe.JWE(algs=["PBES2-HS512+A256KW", "A256GCM"])
    token.deserialize(saved_keyfile.read_text(), key=jwcrypto_jwk.JWK.from_password(PASSPHRASE))
    assert json.loads(token.payload) == xa_keys.private_jwks(SECRET_KEY_ACCESS)


def test_save_then_load_after_rotation(tmp_path: Path) -> None:
    keyset = AgencyKeySet.generate(XA).with_new_signing_key().with_new_encryption_key()
    keyset.save(tmp_path / "k.jwe", "another passphrase")
    loaded = AgencyKeySet.load(tmp_path / "k.jwe", "another passphrase")
    assert [k.kid for k in loaded.signing_keys] == [k.kid for k in keyset.signing_keys]
    assert [k.kid for k in loaded.decryption_keys] == [k.kid for k in keyset.decryption_keys]
    assert loaded.signing_key.kid == keyset.signing_key.kid
    assert loaded.decryption_key.kid == keyset.decryption_key.kid


def test_save_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "k.jwe"
    first, second = AgencyKeySet.generate(XA), AgencyKeySet.generate(XA)
    first.save(path, PASSPHRASE)
    second.save(path, PASSPHRASE)
    assert AgencyKeySet.load(path, PASSPHRASE).signing_key.kid == second.signing_key.kid
    assert [p.name for p in tmp_path.iterdir()] == ["k.jwe"]


def test_unicode_passphrase_is_utf8(tmp_path: Path) -> None:
    keyset = AgencyKeySet.generate(XA)
    passphrase = "pässwörd-ünïcødé"
    keyset.save(tmp_path / "k.jwe", passphrase)
    loaded = AgencyKeySet.load(tmp_path / "k.jwe", passphrase.encode("utf-8"))
    assert loaded.signing_key.kid == keyset.signing_key.kid


def test_wrong_passphrase(saved_keyfile: Path) -> None:
    for wrong in (PASSPHRASE + "!", PASSPHRASE.upper(), "x", PASSPHRASE[:-1]):
        with pytest.raises(KeyFileError, match="passphrase is wrong") as info:
            AgencyKeySet.load(saved_keyfile, wrong)
        assert info.value.hint is not None


@pytest.mark.parametrize("passphrase", ["", b"", None])
def test_empty_passphrase_on_load_is_a_usage_error(saved_keyfile: Path, passphrase: Any) -> None:
    # A caller's mistake, not a damaged file: the same error as on save.
    with pytest.raises(UsageError, match="passphrase") as info:
        AgencyKeySet.load(saved_keyfile, passphrase)
    assert "damaged" not in info.value.message


@pytest.mark.parametrize("passphrase", ["", "short", "1234567", b"7 bytes"])
def test_too_short_passphrase_on_save(tmp_path: Path, passphrase: str | bytes) -> None:
    with pytest.raises(UsageError, match="passphrase"):
        AgencyKeySet.generate(XA).save(tmp_path / "k.jwe", passphrase)
    assert not (tmp_path / "k.jwe").exists()


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        AgencyKeySet.load(tmp_path / "absent.jwe", PASSPHRASE)


@pytest.mark.parametrize("member", ["protected", "encrypted_key", "iv", "ciphertext", "tag"])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_flipped_byte_in_any_member(
    saved_keyfile: Path, tmp_path: Path, member: str, where: str
) -> None:
    doc = _file_doc(saved_keyfile)
    raw = bytearray(b64u_decode(doc[member]))
    position = {"first": 0, "middle": len(raw) // 2, "last": len(raw) - 1}[where]
    raw[position] ^= 0x01
    path = _write(tmp_path / "k.jwe", {**doc, member: b64u_encode(bytes(raw))})
    with pytest.raises(KeyFileError):
        AgencyKeySet.load(path, PASSPHRASE)


def test_changed_header_value_fails_authentication(saved_keyfile: Path, tmp_path: Path) -> None:
    # The header stays well-formed but is not the one the content was sealed with.
    doc = _with_header(_file_doc(saved_keyfile), safeshare_agency="XB-PROS")
    with pytest.raises(KeyFileError, match="modified"):
        AgencyKeySet.load(_write(tmp_path / "k.jwe", doc), PASSPHRASE)


def test_members_swapped_between_key_files(saved_keyfile: Path, tmp_path: Path) -> None:
    other_path = tmp_path / "other.jwe"
    AgencyKeySet.generate(XA).save(other_path, PASSPHRASE)
    doc, other = _file_doc(saved_keyfile), _file_doc(other_path)
    for member in ("ciphertext", "tag", "encrypted_key"):
        path = _write(tmp_path / f"swap-{member}.jwe", {**doc, member: other[member]})
        with pytest.raises(KeyFileError):
            AgencyKeySet.load(path, PASSPHRASE)


@pytest.mark.parametrize("keep", [0, 1, 10, 100, 0.5, 0.9])
def test_truncated_file(saved_keyfile: Path, tmp_path: Path, keep: float) -> None:
    data = saved_keyfile.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    path = tmp_path / "k.jwe"
    path.write_bytes(data[:cut])
    with pytest.raises(KeyFileError):
        AgencyKeySet.load(path, PASSPHRASE)


@pytest.mark.parametrize(
    "content",
    [
        b"this is not json",
        b"\x00\x01\x02",
        b"[]",
        b"null",
        b'"string"',
        b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
        b'{"keys":[]}',
    ],
)
def test_non_key_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "k.jwe"
    path.write_bytes(content)
    with pytest.raises(KeyFileError):
        AgencyKeySet.load(path, PASSPHRASE)


def test_key_file_with_duplicate_members(saved_keyfile: Path, tmp_path: Path) -> None:
    text = saved_keyfile.read_text().rstrip().removesuffix("}")
    path = tmp_path / "k.jwe"
    path.write_text(text + ',"tag":"AAAAAAAAAAAAAAAAAAAAAA"}')
    with pytest.raises(KeyFileError):
        AgencyKeySet.load(path, PASSPHRASE)


@pytest.mark.parametrize(
    "change",
    [
        {"extra": "x"},
        {"header": {"alg": "dir"}},
        {"tag": 5},
        {"iv": None},
    ],
)
def test_structural_changes(saved_keyfile: Path, tmp_path: Path, change: dict[str, Any]) -> None:
    path = _write(tmp_path / "k.jwe", {**_file_doc(saved_keyfile), **change})
    with pytest.raises(KeyFileError):
        AgencyKeySet.load(path, PASSPHRASE)


def test_missing_member(saved_keyfile: Path, tmp_path: Path) -> None:
    for member in ("protected", "encrypted_key", "iv", "ciphertext", "tag"):
        doc = {k: v for k, v in _file_doc(saved_keyfile).items() if k != member}
        with pytest.raises(KeyFileError):
            AgencyKeySet.load(_write(tmp_path / "k.jwe", doc), PASSPHRASE)


class KdfSpy:
    """Replaces the PBKDF2 step and records the iteration counts asked for."""

    def __init__(self, real: Callable[[bytes, bytes, int], bytes]) -> None:
        self.real = real
        self.iterations: list[int] = []

    def __call__(self, passphrase: bytes, p2s: bytes, iterations: int) -> bytes:
        self.iterations.append(iterations)
        if iterations > 5_000_000:
            raise AssertionError(f"PBKDF2 run with {iterations} iterations")
        return self.real(passphrase, p2s, iterations)


@pytest.mark.parametrize(
    "p2c", [10**9, 2**31, 5_000_001, 99_999, 1000, 1, 0, -210_000, True, 210_000.0, "210000", None]
)
def test_iteration_count_out_of_range_fails_fast(
    saved_keyfile: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, p2c: object
) -> None:
    spy = KdfSpy(keys._pbes2_kek)
    monkeypatch.setattr(keys, "_pbes2_kek", spy)
    path = _write(tmp_path / "k.jwe", _with_header(_file_doc(saved_keyfile), p2c=p2c))
    started = time.monotonic()
    with pytest.raises(KeyFileError, match="iteration count"):
        AgencyKeySet.load(path, PASSPHRASE)
    assert time.monotonic() - started < 2.0
    assert spy.iterations == []


def test_missing_iteration_count(saved_keyfile: Path, tmp_path: Path) -> None:
    header = _header(_file_doc(saved_keyfile))
    del header["p2c"]
    doc = {**_file_doc(saved_keyfile), "protected": b64u_encode(json.dumps(header).encode())}
    with pytest.raises(KeyFileError, match="iteration count"):
        AgencyKeySet.load(_write(tmp_path / "k.jwe", doc), PASSPHRASE)


@pytest.mark.parametrize(
    "changes",
    [
        {"alg": "PBES2-HS256+A128KW"},
        {"alg": "dir"},
        {"alg": "none"},
        {"enc": "A128GCM"},
        {"enc": "A256CBC-HS512"},
        {"typ": "JWE"},
        {"zip": "DEF"},
        {"crit": ["p2c"]},
        {"jwk": {"kty": "oct", "k": "AAAA"}},
        {"p2s": b64u_encode(bytes(8))},
        {"p2s": "not base64url!"},
        {"p2s": ""},
    ],
)
def test_header_changes_are_refused(
    saved_keyfile: Path, tmp_path: Path, changes: dict[str, Any]
) -> None:
    doc = _with_header(_file_doc(saved_keyfile), **changes)
    with pytest.raises(KeyFileError):
        AgencyKeySet.load(_write(tmp_path / "k.jwe", doc), PASSPHRASE)


@pytest.mark.parametrize(("member", "length"), [("iv", 11), ("iv", 16), ("tag", 15), ("tag", 0)])
def test_wrong_iv_or_tag_length(
    saved_keyfile: Path, tmp_path: Path, member: str, length: int
) -> None:
    doc = {**_file_doc(saved_keyfile), member: b64u_encode(os.urandom(length))}
    with pytest.raises(KeyFileError, match="length"):
        AgencyKeySet.load(_write(tmp_path / "k.jwe", doc), PASSPHRASE)


def test_authentic_file_with_invalid_key_set_is_a_key_file_error(tmp_path: Path) -> None:
    # Encrypted correctly, but the plaintext is a key set whose 'd' does not match 'x'.
    plaintext = json.dumps(_mismatched_d()).encode()
    data = keys._encrypt_keyfile(
        plaintext, PASSPHRASE.encode(), agency=XA, iterations=keys._PBKDF2_MIN
    )
    path = tmp_path / "k.jwe"
    path.write_bytes(data)
    with pytest.raises(KeyFileError, match="damaged"):
        AgencyKeySet.load(path, PASSPHRASE)


def test_authentic_file_with_duplicate_members_in_plaintext(tmp_path: Path) -> None:
    jwks = _jwks()
    text = json.dumps(jwks)
    plaintext = (text[:-1] + ', "safeshare_agency": "XB-PROS"}').encode()
    data = keys._encrypt_keyfile(
        plaintext, PASSPHRASE.encode(), agency=XA, iterations=keys._PBKDF2_MIN
    )
    path = tmp_path / "k.jwe"
    path.write_bytes(data)
    with pytest.raises(KeyFileError, match="more than once"):
        AgencyKeySet.load(path, PASSPHRASE)
