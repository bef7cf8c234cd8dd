"""The shared interface every benchmarked implementation follows, and the workload.

Every implementation seals the same record from the same sender to the same
recipients and opens as the same recipient; only the code path differs. The
workload is built once per run (one trust registry of 11 agencies) and handed
to every implementation, so key material, record and claims are identical.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap

from safeshare import _testnet
from safeshare._internal.b64 import b64u_decode
from safeshare.keys import SECRET_KEY_ACCESS, AgencyKeySet
from safeshare.purpose.conditions import HandlingConditions, Retention

#: The three measured operations, in table order.
OPERATIONS: Final = ("seal", "open", "seal+open")

#: The sender and the ten possible recipients (ISO 3166-1 user-assigned codes).
SENDER: Final = "XA-NPOL"
RECIPIENTS: Final = (
    "XB-PROS",
    "XC-CUST",
    "XD-FIU",
    "XE-NPOL",
    "XF-NPOL",
    "XG-NPOL",
    "XH-NPOL",
    "XI-NPOL",
    "XJ-NPOL",
    "XK-NPOL",
)

#: A subscriber-information record (Budapest Convention 2AP Art. 7 style), about
#: 1 KB as compact JSON, 8 members: every member is selectively disclosable.
#: Addresses and numbers are from documentation ranges (RFC 5737, RFC 3849).
RECORD: Final[dict[str, Any]] = {
    "subscriber_name": "Jordan Alexis Whitfield-Example",
    "account_id": "ACC-2019-0314-7F3C9A1E-5B2D-4E8F-9A61-0C4D2B7E8F13",
    "email_addresses": [
        "j.whitfield.1987@mail.example",
        "jaw.backup@post.example",
        "whitfield.j@work.example",
    ],
    "phone_numbers": ["+99 555 0142 771", "+99 555 0199 302"],
    "postal_address": {
        "street": "Rue des Exemples 42, Apt 7B",
        "locality": "Szohod",
        "postal_code": "BD-10427",
        "country": "XB",
    },
    "account_created": "2019-03-14T09:26:53Z",
    "payment_method": {
        "type": "card",
        "holder": "J A WHITFIELD",
        "last4": "4417",
        "issuer": "Example Bank of Borduria",
        "billing_postal_code": "BD-10427",
    },
    "ip_login_history": [
        {"ip": "198.51.100.23", "port": 51324, "at": "2026-01-04T21:13:07Z"},
        {"ip": "203.0.113.145", "port": 40211, "at": "2026-01-06T07:45:52Z"},
        {"ip": "2001:db8:4f2a::17", "port": 60177, "at": "2026-01-09T18:02:31Z"},
        {"ip": "192.0.2.201", "port": 33890, "at": "2026-01-11T23:59:04Z"},
        {"ip": "198.51.100.87", "port": 49152, "at": "2026-01-12T06:30:18Z"},
        {"ip": "2001:db8:4f2a::9c", "port": 52870, "at": "2026-01-14T12:41:55Z"},
    ],
}

#: The protocol parameters of every sealed envelope.
PURPOSE: Final = "criminal_investigation"
LEGAL_BASIS: Final = "BUDAPEST-2AP.Art7"
CASE_REF: Final = "XA-NPOL/CYB/2026/004217"
MESSAGE_TYPE: Final = "disclosure_response"
HANDLING: Final = HandlingConditions(
    tlp="AMBER",
    handling_code="H1",
    evidential_use="with_consent",
    retention=Retention(max_days=730, review_days=365),
)
#: Who opens the envelopes (``open_envelope(actor=...)``).
ACTOR: Final = "benchmark gateway"
#: Envelope lifetime in seconds (safeshare's default, 7 days).
TTL_SECONDS: Final = 7 * 24 * 3600


class Implementation(Protocol):
    """One way of sealing and opening the workload's envelope.

    ``setup`` is called once per recipient count before any timing;
    ``seal`` returns a fresh envelope (fresh randomness, fresh ``jti``);
    ``open`` fully verifies one envelope from ``seal`` and returns the
    verified content. Every envelope is opened at most once (replay caches).
    """

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    def setup(self, n_recipients: int) -> None: ...

    def seal(self) -> bytes: ...

    def open(self, envelope: bytes) -> object: ...

    def info(self) -> dict[str, Any]:
        """Facts about this implementation for the JSON report (paths, versions)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class EnvelopeShape:
    """Sizes inside a real safeshare envelope, so that the floor does equal work."""

    envelope_bytes: int
    #: Length of the JWE protected header (base64url), the AES-GCM AAD.
    aad_bytes: int
    #: Length of the SD-JWT, the AES-GCM plaintext.
    plaintext_bytes: int
    #: Length of the JWS signing input (``header.payload``), what Ed25519 signs.
    signing_input_bytes: int
    #: Length of the issuer-signed JWT (hashed for the replay cache).
    issuer_jwt_bytes: int
    #: Length of each disclosure (each is hashed with SHA-256).
    disclosure_bytes: tuple[int, ...]


class Workload:
    """The shared fixture: the network, the record, who sends and who opens."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self.network = _testnet.build(self.now, agencies=(SENDER, *RECIPIENTS))
        self.registry = self.network.registry
        self.record = RECORD
        self.handling = HANDLING

    @property
    def sender(self) -> AgencyKeySet:
        return self.network.keysets[SENDER]

    @staticmethod
    def recipients(n_recipients: int) -> tuple[str, ...]:
        if not 1 <= n_recipients <= len(RECIPIENTS):
            raise ValueError(f"between 1 and {len(RECIPIENTS)} recipients are supported")
        return RECIPIENTS[:n_recipients]

    def opener(self, n_recipients: int) -> AgencyKeySet:
        """The recipient that opens: the *last* one, so that selecting its entry is no shortcut."""
        return self.network.keysets[self.recipients(n_recipients)[-1]]

    def record_json_bytes(self) -> int:
        return len(json.dumps(self.record, separators=(",", ":"), ensure_ascii=False).encode())

    def shape(self, envelope: bytes, n_recipients: int) -> EnvelopeShape:
        """Decrypt a safeshare *envelope* with raw primitives and measure its parts.

        This doubles as a cross-check of the floor: the same calls open it.
        """
        doc = json.loads(envelope)
        key = self.opener(n_recipients).decryption_keys[-1]
        entry = next(r for r in doc["recipients"] if r["header"]["kid"] == key.kid)
        private = x25519.X25519PrivateKey.from_private_bytes(key.private_bytes(SECRET_KEY_ACCESS))
        epk = x25519.X25519PublicKey.from_public_bytes(b64u_decode(entry["header"]["epk"]["x"]))
        kek = ConcatKDFHash(hashes.SHA256(), 32, OTHER_INFO).derive(private.exchange(epk))
        cek = aes_key_unwrap(kek, b64u_decode(entry["encrypted_key"]))
        token = (
            AESGCM(cek)
            .decrypt(
                b64u_decode(doc["iv"]),
                b64u_decode(doc["ciphertext"]) + b64u_decode(doc["tag"]),
                doc["protected"].encode("ascii"),
            )
            .decode("ascii")
        )
        issuer_jwt, *disclosures, _kb = token.split("~")
        return EnvelopeShape(
            envelope_bytes=len(envelope),
            aad_bytes=len(doc["protected"]),
            plaintext_bytes=len(token),
            signing_input_bytes=issuer_jwt.rindex("."),
            issuer_jwt_bytes=len(issuer_jwt),
            disclosure_bytes=tuple(len(d) for d in disclosures),
        )


#: Concat KDF OtherInfo for ECDH-ES+A256KW without apu/apv (RFC 7518 section 4.6.2).
OTHER_INFO: Final = (
    len(b"ECDH-ES+A256KW").to_bytes(4, "big")
    + b"ECDH-ES+A256KW"
    + (0).to_bytes(4, "big")
    + (0).to_bytes(4, "big")
    + (256).to_bytes(4, "big")
)


#: A RAM file system on Linux; used on purpose (the replay store there costs no fsync).
SHM: Final = "/dev/shm"  # noqa: S108 - the store goes in a fresh mkdtemp() below it


def tmpfs_dir() -> str | None:
    """``/dev/shm`` if this system has it (a RAM file system: fsync is free)."""
    return SHM if os.path.isdir(SHM) and os.access(SHM, os.W_OK) else None


def filesystem_type(path: str) -> str:
    """The file system type of *path* from ``/proc/mounts`` (``"unknown"`` elsewhere)."""
    target = os.path.realpath(path)
    best, fstype = "", "unknown"
    try:
        with open("/proc/mounts", encoding="utf-8") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) < 3:
                    continue
                mount = fields[1].replace("\\040", " ")
                inside = target == mount or target.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) >= len(best):
                    best, fstype = mount, fields[2]
    except OSError:
        return "unknown"
    return fstype
