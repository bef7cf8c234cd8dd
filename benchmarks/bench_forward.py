"""Onward transfer: ``forward`` at the holder and opening the forwarded envelope, against the floor.

Usage::

    python -m benchmarks.bench_forward            # table on stdout
    python -m benchmarks.bench_forward --quick    # a few seconds (smoke test)
    python -m benchmarks.bench_forward --json -   # JSON report on stdout

What is timed (one recipient per hop, the person-of-interest record of the
examples, 4 of its fields passed on):

* ``forward``: XB-PROS forwards part of an envelope it opened to XC-CUST:
  disclosure selection, the transfer check, the onward-transfer check (a
  consent grant looked up in an SQLite consent store and verified), the
  Key Binding JWT and the JWE to XC-CUST. Recorded in a memory recorder.
* ``open-forwarded``: XC-CUST opens it: decryption, the originator's
  signature, the disclosures, the hop's signature, binding, ``sd_hash``,
  narrowing, the consent grant's signature, the purpose check and the replay
  insert (SQLite in a temporary directory, on tmpfs where there is one).

The floor is the same cryptography made directly through ``cryptography``:
forward = one Ed25519 signature (the KB-JWT) + one X25519 key agreement,
Concat KDF, AES key wrap and AES-256-GCM encryption of a plaintext of the
same size; open-forwarded = X25519 + Concat KDF + AES key unwrap + AES-GCM
decryption + three Ed25519 verifications (originator, hop, consent grant).
Ratios divide medians of rounds taken back to back.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap

from benchmarks._common import tmpfs_dir
from safeshare import _testnet
from safeshare.audit.recorder import MemoryRecorder
from safeshare.envelope import OpenedEnvelope, forward, open_envelope, seal
from safeshare.privacy.schemas import PersonOfInterest
from safeshare.purpose.consent import ConsentStore, issue_grant
from safeshare.storage import ReplayCache, open_store

XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
XC: Final = "XC-CUST"
PURPOSE: Final = "locate_suspect"
NOW: Final = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
RECORD: Final[dict[str, Any]] = {
    "full_name": "Alex Example",
    "aliases": ["A. X."],
    "date_of_birth": "1990-04-12",
    "nationality": "XA",
    "passport_number": "P1234567",
    "last_known_address": {"street": "1 Main Street", "city": "Atown", "country": "XA"},
    "last_seen_location": [48.2082, 16.3738],
    "last_seen_at": "2026-11-28T21:15:00Z",
    "phone_numbers": ["+99 555 0100"],
    "physical_description": "about 1.85 m, slim",
    "officer_safety_warning": True,
    "criminal_record_summary": "2019: fraud, 2 years suspended",
    "health_notes": "diabetic, needs insulin daily",
}
PASSED_ON: Final = ("full_name", "last_known_address.city", "last_seen_at", "phone_numbers")


class Safeshare:
    def __init__(self, root: Path, stack: ExitStack) -> None:
        self.net = _testnet.build(NOW)
        self.root = root
        self.stack = stack
        store_b = stack.enter_context(open_store(root / "xb.db"))
        self.replay_b = ReplayCache(store_b)
        self.consents = ConsentStore(store_b)
        self.replay_c = ReplayCache(stack.enter_context(open_store(root / "xc.db")))
        self.at = NOW + timedelta(minutes=5)

    def holder_copy(self) -> OpenedEnvelope:
        """A fresh envelope A -> B, opened by B, with A's consent to forward it to C filed."""
        envelope = seal(
            RECORD,
            sender=self.net.keysets[XA],
            to=[XB],
            registry=self.net.registry,
            purpose=PURPOSE,
            legal_basis="UNTOC.Art27",
            case_ref="XA/2026/BENCH",
            message_type="spontaneous_information",
            schema=PersonOfInterest,
            now=NOW,
        )
        opened = open_envelope(
            envelope,
            recipient=self.net.keysets[XB],
            registry=self.net.registry,
            replay=self.replay_b,
            purpose=PURPOSE,
            actor="bench",
            recorder=None,
            now=self.at,
        )
        grant = issue_grant(
            originator=self.net.keysets[XA],
            holder=XB,
            envelope_jti=opened.jti,
            envelope_digest=opened.digest,
            scope="onward_transfer",
            onward_recipient=XC,
            valid_for=timedelta(days=2),
            now=NOW,
        )
        self.consents.add(grant, registry=self.net.registry, now=NOW)
        return opened

    def forward(self, opened: OpenedEnvelope) -> bytes:
        return forward(
            opened,
            sender=self.net.keysets[XB],
            to=XC,
            registry=self.net.registry,
            disclose=PASSED_ON,
            actor="bench",
            recorder=MemoryRecorder(),
            consents=self.consents,
            now=self.at,
        )

    def open_forwarded(self, envelope: bytes) -> OpenedEnvelope:
        return open_envelope(
            envelope,
            recipient=self.net.keysets[XC],
            registry=self.net.registry,
            replay=self.replay_c,
            purpose=PURPOSE,
            actor="bench",
            recorder=None,
            now=self.at,
        )


class Floor:
    """The same cryptography through ``cryptography`` directly (see the module docstring)."""

    OTHER_INFO: Final = (
        b"\x00\x00\x00\x0eECDH-ES+A256KW\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00"
    )

    def __init__(self, plaintext_bytes: int) -> None:
        self.signing = ed25519.Ed25519PrivateKey.generate()
        self.verify = self.signing.public_key()
        self.recipient = x25519.X25519PrivateKey.generate()
        self.public = self.recipient.public_key()
        self.message = os.urandom(300)
        self.plaintext = os.urandom(plaintext_bytes)
        self.aad = os.urandom(120)
        self.signatures = [self.signing.sign(self.message) for _ in range(3)]

    def forward(self) -> bytes:
        signature = self.signing.sign(self.message)
        cek, iv = os.urandom(32), os.urandom(12)
        ephemeral = x25519.X25519PrivateKey.generate()
        secret = ephemeral.exchange(self.public)
        kek = ConcatKDFHash(hashes.SHA256(), 32, self.OTHER_INFO).derive(secret)
        wrapped = aes_key_wrap(kek, cek)
        body = AESGCM(cek).encrypt(iv, signature + self.plaintext, self.aad)
        return ephemeral.public_key().public_bytes_raw() + wrapped + iv + body

    def open(self, envelope: bytes) -> bytes:
        epk = x25519.X25519PublicKey.from_public_bytes(envelope[:32])
        kek = ConcatKDFHash(hashes.SHA256(), 32, self.OTHER_INFO).derive(
            self.recipient.exchange(epk)
        )
        cek = aes_key_unwrap(kek, envelope[32:72])
        plaintext = AESGCM(cek).decrypt(envelope[72:84], envelope[84:], self.aad)
        for signature in self.signatures:
            self.verify.verify(signature, self.message)
        return plaintext


def _median_us(batch: Callable[[], float], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        gc.collect()
        gc.disable()
        try:
            samples.append(batch())
        finally:
            gc.enable()
    return statistics.median(samples) * 1e6


def run(rounds: int, per_batch: int) -> dict[str, Any]:
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=tmpfs_dir())))
        ours = Safeshare(root, stack)
        sample = ours.forward(ours.holder_copy())
        floor = Floor(len(sample) * 3 // 4)

        def forward_batch() -> float:
            copies = [ours.holder_copy() for _ in range(per_batch)]  # untimed
            start = time.perf_counter()
            for opened in copies:
                ours.forward(opened)
            return (time.perf_counter() - start) / per_batch

        def open_batch() -> float:
            envelopes = [ours.forward(ours.holder_copy()) for _ in range(per_batch)]  # untimed
            start = time.perf_counter()
            for envelope in envelopes:
                ours.open_forwarded(envelope)
            return (time.perf_counter() - start) / per_batch

        def floor_forward() -> float:
            start = time.perf_counter()
            for _ in range(per_batch):
                floor.forward()
            return (time.perf_counter() - start) / per_batch

        def floor_open() -> float:
            envelopes = [floor.forward() for _ in range(per_batch)]
            start = time.perf_counter()
            for envelope in envelopes:
                floor.open(envelope)
            return (time.perf_counter() - start) / per_batch

        results = {
            "forward": {"safeshare_us": _median_us(forward_batch, rounds)},
            "open-forwarded": {"safeshare_us": _median_us(open_batch, rounds)},
        }
        results["forward"]["floor_us"] = _median_us(floor_forward, rounds)
        results["open-forwarded"]["floor_us"] = _median_us(floor_open, rounds)
        for row in results.values():
            row["ratio"] = row["safeshare_us"] / row["floor_us"]
        return {
            "rounds": rounds,
            "per_batch": per_batch,
            "envelope_bytes": len(sample),
            "results": results,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds (smoke test)")
    parser.add_argument("--json", metavar="FILE", help="also write the JSON report ('-': stdout)")
    args = parser.parse_args(argv)
    rounds, per_batch = (3, 5) if args.quick else (9, 40)
    report = run(rounds, per_batch)
    out = sys.stderr if args.json == "-" else sys.stdout
    out.write(f"forwarded envelope: {report['envelope_bytes']} bytes\n")
    out.write(f"{'operation':<16}{'safeshare us':>14}{'floor us':>10}{'ratio':>8}\n")
    for name, row in report["results"].items():
        out.write(
            f"{name:<16}{row['safeshare_us']:>14.1f}{row['floor_us']:>10.1f}{row['ratio']:>8.2f}\n"
        )
    if args.json == "-":
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    elif args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
