"""A small fictional network of agencies, for the demo, vectors, tests and benchmarks.

Countries use ISO 3166-1 user-assigned codes (``XA``..``XD``), so no real
authority is ever named. With a *seed* every key is derived from it (test
vectors need fixed keys); without one, keys come from the OS CSPRNG.

The agencies declare the strictest safeguards the registry can express
(:data:`STRICTEST_RETENTION_DAYS`, onward transfer ``never``, no solely
automated decisions, breach notification, every instrument in
:data:`INSTRUMENTS`), so the transfer check before sealing
(:mod:`safeshare.purpose.transfer`) accepts any handling conditions sent to
them under a legal basis of those instruments. Tests of the transfer check
give agencies looser safeguards explicitly (``build(safeguards=...)``).

Not public API: applications build their own registries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from safeshare.keys import AgencyKeySet, DecryptionKey, SigningKey
from safeshare.registry import (
    Agency,
    ContactPoint,
    OnwardTransferPolicy,
    RegistryDocument,
    RegistryKey,
    Safeguards,
    TrustRegistry,
    sign_registry,
)

#: id -> (name, jurisdiction, oversight body)
AGENCIES: Final[dict[str, tuple[str, str, str]]] = {
    "XA-NPOL": (
        "National Police of Arcadia",
        "Republic of Arcadia",
        "Arcadian Data Protection Board",
    ),
    "XB-PROS": (
        "Office of the Public Prosecutor of Borduria",
        "Kingdom of Borduria",
        "Bordurian Commissioner for Data Protection",
    ),
    "XC-CUST": ("Carpanian Customs Service", "Carpania", "Carpanian Data Inspectorate"),
    "XD-FIU": (
        "Financial Intelligence Unit of Drusselstein",
        "Drusselstein",
        "Drusselstein Oversight Committee",
    ),
}

INSTRUMENTS: Final = ("BUDAPEST", "BUDAPEST-2AP", "UNTOC", "UNCC")
#: What the test agencies declare as their longest retention: the shortest
#: ``Retention.max_days`` allowed, so that no retention condition is stricter.
STRICTEST_RETENTION_DAYS: Final = 1


def _derive(seed: bytes, label: str) -> bytes:
    return hashlib.sha256(b"safeshare-testnet\x00" + seed + b"\x00" + label.encode()).digest()


def keyset(agency: str, *, seed: bytes | None = None) -> AgencyKeySet:
    """The key set of a test agency: derived from *seed*, or fresh."""
    if seed is None:
        return AgencyKeySet.generate(agency)
    return AgencyKeySet(
        agency,
        [SigningKey.from_private_bytes(_derive(seed, agency + "/sig"))],
        [DecryptionKey.from_private_bytes(_derive(seed, agency + "/enc"))],
    )


def authority(*, seed: bytes | None = None) -> SigningKey:
    """The registry authority's key: derived from *seed*, or fresh."""
    if seed is None:
        return SigningKey.generate()
    return SigningKey.from_private_bytes(_derive(seed, "registry-authority"))


def agency_entry(
    keys: AgencyKeySet,
    *,
    not_before: datetime,
    max_retention_days: int = STRICTEST_RETENTION_DAYS,
    onward_transfer: OnwardTransferPolicy = "never",
    safeguards: Mapping[str, Any] | None = None,
) -> Agency:
    """A registry entry for a test agency with all its keys valid from *not_before*.

    *safeguards* replaces members of the declared :class:`Safeguards` (for
    example ``{"max_retention_days": 730, "onward_transfer":
    "domestic_same_conditions"}``).
    """
    name, jurisdiction, oversight = AGENCIES.get(
        keys.agency, (keys.agency, keys.agency[:2], "Oversight body")
    )
    local = keys.agency.split("-", 1)[1].lower()
    registry_keys = [
        RegistryKey.from_public(k.public, not_before=not_before) for k in keys.signing_keys
    ]
    registry_keys += [
        RegistryKey.from_public(k.public, not_before=not_before) for k in keys.decryption_keys
    ]
    return Agency(
        id=keys.agency,
        name=name,
        country=keys.agency[:2],
        jurisdiction=jurisdiction,
        contact=ContactPoint(
            name="International cooperation desk",
            email=f"{local}@{keys.agency[:2].lower()}.example",
        ),
        contact_24_7=ContactPoint(
            name="24/7 point of contact", phone="+99 555 0100", available_24_7=True
        ),
        keys=tuple(registry_keys),
        safeguards=Safeguards.model_validate(
            {
                "max_retention_days": max_retention_days,
                "onward_transfer": onward_transfer,
                "oversight_body": oversight,
                "accepted_instruments": INSTRUMENTS,
                **(safeguards or {}),
            }
        ),
    )


@dataclass
class TestNetwork:
    """Key sets, the authority key, and the signed registry of a test network."""

    __test__ = False  # not a pytest class

    now: datetime
    keysets: dict[str, AgencyKeySet]
    authority: SigningKey
    document: RegistryDocument
    signed: bytes
    registry: TrustRegistry = field(repr=False)

    def resign(self, document: RegistryDocument) -> TestNetwork:
        """The same network with *document* as its next signed registry version."""
        doc = document.model_copy(update={"serial": self.document.serial}).next_version(
            now=self.now, valid_for=timedelta(days=30)
        )
        signed = sign_registry(doc, self.authority)
        registry = TrustRegistry.from_signed(signed, self.authority.public, now=self.now)
        return TestNetwork(self.now, self.keysets, self.authority, doc, signed, registry)


def build(
    now: datetime,
    *,
    agencies: tuple[str, ...] = tuple(AGENCIES),
    seed: bytes | None = None,
    keys_valid_from: timedelta = timedelta(days=30),
    safeguards: Mapping[str, Mapping[str, Any]] | None = None,
) -> TestNetwork:
    """A network of *agencies*, registry issued at *now*, keys valid from 30 days before.

    *safeguards* maps an agency id to the members of its declared safeguards
    that differ from the strict defaults (see :func:`agency_entry`).
    """
    keysets = {a: keyset(a, seed=seed) for a in agencies}
    auth = authority(seed=seed)
    doc = RegistryDocument(name="safeshare test network", serial=0)
    changes = safeguards or {}
    for keys in keysets.values():
        doc = doc.with_agency(
            agency_entry(
                keys, not_before=now - keys_valid_from, safeguards=changes.get(keys.agency)
            )
        )
    doc = doc.next_version(now=now, valid_for=timedelta(days=30))
    signed = sign_registry(doc, auth)
    registry = TrustRegistry.from_signed(signed, auth.public, now=now)
    return TestNetwork(now, keysets, auth, doc, signed, registry)
