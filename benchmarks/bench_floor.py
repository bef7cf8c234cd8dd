"""The floor: the cryptographic calls safeshare makes, straight through ``cryptography``.

No JSON, no base64, no checks beyond what the primitives do, no replay cache.
The sizes of what is signed, encrypted and hashed are taken from a real
safeshare envelope of the same recipient count, so the primitives process the
same number of bytes as in safeshare.

Wire layout (private to this module): per recipient ``epk (32) || wrapped CEK
(40)``, then ``iv (12) || ciphertext || tag (16)``; the plaintext is
``signature (64) || signed message || filler`` padded to the SD-JWT's length.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap

from benchmarks._common import OTHER_INFO, EnvelopeShape, Workload, tmpfs_dir
from benchmarks.bench_safeshare import SafeshareImpl

_ENTRY = 32 + 40
_SIG = 64
_IV = 12
_DECOYS = 2


class FloorImpl:
    """Raw primitives; with *digests*, also the SD-JWT's SHA-256 digests.

    seal: Ed25519 sign; per recipient X25519 key generation + exchange +
    Concat KDF (SHA-256) + AES key wrap; one AES-256-GCM encryption.
    open: X25519 exchange + Concat KDF + AES key unwrap + AES-GCM decryption
    + Ed25519 verification.
    With *digests*, seal adds one SHA-256 per disclosure and per decoy (of 16
    random bytes) and open one per disclosure plus one over the issuer-signed
    JWT (the replay digest).
    """

    def __init__(self, workload: Workload, *, name: str, description: str, digests: bool) -> None:
        self.name = name
        self.description = description
        self._workload = workload
        self._digests = digests
        self._signing = ed25519.Ed25519PrivateKey.generate()
        self._verify = self._signing.public_key()
        self._privates = [x25519.X25519PrivateKey.generate() for _ in workload.recipients(10)]
        self._publics: list[x25519.X25519PublicKey] = []
        self._opener = self._privates[0]
        self._opener_offset = 0
        self._shape: EnvelopeShape | None = None
        self._message = b""
        self._filler = b""
        self._aad = b""
        self._disclosures: list[bytes] = []
        self._slices: list[tuple[int, int]] = []
        self._jwt_end = 0

    def info(self) -> dict[str, Any]:
        return {"shape": None if self._shape is None else self._shape_dict()}

    def _shape_dict(self) -> dict[str, Any]:
        assert self._shape is not None
        s = self._shape
        return {
            "aad_bytes": s.aad_bytes,
            "plaintext_bytes": s.plaintext_bytes,
            "signing_input_bytes": s.signing_input_bytes,
            "issuer_jwt_bytes": s.issuer_jwt_bytes,
            "disclosure_bytes": list(s.disclosure_bytes),
        }

    def setup(self, n_recipients: int) -> None:
        probe = SafeshareImpl(
            self._workload, name="probe", description="", replay_dir=tmpfs_dir() or "."
        )
        try:
            probe.setup(n_recipients)
            shape = self._workload.shape(probe.seal(), n_recipients)
        finally:
            probe.close()
        self._shape = shape
        self._publics = [k.public_key() for k in self._privates[:n_recipients]]
        # The last recipient opens, as in the other implementations.
        self._opener = self._privates[n_recipients - 1]
        self._opener_offset = (n_recipients - 1) * _ENTRY
        self._message = os.urandom(shape.signing_input_bytes)
        filler = shape.plaintext_bytes - _SIG - shape.signing_input_bytes
        self._filler = os.urandom(max(filler, 0))
        self._aad = os.urandom(shape.aad_bytes)
        self._disclosures = [os.urandom(n) for n in shape.disclosure_bytes]
        # Where the disclosures sit in an SD-JWT of this shape (after the issuer JWT and '~').
        start = shape.issuer_jwt_bytes + 1
        self._slices = []
        for length in shape.disclosure_bytes:
            self._slices.append((start, start + length))
            start += length + 1
        self._jwt_end = shape.issuer_jwt_bytes

    def seal(self) -> bytes:
        signature = self._signing.sign(self._message)
        if self._digests:
            for disclosure in self._disclosures:
                hashlib.sha256(disclosure).digest()
            for _ in range(_DECOYS):
                hashlib.sha256(os.urandom(16)).digest()
        cek = os.urandom(32)
        iv = os.urandom(_IV)
        parts = []
        for public in self._publics:
            ephemeral = x25519.X25519PrivateKey.generate()
            kek = ConcatKDFHash(hashes.SHA256(), 32, OTHER_INFO).derive(ephemeral.exchange(public))
            parts.append(ephemeral.public_key().public_bytes_raw())
            parts.append(aes_key_wrap(kek, cek))
        plaintext = signature + self._message + self._filler
        parts.append(iv)
        parts.append(AESGCM(cek).encrypt(iv, plaintext, self._aad))
        return b"".join(parts)

    def open(self, envelope: bytes) -> bytes:
        off = self._opener_offset
        epk = x25519.X25519PublicKey.from_public_bytes(envelope[off : off + 32])
        kek = ConcatKDFHash(hashes.SHA256(), 32, OTHER_INFO).derive(self._opener.exchange(epk))
        cek = aes_key_unwrap(kek, envelope[off + 32 : off + _ENTRY])
        body = len(self._publics) * _ENTRY
        iv = envelope[body : body + _IV]
        plaintext = AESGCM(cek).decrypt(iv, envelope[body + _IV :], self._aad)
        signed_end = _SIG + len(self._message)
        self._verify.verify(plaintext[:_SIG], plaintext[_SIG:signed_end])
        if self._digests:
            view = memoryview(plaintext)
            for start, end in self._slices:
                hashlib.sha256(view[start:end]).digest()
            hashlib.sha256(view[: self._jwt_end]).digest()
        return plaintext

    def close(self) -> None:
        pass
