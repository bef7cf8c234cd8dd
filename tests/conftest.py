"""Shared fixtures: a fixed clock, agency key sets, an authority key, registries.

Key sets and signed registries are immutable, so the expensive ones (key files
use 210,000 PBKDF2 iterations) are built once per session. Tests that need to
change something build their own copy with the helpers below.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import pytest

from safeshare.keys import AgencyKeySet, SigningKey
from safeshare.registry import (
    Agency,
    ContactPoint,
    RegistryDocument,
    RegistryKey,
    RegistryState,
    Safeguards,
    TrustRegistry,
    sign_registry,
)
from tests.pg import PostgresServer, StoreFactory, postgres_server_for_session

#: The fixed "current time" of the test suite.
NOW: Final = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
#: When the keys of the standard registry become valid.
KEYS_VALID_FROM: Final = NOW - timedelta(days=30)
#: How long a registry issued by the builder is valid.
REGISTRY_VALIDITY: Final = timedelta(days=7)
#: The two agencies of the standard registry.
XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
#: Passphrase of the session's saved key file.
PASSPHRASE: Final = "correct horse battery staple"


def make_safeguards(oversight_body: str = "Data Protection Authority") -> Safeguards:
    return Safeguards(
        max_retention_days=365,
        onward_transfer="with_prior_authorisation",
        oversight_body=oversight_body,
        accepted_instruments=("BUDAPEST-2AP", "UNTOC"),
    )


def make_agency(
    keyset: AgencyKeySet, *, not_before: datetime = KEYS_VALID_FROM, with_keys: bool = True
) -> Agency:
    """An active agency entry listing every public key of *keyset*."""
    agency_id = keyset.agency
    keys: tuple[RegistryKey, ...] = ()
    if with_keys:
        keys = tuple(
            RegistryKey.from_public(k.public, not_before=not_before) for k in keyset.signing_keys
        ) + tuple(
            RegistryKey.from_public(k.public, not_before=not_before) for k in keyset.decryption_keys
        )
    return Agency(
        id=agency_id,
        name=f"Agency {agency_id}",
        country=agency_id[:2],
        jurisdiction=f"Country {agency_id[:2]}",
        contact=ContactPoint(
            name="International desk",
            email=f"desk@{agency_id.lower()}.example",
            phone="+1 555 0100",
        ),
        contact_24_7=ContactPoint(
            name="24/7 point of contact", phone="+1 555 0199", available_24_7=True
        ),
        keys=keys,
        safeguards=make_safeguards(f"Oversight body of {agency_id[:2]}"),
    )


def make_document(
    keysets: Mapping[str, AgencyKeySet], *, name: str = "Test registry", serial: int = 0
) -> RegistryDocument:
    """An unsigned, not yet issued document with one agency per key set."""
    return RegistryDocument(
        name=name,
        serial=serial,
        agencies=tuple(make_agency(ks) for ks in keysets.values()),
    )


def issue(
    document: RegistryDocument,
    *,
    now: datetime = NOW,
    valid_for: timedelta = REGISTRY_VALIDITY,
) -> RegistryDocument:
    """The next version of *document*, issued at *now*."""
    return document.next_version(now=now, valid_for=valid_for)


@dataclass(frozen=True)
class RegistryBuilder:
    """Builds, signs and loads registries for the two standard agencies."""

    authority: SigningKey
    keysets: Mapping[str, AgencyKeySet]

    def draft(self) -> RegistryDocument:
        """The unsigned serial-0 draft."""
        return make_document(self.keysets)

    def document(
        self, *, now: datetime = NOW, valid_for: timedelta = REGISTRY_VALIDITY
    ) -> RegistryDocument:
        """The draft issued at *now* (serial 1)."""
        return issue(self.draft(), now=now, valid_for=valid_for)

    def sign(self, document: RegistryDocument, authority: SigningKey | None = None) -> bytes:
        return sign_registry(document, authority or self.authority)

    def signed(self, *, now: datetime = NOW, valid_for: timedelta = REGISTRY_VALIDITY) -> bytes:
        """Signed registry bytes (serial 1, issued at *now*)."""
        return self.sign(self.document(now=now, valid_for=valid_for))

    def load(
        self, data: bytes, *, now: datetime = NOW, state: RegistryState | None = None
    ) -> TrustRegistry:
        """Verify *data* against this builder's authority key."""
        return TrustRegistry.from_signed(data, self.authority.public, now=now, state=state)

    def registry(self, document: RegistryDocument, *, at: datetime = NOW) -> TrustRegistry:
        """Sign *document* and load it at *at*."""
        return self.load(self.sign(document), now=at)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def authority_key() -> SigningKey:
    """The registry authority's signing key (its public key is pinned)."""
    return SigningKey.generate()


@pytest.fixture(scope="session")
def other_authority_key() -> SigningKey:
    """A key that is not the pinned authority."""
    return SigningKey.generate()


@pytest.fixture(scope="session")
def xa_keys() -> AgencyKeySet:
    return AgencyKeySet.generate(XA)


@pytest.fixture(scope="session")
def xb_keys() -> AgencyKeySet:
    return AgencyKeySet.generate(XB)


@pytest.fixture(scope="session")
def agency_keysets(xa_keys: AgencyKeySet, xb_keys: AgencyKeySet) -> dict[str, AgencyKeySet]:
    return {XA: xa_keys, XB: xb_keys}


@pytest.fixture(scope="session")
def registry_builder(
    authority_key: SigningKey, agency_keysets: dict[str, AgencyKeySet]
) -> RegistryBuilder:
    return RegistryBuilder(authority_key, agency_keysets)


@pytest.fixture(scope="session")
def signed_registry(registry_builder: RegistryBuilder) -> bytes:
    """The standard signed registry: serial 1, issued at NOW, valid for 7 days."""
    return registry_builder.signed()


@pytest.fixture(scope="session")
def trust_registry(registry_builder: RegistryBuilder, signed_registry: bytes) -> TrustRegistry:
    return registry_builder.load(signed_registry)


@pytest.fixture(scope="session")
def saved_keyfile(tmp_path_factory: pytest.TempPathFactory, xa_keys: AgencyKeySet) -> Path:
    """XA-NPOL's key set saved once under PASSPHRASE (read it; do not modify it)."""
    path = tmp_path_factory.mktemp("keyfile") / "xa-npol.jwe"
    xa_keys.save(path, PASSPHRASE)
    return path


# -- storage back ends (see tests/pg.py) --------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session: SAFESHARE_TEST_POSTGRES_URL, else a
    throwaway cluster; skipped if PostgreSQL is not installed (failed instead when
    SAFESHARE_REQUIRE_POSTGRES=1)."""
    yield from postgres_server_for_session()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a database created for the session (shared by every test)."""
    return postgres_server.url


@pytest.fixture
def fresh_postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The session database's URL with a new, empty schema as its search_path
    (dropped after the test): the test sees only its own tables."""
    url = postgres_server.create_schema()
    try:
        yield url
    finally:
        postgres_server.drop_schema(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens stores on one fresh database; the test runs once per back end."""
    if request.param == "sqlite":
        factory = StoreFactory("sqlite", str(tmp_path / "safeshare.db"))
    else:
        factory = StoreFactory("postgresql", request.getfixturevalue("fresh_postgres_url"))
    try:
        yield factory
    finally:
        factory.close_all()
