"""``safeshare demo``: the trust registry's and the envelope's safeguards, step by step.

Three fictional agencies (ISO 3166 user-assigned country codes XA, XB and XC)
get keys, a registry authority lists them with their safeguards and signs the
registry, and a relying party verifies it. The demo shows the registry
refusing a tampered or forged copy; then XA-NPOL seals subscriber information
for XB-PROS, XB-PROS opens it, and the envelope's safeguards refuse a replay,
a tampered envelope and a surreptitious forward to XC-CUST. Before XB-PROS
opens the envelope for its purpose, an attempt to open it for another purpose
is refused and recorded in XB-PROS's audit log.

Then minimization and onward transfer: XA-NPOL seals a person-of-interest
record by its schema (:class:`~safeshare.privacy.schemas.PersonOfInterest`)
for ``locate_suspect``, so special categories are withheld, the passport
number is pseudonymized (recorded in XA-NPOL's pseudonym vault,
``XA-NPOL.vault.db``) and the date of birth generalized; XB-PROS, the
central authority, opens it; its forward of the name and city to XC-CUST is
refused without XA-NPOL's consent and recorded; with the consent grant it
goes ahead (:func:`~safeshare.envelope.forward`), and XC-CUST verifies the
whole chain and sees only that subset. XA-NPOL's data protection officer
then answers the data subject's access request through the blind index
(an investigative search of the index is refused), and no database holds the
person's identifiers in clear. Finally an older
registry replayed after a newer one, a revoked key and a suspended agency are
refused, including sealing to the suspended agency.

Every agency keeps its audit log in the work directory
(``<agency>.audit.db``): the seal, the opens and the refusals are recorded
there. XB-PROS returns a signed receipt that XA-NPOL verifies and records;
each agency signs checkpoints of its log; an oversight body's witness
(``oversight.xd-dpa.example/witness``) cosigns them after consistency proofs
and refuses a forked and a rolled-back checkpoint; at the end every log is
re-derived and its checkpoints checked, and the oversight report of XB-PROS's
log is printed (denials first).

The demo is a sequence of :class:`DemoStep` objects (:data:`DEMO_STEPS`) that
share a :class:`DemoContext`; extending it means appending steps. Every
time-dependent call gets the same ``now``, read from the clock once.
:func:`run_demo` returns whether every step behaved as expected.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import secrets
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO, TypeVar

from safeshare._internal import fs, strictjson
from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare._internal.clock import from_unix, resolve_now, rfc3339
from safeshare._jose import jwe
from safeshare.audit.checkpoint import Checkpoint, agency_log_origin, sign_checkpoint
from safeshare.audit.entry import AuditEntry
from safeshare.audit.log import AuditLog
from safeshare.audit.merkle import node_hash
from safeshare.audit.note import NoteVerifier
from safeshare.audit.receipt import receipt_for_open, record_receipt
from safeshare.audit.recorder import AuditLogRecorder
from safeshare.audit.report import build_report
from safeshare.audit.witness import Witness, verify_cosigned
from safeshare.cli._common import build_model, ensure_directory, say
from safeshare.cli._jwks import read_authority_key, read_public_keys
from safeshare.cli.keygen import write_agency_keys, write_authority_key
from safeshare.envelope import (
    ENVELOPE_TYP,
    MAX_ENVELOPE_BYTES,
    MAX_RECIPIENTS,
    SD_JWT_TYP,
    OpenedEnvelope,
    forward,
    open_envelope,
    seal,
)
from safeshare.errors import (
    AgencySuspendedError,
    AuditIntegrityError,
    DecryptionError,
    KeyFileError,
    KeyRevokedError,
    MalformedInputError,
    PolicyError,
    RegistryRollbackError,
    ReplayError,
    SafeShareError,
    StorageError,
    UsageError,
    VerificationError,
)
from safeshare.keys import AgencyKeySet, SigningKey, VerifyKey
from safeshare.privacy.blind_index import SubjectIndex
from safeshare.privacy.plan import plan_for
from safeshare.privacy.pseudonyms import PseudonymVault, is_pseudonym
from safeshare.privacy.schemas import PersonOfInterest
from safeshare.purpose.conditions import HandlingConditions, Retention
from safeshare.purpose.consent import (
    ConsentStore,
    issue_grant,
    record_grant_issued,
    verify_grant,
)
from safeshare.registry import (
    Agency,
    RegistryDocument,
    RegistryKey,
    RegistryState,
    TrustRegistry,
    sign_registry,
)
from safeshare.storage import ReplayCache, open_store

if TYPE_CHECKING:
    from safeshare.cli._common import Subparsers

__all__ = [
    "DEMO_ACTOR",
    "DEMO_AGENCIES",
    "DEMO_NETWORK",
    "DEMO_STEPS",
    "ENVELOPE_CASE_REF",
    "ENVELOPE_HANDLING",
    "ENVELOPE_LEGAL_BASIS",
    "ENVELOPE_PURPOSE",
    "ENVELOPE_TYPE",
    "FORWARDED_FIELDS",
    "OTHER_PURPOSE",
    "PERSON_CASE_REF",
    "PERSON_PURPOSE",
    "PERSON_RECORD",
    "SUBSCRIBER_RECORD",
    "DemoAgency",
    "DemoContext",
    "DemoStep",
    "DemoStepError",
    "register",
    "run_demo",
]

_T = TypeVar("_T")

REGISTRY_NAME: Final = "Arcadia-Borduria Cooperation Registry (demo)"
VALIDITY: Final = timedelta(days=30)
#: When the revocation and the suspension of the demo take effect, after ``now``.
CHANGE_DELAY: Final = timedelta(hours=1)


@dataclass(frozen=True)
class DemoAgency:
    """A fictional agency of the demo and what the registry says about it."""

    id: str
    name: str
    country: str
    jurisdiction: str
    contact: dict[str, Any]
    safeguards: dict[str, Any]
    contact_24_7: dict[str, Any] | None = None


DEMO_AGENCIES: Final = (
    DemoAgency(
        id="XA-NPOL",
        name="National Police of Arcadia",
        country="XA",
        jurisdiction="Republic of Arcadia (fictional)",
        contact={"name": "International Cooperation Unit", "email": "icu@npol.arcadia.example"},
        contact_24_7={
            "name": "Cybercrime 24/7 Point of Contact",
            "email": "24-7@npol.arcadia.example",
            "phone": "+999 100 200 300",
            "available_24_7": True,
        },
        safeguards={
            "max_retention_days": 365,
            "onward_transfer": "with_prior_authorisation",
            "oversight_body": "Arcadian Data Protection Authority",
            "accepted_instruments": ["BUDAPEST-2AP", "XA-XB-MLA-2024"],
        },
    ),
    DemoAgency(
        id="XB-PROS",
        name="Public Prosecutor of Borduria",
        country="XB",
        jurisdiction="Kingdom of Borduria (fictional)",
        contact={
            "name": "Office for International Legal Assistance",
            "email": "mla@prosecutor.borduria.example",
            "phone": "+999 400 500 600",
        },
        safeguards={
            "max_retention_days": 180,
            "onward_transfer": "with_prior_authorisation",
            "oversight_body": "Bordurian Judicial Oversight Commission",
            "accepted_instruments": ["BUDAPEST-2AP", "UNTOC"],
        },
    ),
    DemoAgency(
        id="XC-CUST",
        name="Customs Service of Carpania",
        country="XC",
        jurisdiction="Republic of Carpania (fictional)",
        contact={
            "name": "Customs Intelligence Liaison Office",
            "email": "liaison@customs.carpania.example",
        },
        safeguards={
            "max_retention_days": 365,
            "onward_transfer": "never",
            "oversight_body": "Carpanian Data Inspectorate",
            "accepted_instruments": ["BUDAPEST-2AP", "UNTOC"],
        },
    ),
)

#: The envelope of the demo: XA-NPOL answers XB-PROS's request for the
#: subscriber behind a phone number. All data is fictional: +999 is not an
#: assigned country code, IMSI MCC 001 is the test network, 192.0.2.0/24 is
#: the documentation range (RFC 5737) and .example is reserved (RFC 2606).
SUBSCRIBER_RECORD: Final[dict[str, str]] = {
    "subscriber_name": "Ioana Marin-Kessler",
    "address": "Strada Exemplului 17, apt. 4, 1010 Arcadia City, Arcadia",
    "msisdn": "+999 555 0142",
    "imsi": "001010123456789",
    "contract_start": "2024-03-01",
    "payment_method": "prepaid, cash top-ups at retail outlets",
    "ip_at_registration": "192.0.2.44",
    "email": "ioana.marin@mail.example",
}
ENVELOPE_PURPOSE: Final = "criminal_investigation"
ENVELOPE_LEGAL_BASIS: Final = "BUDAPEST-2AP.Art7"
ENVELOPE_CASE_REF: Final = "XB-2026-CYB-0117"
ENVELOPE_TYPE: Final = "disclosure_response"
ENVELOPE_HANDLING: Final = HandlingConditions(tlp="AMBER", retention=Retention(max_days=180))
#: A purpose the demo envelope does not allow (not compatible with ENVELOPE_PURPOSE).
OTHER_PURPOSE: Final = "intelligence_analysis"
#: The officer of XB-PROS who opens the envelope (recorded in the audit log).
DEMO_ACTOR: Final = "XB-PROS officer 4711"
#: The network name in the demo agencies' audit log origins.
DEMO_NETWORK: Final = "demo.safeshare.example"
#: The officer of XA-NPOL who seals and records the receipt.
DEMO_SENDER_ACTOR: Final = "XA-NPOL officer 0815"
#: The oversight body that witnesses the agencies' logs (not a registry agency).
DEMO_WITNESS: Final = "oversight.xd-dpa.example/witness"
#: The agencies whose audit logs the demo keeps.
DEMO_LOGGING_AGENCIES: Final = ("XA-NPOL", "XB-PROS", "XC-CUST")

#: The minimization part: XA-NPOL sends a person of interest to XB-PROS, the central
#: authority, to locate the suspect; XB-PROS passes the name and the last known city on to
#: XC-CUST with XA-NPOL's consent. All data is fictional.
PERSON_RECORD: Final[dict[str, Any]] = {
    "full_name": "Mira Testova",
    "aliases": ["M. T."],
    "date_of_birth": "1988-07-23",
    "nationality": "XA",
    "passport_number": "PA4471902",
    "last_known_address": {
        "street": "12 Harbour Lane",
        "postal_code": "AC-1010",
        "city": "Port Arcadia",
        "country": "XA",
    },
    "last_seen_location": [45.0812, 13.6387],
    "last_seen_at": "2026-11-27T22:40:00Z",
    "phone_numbers": ["+999 555 0171"],
    "physical_description": "about 1.70 m, short dark hair, scar on the left hand",
    "officer_safety_warning": True,
    "criminal_record_summary": "2021: smuggling of migrants, 3 years",
    "health_notes": "epileptic, carries medication",
    "ethnic_origin_notes": "recorded at the request of the subject",
}
PERSON_PURPOSE: Final = "locate_suspect"
#: Law-enforcement cooperation: inquiries into the whereabouts of suspects (UNTOC Art. 27(1)(b)).
PERSON_LEGAL_BASIS: Final = "UNTOC.Art27"
PERSON_CASE_REF: Final = "XA-2026-FUG-0417"
#: Onward transfer only with XA-NPOL's prior authorisation; kept at most 365 days.
PERSON_HANDLING: Final = HandlingConditions(tlp="AMBER", retention=Retention(max_days=365))
#: What XB-PROS passes on to XC-CUST.
FORWARDED_FIELDS: Final = ("full_name", "last_known_address.city")
#: The officer of XC-CUST who opens the forwarded envelope.
DEMO_XC_ACTOR: Final = "XC-CUST officer 2207"
#: XA-NPOL's data protection officer, who answers the data subject.
DEMO_DPO: Final = "XA-NPOL data protection officer"


class DemoStepError(Exception):
    """A demo step found that something did not behave as expected."""


@dataclass
class DemoContext:
    """What the steps share: the directory, the fixed time, and what was built."""

    workdir: Path
    now: datetime
    out: TextIO
    problems: list[str] = field(default_factory=list)
    #: The registry authority's key set (only its signing key is used).
    authority: AgencyKeySet | None = None
    #: The authority key as a relying party pins it, read from authority.jwks.json.
    pinned: VerifyKey | None = None
    keysets: dict[str, AgencyKeySet] = field(default_factory=dict)
    draft: RegistryDocument | None = None
    #: Signed registry files by serial.
    signed: dict[int, Path] = field(default_factory=dict)
    #: The newest registry the relying party accepted.
    registry: TrustRegistry | None = None
    #: The envelope XA-NPOL sealed for XB-PROS.
    envelope: bytes | None = None
    #: XB-PROS's opening of it, and the index of that open in XB-PROS's audit log.
    opened: OpenedEnvelope | None = None
    open_index: int | None = None
    #: The oversight body's witness key (kept in memory only).
    witness_key: SigningKey | None = None
    #: XB-PROS's opening of the person-of-interest envelope XA-NPOL sealed by its schema.
    person: OpenedEnvelope | None = None

    @property
    def state_path(self) -> Path:
        """The relying party's record of the newest accepted registry serial."""
        return self.workdir / "relying-party.state.json"

    def say(self, text: str = "") -> None:
        """One line of transcript."""
        self.out.write(text + "\n")

    def problem(self, text: str) -> None:
        """Record (and show) something that did not behave as expected."""
        self.problems.append(text)
        self.say(f"  MISBEHAVED: {text}")

    def check(self, condition: bool, text: str) -> None:
        """Record a problem unless *condition* holds; *text* says what should hold."""
        if condition:
            self.say(f"  ok: {text}")
        else:
            self.problem(f"expected: {text}")

    def expect_accepted(self, what: str, action: Callable[[], _T]) -> _T | None:
        """Run *action*, which must succeed; a refusal is recorded as a problem."""
        try:
            result = action()
        except SafeShareError as exc:
            self.problem(f"{what} was refused: {type(exc).__name__}: {exc.message}")
            return None
        self.say(f"  accepted: {what}")
        return result

    def expect_refusal(
        self,
        what: str,
        expected: tuple[type[SafeShareError], ...],
        action: Callable[[], object],
    ) -> None:
        """Run *action*, which must raise one of *expected*; anything else is a problem."""
        names = " or ".join(cls.__name__ for cls in expected)
        self.say(f"  trying: {what}")
        try:
            action()
        except expected as exc:
            self.say(f"  refused as expected: {type(exc).__name__}: {exc.message}")
            return
        except SafeShareError as exc:
            self.problem(f"{what}: expected {names}, got {type(exc).__name__}: {exc.message}")
            return
        self.problem(f"{what} was accepted; it should have been refused with {names}")


@dataclass(frozen=True)
class DemoStep:
    """One step of the demo: a title for the transcript and what to do."""

    title: str
    run: Callable[[DemoContext], None]


def _need(value: _T | None, what: str) -> _T:
    if value is None:
        raise DemoStepError(f"{what} is missing (an earlier step did not run)")
    return value


def _passphrase() -> str:
    """A random key-file passphrase; it is kept in memory only and never shown."""
    return secrets.token_urlsafe(24)


# -- the steps ----------------------------------------------------------------------


def _create_authority(ctx: DemoContext) -> None:
    ctx.say("  The registry authority signs the list of participating agencies.")
    passphrase = _passphrase()
    authority, files = write_authority_key(ctx.workdir, REGISTRY_NAME, passphrase, force=False)
    ctx.authority = authority
    ctx.say(f"  authority signing key {authority.signing_key.kid}")
    ctx.say(f"  wrote {files.private.name} (encrypted, random passphrase) and {files.public.name}")
    ctx.expect_refusal(
        "open the authority key file with a wrong passphrase",
        (KeyFileError,),
        lambda: AgencyKeySet.load(files.private, _passphrase()),
    )
    ctx.pinned = read_authority_key(files.public)
    ctx.check(
        ctx.pinned.kid == authority.signing_key.kid,
        "relying parties pin the authority key published in authority.jwks.json",
    )


def _create_agency_step(spec: DemoAgency) -> DemoStep:
    def run(ctx: DemoContext) -> None:
        passphrase = _passphrase()
        keyset, files = write_agency_keys(ctx.workdir, spec.id, passphrase, force=False)
        ctx.keysets[spec.id] = keyset
        ctx.say(f"  signing key (Ed25519)    {keyset.signing_key.kid}")
        ctx.say(f"  encryption key (X25519)  {keyset.decryption_key.kid}")
        ctx.say(
            f"  wrote {files.private.name} (encrypted, random passphrase) and {files.public.name}"
        )
        reloaded = AgencyKeySet.load(files.private, passphrase)
        ctx.check(
            reloaded.public_jwks() == keyset.public_jwks(),
            "the key file decrypts with its passphrase to the same keys",
        )

    return DemoStep(f"Create agency {spec.id} ({spec.name})", run)


def _build_registry(ctx: DemoContext) -> None:
    draft = RegistryDocument(name=REGISTRY_NAME, serial=0)
    for spec in DEMO_AGENCIES:
        keys = [
            RegistryKey.from_public(key, not_before=ctx.now)
            for key in read_public_keys(ctx.workdir / f"{spec.id}.jwks.json")
        ]
        agency = build_model(
            Agency,
            {
                "id": spec.id,
                "name": spec.name,
                "country": spec.country,
                "jurisdiction": spec.jurisdiction,
                "contact": spec.contact,
                "contact_24_7": spec.contact_24_7,
                "keys": keys,
                "safeguards": spec.safeguards,
            },
            what=f"agency {spec.id}",
        )
        draft = draft.with_agency(agency)
        s = agency.safeguards
        ctx.say(f"  {agency.id}: {len(keys)} keys valid from {rfc3339(ctx.now)}")
        ctx.say(
            f"    safeguards: retention at most {s.max_retention_days} days, onward transfer "
            f"{s.onward_transfer}, oversight by {s.oversight_body}, instruments "
            f"{', '.join(s.accepted_instruments)}"
        )
        if agency.contact_24_7 is not None:
            ctx.say(f"    24/7 point of contact: {agency.contact_24_7.name}")
    draft.save(ctx.workdir / "registry.draft.json")
    ctx.draft = draft
    ctx.say("  saved the unsigned draft registry.draft.json")


def _sign_next(ctx: DemoContext) -> Path:
    authority = _need(ctx.authority, "the authority key")
    version = _need(ctx.draft, "the registry draft").next_version(now=ctx.now, valid_for=VALIDITY)
    path = ctx.workdir / f"registry-{version.serial}.signed.json"
    version.save(ctx.workdir / "registry.draft.json")
    fs.atomic_write(path, sign_registry(version, authority.signing_key))
    ctx.draft = version
    ctx.signed[version.serial] = path
    ctx.say(
        f"  signed serial {version.serial}, valid until "
        f"{rfc3339(_need(version.expires_at, 'expires_at'))}: {path.name}"
    )
    return path


def _load(ctx: DemoContext, path: Path, *, state: bool = True) -> TrustRegistry:
    return TrustRegistry.load(
        path,
        _need(ctx.pinned, "the pinned authority key"),
        now=ctx.now,
        state=RegistryState(ctx.state_path) if state else None,
    )


def _sign_first(ctx: DemoContext) -> None:
    _sign_next(ctx)


def _verify_first(ctx: DemoContext) -> None:
    ctx.say("  The relying party checks the signature against the pinned key, the validity")
    ctx.say(f"  period, and records the serial in {ctx.state_path.name} (rollback protection).")
    path = _first_signed(ctx)
    registry = ctx.expect_accepted(
        f"{path.name} verified as a relying party", lambda: _load(ctx, path)
    )
    if registry is None:
        raise DemoStepError("the freshly signed registry did not verify")
    ctx.registry = registry
    ctx.say(f"  registry serial {registry.serial}: {', '.join(a.id for a in registry)}")


def _resolve_keys(ctx: DemoContext) -> None:
    registry = _need(ctx.registry, "the verified registry")
    for agency_id, keyset in ctx.keysets.items():
        sig = registry.verify_key(agency_id, keyset.signing_key.kid, at=ctx.now)
        enc = registry.encryption_key(agency_id, at=ctx.now)
        ctx.say(f"  {agency_id}: verify with {sig.kid}, encrypt to {enc.kid}")
        ctx.check(
            sig.kid == keyset.signing_key.kid and enc.kid == keyset.decryption_key.kid,
            f"the registry gives the keys {agency_id} generated",
        )


def _refuse_tampering(ctx: DemoContext) -> None:
    original = _first_signed(ctx).read_bytes()
    doc = strictjson.loads(original, what="signed registry", max_bytes=len(original))
    payload = bytearray(b64u_decode(doc["payload"], what="payload"))
    payload[len(payload) // 2] ^= 0x01  # flip one bit in the middle of the signed content
    doc["payload"] = b64u_encode(bytes(payload))
    tampered = ctx.workdir / "registry-1.tampered.json"
    fs.atomic_write(tampered, strictjson.pretty(doc))
    ctx.expect_refusal(
        f"{tampered.name} (one bit of the signed payload flipped)",
        (VerificationError, MalformedInputError),
        lambda: _load(ctx, tampered),
    )
    # A registry with the same content, signed by a key that is not the pinned one.
    impostor = SigningKey.generate()
    version = _need(ctx.draft, "the registry draft")
    forged = ctx.workdir / "registry-1.forged.json"
    fs.atomic_write(forged, sign_registry(version, impostor))
    ctx.expect_refusal(
        f"{forged.name} (signed by a key that is not the pinned authority key)",
        (VerificationError,),
        lambda: _load(ctx, forged),
    )


def _first_signed(ctx: DemoContext) -> Path:
    return _need(ctx.signed.get(1), "the signed registry serial 1")


def _revocation_time(ctx: DemoContext) -> datetime:
    return ctx.now + CHANGE_DELAY


def _update_registry(ctx: DemoContext) -> None:
    draft = _need(ctx.draft, "the registry draft")
    xa = _need(ctx.keysets.get("XA-NPOL"), "the XA-NPOL key set")
    at = _revocation_time(ctx)
    draft = draft.with_revoked_key(
        "XA-NPOL", xa.signing_key.kid, at=at, reason="key compromise reported"
    )
    ctx.say(f"  revoke XA-NPOL signing key {xa.signing_key.kid} from {rfc3339(at)}")
    draft = draft.with_suspension("XB-PROS", at=at, reason="safeguards under review")
    ctx.say(f"  suspend XB-PROS from {rfc3339(at)}")
    ctx.draft = draft
    path = _sign_next(ctx)
    registry = ctx.expect_accepted(
        f"{path.name} verified as a relying party", lambda: _load(ctx, path)
    )
    if registry is None:
        raise DemoStepError("the updated registry did not verify")
    ctx.registry = registry


def _refuse_rollback(ctx: DemoContext) -> None:
    ctx.say("  An attacker replays the older registry, in which the revoked key is still valid.")
    ctx.expect_refusal(
        f"{_first_signed(ctx).name} after serial {_need(ctx.registry, 'the registry').serial}",
        (RegistryRollbackError,),
        lambda: _load(ctx, _first_signed(ctx)),
    )


def _refuse_revoked_key(ctx: DemoContext) -> None:
    registry = _need(ctx.registry, "the verified registry")
    kid = _need(ctx.keysets.get("XA-NPOL"), "the XA-NPOL key set").signing_key.kid
    at = _revocation_time(ctx)
    ctx.expect_accepted(
        f"XA-NPOL key {kid} for a signature made at {rfc3339(ctx.now)}, before the revocation",
        lambda: registry.verify_key("XA-NPOL", kid, at=ctx.now),
    )
    ctx.expect_refusal(
        f"the same key for a signature made at {rfc3339(at)}",
        (KeyRevokedError,),
        lambda: registry.verify_key("XA-NPOL", kid, at=at),
    )


def _refuse_suspended_agency(ctx: DemoContext) -> None:
    registry = _need(ctx.registry, "the verified registry")
    at = _revocation_time(ctx)
    ctx.expect_accepted(
        f"encrypting to XB-PROS at {rfc3339(ctx.now)}, before the suspension",
        lambda: registry.encryption_key("XB-PROS", at=ctx.now),
    )
    ctx.expect_refusal(
        f"encrypting to XB-PROS at {rfc3339(at)}",
        (AgencySuspendedError,),
        lambda: registry.encryption_key("XB-PROS", at=at),
    )
    ctx.say("  Safeguard: a sender cannot seal to a suspended agency; the registry check comes")
    ctx.say("  before anything is signed or encrypted.")
    xc = _need(ctx.keysets.get("XC-CUST"), "the XC-CUST key set")
    ctx.expect_refusal(
        f"XC-CUST seals spontaneous information for XB-PROS at {rfc3339(at)}",
        (AgencySuspendedError,),
        lambda: seal(
            {"vessel": "MV Example Star", "container": "EXMU 123456 7"},
            sender=xc,
            to=["XB-PROS"],
            registry=registry,
            purpose=ENVELOPE_PURPOSE,
            legal_basis="UNTOC.Art18",
            case_ref="XC-2026-CUS-0031",
            message_type="spontaneous_information",
            now=at,
        ),
    )


# -- the envelope steps -----------------------------------------------------------------


def _envelope_path(ctx: DemoContext, suffix: str = "") -> Path:
    return ctx.workdir / f"envelope-XA-NPOL-to-XB-PROS{suffix}.json"


def _open_as(
    ctx: DemoContext,
    agency: str,
    envelope: bytes,
    *,
    purpose: str = ENVELOPE_PURPOSE,
    actor: str = DEMO_ACTOR,
) -> OpenedEnvelope:
    """Open *envelope* as *agency* for *purpose*, with that agency's replay cache and audit
    log in the work directory."""
    keyset = _need(ctx.keysets.get(agency), f"the {agency} key set")
    registry = _need(ctx.registry, "the verified registry")
    with (
        open_store(ctx.workdir / f"{agency}.replay.db") as store,
        open_store(ctx.workdir / f"{agency}.audit.db") as audit_store,
    ):
        log = AuditLog(audit_store, origin=agency_log_origin(agency, network=DEMO_NETWORK))
        return open_envelope(
            envelope,
            recipient=keyset,
            registry=registry,
            replay=ReplayCache(store),
            purpose=purpose,
            actor=actor,
            recorder=AuditLogRecorder(log),
            now=ctx.now,
        )


@contextlib.contextmanager
def _audit_log(ctx: DemoContext, agency: str) -> Iterator[AuditLog]:
    """*agency*'s audit log, kept in the work directory (``<agency>.audit.db``)."""
    with open_store(ctx.workdir / f"{agency}.audit.db") as store:
        yield AuditLog(store, origin=agency_log_origin(agency, network=DEMO_NETWORK))


def _last_audit_entry(ctx: DemoContext, agency: str) -> str:
    """The last entry of *agency*'s audit log, in words (metadata only)."""
    with open_store(ctx.workdir / f"{agency}.audit.db") as store:
        log = AuditLog.open(store)
        size = log.size()
        if size == 0:
            return "(the audit log is empty)"
        e = log.entry(size - 1)
    return (
        f"entry {size - 1} of {log.origin}: {e.action}/{e.outcome} by {e.actor!r}, "
        f"purpose {e.purpose}, envelope {e.jti}"
    )


def _seal_record(ctx: DemoContext) -> None:
    ctx.say("  Safeguards: confidentiality (encrypted to XB-PROS's registered key only) and")
    ctx.say("  purpose binding (purpose, legal basis, case and handling conditions are signed")
    ctx.say("  by XA-NPOL with the record); the outside of the envelope reveals none of them.")
    registry = _need(ctx.registry, "the verified registry")
    xa = _need(ctx.keysets.get("XA-NPOL"), "the XA-NPOL key set")
    with _audit_log(ctx, "XA-NPOL") as xa_log:
        envelope = ctx.expect_accepted(
            "XA-NPOL seals the subscriber information for XB-PROS",
            lambda: seal(
                SUBSCRIBER_RECORD,
                sender=xa,
                to=["XB-PROS"],
                registry=registry,
                purpose=ENVELOPE_PURPOSE,
                legal_basis=ENVELOPE_LEGAL_BASIS,
                case_ref=ENVELOPE_CASE_REF,
                message_type=ENVELOPE_TYPE,
                handling=ENVELOPE_HANDLING,
                now=ctx.now,
                recorder=AuditLogRecorder(xa_log),
                actor=DEMO_SENDER_ACTOR,
            ),
        )
    if envelope is None:
        raise DemoStepError("XA-NPOL could not seal the envelope")
    ctx.envelope = envelope
    last = _last_audit_entry(ctx, "XA-NPOL")
    ctx.say(f"  audit log: {last}")
    ctx.check("seal/success" in last, "the seal is recorded in XA-NPOL's audit log")
    path = _envelope_path(ctx)
    fs.atomic_write(path, envelope)
    h = ENVELOPE_HANDLING
    ctx.say(f"  {ENVELOPE_TYPE}: purpose {ENVELOPE_PURPOSE}, legal basis {ENVELOPE_LEGAL_BASIS},")
    ctx.say(
        f"  case {ENVELOPE_CASE_REF}, TLP {h.tlp}, retention at most {h.retention.max_days} days"
    )
    ctx.say(f"  record fields: {', '.join(SUBSCRIBER_RECORD)}")
    ctx.say(f"  envelope: {len(envelope)} bytes, written to {path.name}")

    doc = strictjson.loads(envelope, what="envelope", max_bytes=MAX_ENVELOPE_BYTES)
    header = b64u_decode(doc["protected"], what="protected header")
    kids = [r["header"]["kid"] for r in doc["recipients"]]
    ctx.say(f"  unencrypted: protected header {header.decode('ascii')}")
    ctx.say(f"  and the recipient key id {', '.join(kids)} with an ephemeral key per recipient")
    # Search the envelope as sent, and its protected header decoded, for the
    # plain text of what must stay confidential.
    visible = envelope + b"\n" + header
    probes = {
        "case reference": ENVELOPE_CASE_REF,
        "purpose": ENVELOPE_PURPOSE,
        "legal basis": ENVELOPE_LEGAL_BASIS,
        "subscriber name": SUBSCRIBER_RECORD["subscriber_name"],
        "MSISDN": SUBSCRIBER_RECORD["msisdn"],
        "IMSI": SUBSCRIBER_RECORD["imsi"],
        "email": SUBSCRIBER_RECORD["email"],
    }
    found = [name for name, text in probes.items() if text.encode("utf-8") in visible]
    ctx.say(f"  searched the envelope bytes for: {', '.join(probes)}")
    if found:
        ctx.problem(f"the envelope shows in plain text: {', '.join(found)}")
    else:
        ctx.say("  ok: none of them occurs: purpose, case and record are only in the ciphertext")
    ctx.check(
        kids == [_need(ctx.keysets.get("XB-PROS"), "XB-PROS").decryption_key.kid],
        "the only recipient is XB-PROS's encryption key from the registry",
    )


def _refuse_other_purpose(ctx: DemoContext) -> None:
    ctx.say("  Safeguard: purpose limitation (speciality, UNTOC Art. 18(19)). Opening requires a")
    ctx.say(f"  purpose and an actor. The envelope was sent for {ENVELOPE_PURPOSE}; without")
    ctx.say(f"  XA-NPOL's consent it may not be used for {OTHER_PURPOSE}. The refusal comes after")
    ctx.say("  every cryptographic check and before the replay cache is touched, and it is")
    ctx.say(f"  recorded in XB-PROS's audit log ({DEMO_NETWORK}/XB-PROS/audit).")
    envelope = _need(ctx.envelope, "the sealed envelope")
    ctx.expect_refusal(
        f"XB-PROS opens the envelope for {OTHER_PURPOSE}",
        (PolicyError,),
        lambda: _open_as(ctx, "XB-PROS", envelope, purpose=OTHER_PURPOSE),
    )
    last = _last_audit_entry(ctx, "XB-PROS")
    ctx.say(f"  audit log: {last}")
    ctx.check(
        "deny/denied" in last and f"purpose {OTHER_PURPOSE}" in last,
        "the refusal is recorded as a denial, with the actor and the purpose asked for",
    )


def _open_record(ctx: DemoContext) -> None:
    ctx.say("  Safeguards: authenticity and integrity. XB-PROS decrypts with its key, checks")
    ctx.say("  XA-NPOL's signature with the key the registry lists for XA-NPOL, that XB-PROS is")
    ctx.say("  an addressee, the lifetime and every disclosed field, and records the envelope")
    ctx.say("  in its replay cache (SQLite, XB-PROS.replay.db).")
    envelope = _need(ctx.envelope, "the sealed envelope")
    opened = ctx.expect_accepted(
        "XB-PROS opens the envelope", lambda: _open_as(ctx, "XB-PROS", envelope)
    )
    if opened is None:
        raise DemoStepError("XB-PROS could not open the envelope")
    ctx.opened = opened
    with _audit_log(ctx, "XB-PROS") as xb_log:
        ctx.open_index = xb_log.size() - 1
    ctx.say(f"  opened for {opened.opened_for} by {opened.actor!r}; the refused attempt before")
    ctx.say("  did not use up the envelope's jti")
    last = _last_audit_entry(ctx, "XB-PROS")
    ctx.say(f"  audit log: {last}")
    ctx.check("open/success" in last, "the open is recorded before the data is shown")
    h = opened.handling
    ctx.say(f"  issuer {opened.issuer}, purpose {opened.purpose}, legal basis {opened.legal_basis}")
    ctx.say(f"  case {opened.case_ref}, TLP {h.tlp}, retention at most {h.retention.max_days} days")
    ctx.say("  disclosed fields:")
    for name, value in sorted(opened.record.items()):
        text = value if isinstance(value, str) else json.dumps(value)
        ctx.say(f"    {name}: {text}")
    ctx.check(
        dict(opened.record) == SUBSCRIBER_RECORD
        and (opened.issuer, opened.purpose, opened.case_ref)
        == ("XA-NPOL", ENVELOPE_PURPOSE, ENVELOPE_CASE_REF),
        "XB-PROS received exactly what XA-NPOL sealed, with its purpose and case",
    )


def _refuse_envelope_replay(ctx: DemoContext) -> None:
    ctx.say("  Safeguard: replay protection. The (issuer, jti) pair was committed to the")
    ctx.say("  replay cache when the envelope was first opened; it survives a restart.")
    envelope = _need(ctx.envelope, "the sealed envelope")
    ctx.expect_refusal(
        "XB-PROS opens the same envelope again",
        (ReplayError,),
        lambda: _open_as(ctx, "XB-PROS", envelope),
    )


def _refuse_tampered_envelope(ctx: DemoContext) -> None:
    ctx.say("  Safeguard: integrity in transit. AES-256-GCM authenticates the ciphertext and")
    ctx.say("  the protected header; one changed character makes decryption fail.")
    envelope = _need(ctx.envelope, "the sealed envelope")
    doc = strictjson.loads(envelope, what="envelope", max_bytes=MAX_ENVELOPE_BYTES)
    ciphertext: str = doc["ciphertext"]
    middle = len(ciphertext) // 2
    flipped = "A" if ciphertext[middle] != "A" else "B"
    doc["ciphertext"] = ciphertext[:middle] + flipped + ciphertext[middle + 1 :]
    tampered = strictjson.dumps(doc)
    path = _envelope_path(ctx, ".tampered")
    fs.atomic_write(path, tampered)
    ctx.expect_refusal(
        f"{path.name} (ciphertext character {middle} changed to {flipped!r})",
        (DecryptionError,),
        lambda: _open_as(ctx, "XB-PROS", tampered),
    )


def _refuse_forwarding(ctx: DemoContext) -> None:
    ctx.say("  Safeguard: binding to the recipients. A malicious XB-PROS decrypts the envelope")
    ctx.say("  itself and re-encrypts XA-NPOL's signed token to XC-CUST, so that it looks as if")
    ctx.say("  XA-NPOL had sent it to XC-CUST. The signature is genuine, but the audience and")
    ctx.say("  the recipients' key thumbprints (sealed_to) are signed too.")
    envelope = _need(ctx.envelope, "the sealed envelope")
    registry = _need(ctx.registry, "the verified registry")
    xb = _need(ctx.keysets.get("XB-PROS"), "the XB-PROS key set")
    xc = _need(ctx.keysets.get("XC-CUST"), "the XC-CUST key set")

    def parse(data: bytes) -> jwe.ParsedJWE:
        doc = strictjson.loads(data, what="envelope", max_bytes=MAX_ENVELOPE_BYTES)
        return jwe.parse(doc, typ=ENVELOPE_TYP, cty=SD_JWT_TYP, max_recipients=MAX_RECIPIENTS)

    token, _ = jwe.decrypt(parse(envelope), xb.decryption_keys)
    target = registry.encryption_key("XC-CUST", at=ctx.now)
    forwarded = strictjson.dumps(jwe.encrypt(token, [target], typ=ENVELOPE_TYP, cty=SD_JWT_TYP))
    path = _envelope_path(ctx, ".forwarded-to-XC-CUST")
    fs.atomic_write(path, forwarded)
    ctx.say(f"  XB-PROS re-encrypted the {len(token)}-byte signed token to XC-CUST: {path.name}")
    inner, _ = jwe.decrypt(parse(forwarded), xc.decryption_keys)
    ctx.check(inner == token, "XC-CUST can decrypt it, and XA-NPOL's signed token is unchanged")
    ctx.expect_refusal(
        "XC-CUST opens the forwarded envelope",
        (VerificationError,),
        lambda: _check_not_decryption_error(lambda: _open_as(ctx, "XC-CUST", forwarded)),
    )


def _check_not_decryption_error(action: Callable[[], _T]) -> _T:
    """Run *action*; a :class:`DecryptionError` would be the wrong refusal here."""
    try:
        return action()
    except DecryptionError as exc:
        raise UsageError(f"refused for the wrong reason: DecryptionError: {exc.message}") from None


# -- the minimization and onward-transfer steps ------------------------------------------


def _person_path(ctx: DemoContext, name: str) -> Path:
    return ctx.workdir / f"envelope-person-of-interest-{name}.json"


def _presentation_text(presentation: str) -> str:
    """The signed payload and every disclosure of an SD-JWT presentation, decoded."""
    issuer_jwt, *disclosures = [part for part in presentation.split("~") if part]
    parts = [b64u_decode(issuer_jwt.split(".")[1], what="signed token payload")]
    parts += [b64u_decode(d, what="disclosure") for d in disclosures]
    return "\n".join(part.decode("utf-8") for part in parts)


def _seal_person(ctx: DemoContext) -> None:
    ctx.say("  Safeguards: purpose limitation and data minimisation (Second Additional Protocol")
    ctx.say("  Art. 14(2)), special categories (Art. 14(4)). The record schema PersonOfInterest")
    ctx.say(f"  decides, field by field, what the purpose {PERSON_PURPOSE} may see:")
    plan = plan_for(PersonOfInterest, PERSON_PURPOSE)
    for decision in plan.decisions:
        if decision.action != "disclose":
            special = ", ".join(decision.special_categories)
            ctx.say(
                f"    {decision.field}: {decision.shown_action}"
                + (f" (special category: {special})" if special else "")
            )
    ctx.say(f"    the other {plan.summary()['disclose']} fields: disclose")
    registry = _need(ctx.registry, "the verified registry")
    xa = _need(ctx.keysets.get("XA-NPOL"), "the XA-NPOL key set")
    with (
        _audit_log(ctx, "XA-NPOL") as xa_log,
        open_store(ctx.workdir / "XA-NPOL.vault.db") as vault_store,
    ):
        vault = PseudonymVault(vault_store)
        envelope = ctx.expect_accepted(
            f"XA-NPOL seals the person of interest for XB-PROS, purpose {PERSON_PURPOSE}",
            lambda: seal(
                PERSON_RECORD,
                schema=PersonOfInterest,
                vault=vault,
                sender=xa,
                to=["XB-PROS"],
                registry=registry,
                purpose=PERSON_PURPOSE,
                legal_basis=PERSON_LEGAL_BASIS,
                case_ref=PERSON_CASE_REF,
                message_type="spontaneous_information",
                handling=PERSON_HANDLING,
                recorder=AuditLogRecorder(xa_log),
                actor=DEMO_SENDER_ACTOR,
                pad=True,
                now=ctx.now,
            ),
        )
        if envelope is None:
            raise DemoStepError("XA-NPOL could not seal the person of interest")
        entry = xa_log.entry(xa_log.size() - 1)
        pseudonyms = vault.entries_for("XA-NPOL", str(entry.jti))
    path = _person_path(ctx, "XA-NPOL-to-XB-PROS")
    fs.atomic_write(path, envelope)
    ctx.say(f"  envelope: {len(envelope)} bytes (padded to a size bucket), written to {path.name}")
    ctx.say(
        f"  audit log: {entry.action}/{entry.outcome} to {entry.counterparty}, purpose "
        f"{entry.purpose}, with {len(entry.subjects)} blind-index tokens of the person"
    )
    ctx.check(
        entry.action == "seal"
        and len(entry.subjects) == 3
        and not any(str(v) in repr(entry) for v in ("PA4471902", "Mira Testova", "0171")),
        "the seal entry holds tokens of the passport, phone and name with birth date, not them",
    )
    ctx.say(f"  XA-NPOL's pseudonym vault (XA-NPOL.vault.db): {len(pseudonyms)} pseudonym(s)")
    ctx.check(
        [(e.path, e.recipient, e.case_ref) for e in pseudonyms]
        == [("/passport_number", "XB-PROS", PERSON_CASE_REF)],
        "the passport pseudonym is recorded for XB-PROS in the case, its value encrypted",
    )


def _open_person(ctx: DemoContext) -> None:
    ctx.say("  XB-PROS, the central authority, opens it for its purpose. The withheld fields")
    ctx.say("  reached it only as salted digests it cannot tell from decoys.")
    envelope = _person_path(ctx, "XA-NPOL-to-XB-PROS").read_bytes()
    opened = ctx.expect_accepted(
        f"XB-PROS opens the person of interest for {PERSON_PURPOSE}",
        lambda: _open_as(ctx, "XB-PROS", envelope, purpose=PERSON_PURPOSE),
    )
    if opened is None:
        raise DemoStepError("XB-PROS could not open the person of interest")
    ctx.person = opened
    record = opened.verified_claims()["record"]
    ctx.say("  disclosed fields:")
    for name, value in sorted(record.items()):
        ctx.say(f"    {name}: {json.dumps(value, sort_keys=True)}")
    seen = _presentation_text(opened.presentation)
    withheld = ("criminal_record_summary", "health_notes", "ethnic_origin_notes")
    ctx.check(
        not any(name in seen or str(PERSON_RECORD[name]) in seen for name in withheld),
        "criminal record, health and ethnic origin are nowhere in what XB-PROS decrypted",
    )
    ctx.check(
        is_pseudonym(record.get("passport_number"))
        and PERSON_RECORD["passport_number"] not in seen
        and record.get("date_of_birth") == "1988",
        "the passport number arrived as a pseudonym, the date of birth as the year",
    )


def _forward_person(ctx: DemoContext) -> bytes:
    """XB-PROS forwards FORWARDED_FIELDS of the person of interest to XC-CUST (recorded)."""
    opened = _need(ctx.person, "XB-PROS's opening of the person of interest")
    registry = _need(ctx.registry, "the verified registry")
    xb = _need(ctx.keysets.get("XB-PROS"), "the XB-PROS key set")
    with (
        _audit_log(ctx, "XB-PROS") as xb_log,
        open_store(ctx.workdir / "XB-PROS.consent.db") as consent_store,
    ):
        return forward(
            opened,
            sender=xb,
            to="XC-CUST",
            registry=registry,
            disclose=list(FORWARDED_FIELDS),
            actor=DEMO_ACTOR,
            recorder=AuditLogRecorder(xb_log),
            consents=ConsentStore(consent_store),
            now=ctx.now,
        )


def _last_entry(ctx: DemoContext, agency: str) -> AuditEntry:
    with _audit_log(ctx, agency) as log:
        return log.entry(log.size() - 1)


def _refuse_forward_without_consent(ctx: DemoContext) -> None:
    ctx.say("  Safeguard: onward transfer only with the prior authorisation of the transferring")
    ctx.say("  authority (Second Additional Protocol Art. 14(9)-(10)). The conditions XA-NPOL")
    ctx.say("  signed say onward_transfer: with_prior_authorisation, and XB-PROS holds no")
    ctx.say("  consent grant yet.")
    ctx.expect_refusal(
        f"XB-PROS forwards {', '.join(FORWARDED_FIELDS)} to XC-CUST",
        (PolicyError,),
        lambda: _forward_person(ctx),
    )
    ctx.say(f"  audit log: {_last_audit_entry(ctx, 'XB-PROS')}")
    entry = _last_entry(ctx, "XB-PROS")
    ctx.check(
        (entry.action, entry.outcome, entry.counterparty) == ("deny", "denied", "XC-CUST"),
        "the refused onward transfer is recorded as a denial in XB-PROS's audit log",
    )


def _forward_with_consent(ctx: DemoContext) -> None:
    ctx.say("  XA-NPOL finds the envelope's jti and digest in its own seal entry and signs a")
    ctx.say("  consent grant bound to that envelope, to XB-PROS as holder and XC-CUST as the")
    ctx.say("  only onward recipient. XB-PROS then forwards the name and the city only: XA-NPOL's")
    ctx.say("  signed token with those two disclosures, and a key-binding JWT (RFC 9901) signed")
    ctx.say("  with the key XA-NPOL bound to XB-PROS, carrying the grant.")
    opened = _need(ctx.person, "XB-PROS's opening of the person of interest")
    registry = _need(ctx.registry, "the verified registry")
    xa = _need(ctx.keysets.get("XA-NPOL"), "the XA-NPOL key set")
    with _audit_log(ctx, "XA-NPOL") as xa_log:
        (sealed,) = [e for _, e in xa_log.entries() if e.action == "seal" and e.jti == opened.jti]
        token = issue_grant(
            originator=xa,
            holder="XB-PROS",
            envelope_jti=str(sealed.jti),
            envelope_digest=str(sealed.envelope_digest),
            scope="onward_transfer",
            onward_recipient="XC-CUST",
            conditions=["XC-CUST receives the name and the last known city only"],
            valid_for=timedelta(days=7),
            now=ctx.now,
        )
        ctx.expect_accepted(
            "XA-NPOL records the consent grant it issues",
            lambda: record_grant_issued(
                AuditLogRecorder(xa_log),
                verify_grant(token, registry=registry, now=ctx.now),
                actor=DEMO_SENDER_ACTOR,
                now=ctx.now,
            ),
        )
    with (
        _audit_log(ctx, "XB-PROS") as xb_log,
        open_store(ctx.workdir / "XB-PROS.consent.db") as consent_store,
    ):
        grant = ctx.expect_accepted(
            "XB-PROS verifies and records XA-NPOL's consent grant",
            lambda: ConsentStore(consent_store).add(
                token,
                registry=registry,
                now=ctx.now,
                recorder=AuditLogRecorder(xb_log),
                actor=DEMO_ACTOR,
            ),
        )
    if grant is None:
        raise DemoStepError("XB-PROS could not record the consent grant")
    ctx.say(f"  grant {grant.grant_id}: {grant.describe()}")
    forwarded = ctx.expect_accepted(
        f"XB-PROS forwards {', '.join(FORWARDED_FIELDS)} to XC-CUST", lambda: _forward_person(ctx)
    )
    if forwarded is None:
        raise DemoStepError("XB-PROS could not forward with consent")
    path = _person_path(ctx, "forwarded-XB-PROS-to-XC-CUST")
    fs.atomic_write(path, forwarded)
    ctx.say(f"  forwarded envelope: {len(forwarded)} bytes, written to {path.name}")
    ctx.say(f"  audit log: {_last_audit_entry(ctx, 'XB-PROS')}")
    ctx.check(
        _last_entry(ctx, "XB-PROS").action == "forward",
        "the onward transfer is recorded before it leaves",
    )
    ctx.say("  XC-CUST verifies the chain: XA-NPOL's signature, XB-PROS's key binding (bound key,")
    ctx.say("  audience, exactly the disclosures received) and XA-NPOL's consent to this transfer.")
    at_xc = ctx.expect_accepted(
        f"XC-CUST opens the forwarded envelope for {PERSON_PURPOSE}",
        lambda: _open_as(ctx, "XC-CUST", forwarded, purpose=PERSON_PURPOSE, actor=DEMO_XC_ACTOR),
    )
    if at_xc is None:
        raise DemoStepError("XC-CUST could not open the forwarded envelope")
    record = at_xc.verified_claims()["record"]
    ctx.say(f"    record: {json.dumps(record, sort_keys=True)}")
    for hop in at_xc.provenance:
        ctx.say(
            f"    provenance: from {at_xc.issuer} (case {at_xc.case_ref}, purpose "
            f"{at_xc.purpose}) via {hop.forwarder} to {hop.recipient}, consent {hop.consent_id}"
        )
    address = PERSON_RECORD["last_known_address"]
    ctx.check(
        record
        == {
            "full_name": PERSON_RECORD["full_name"],
            "last_known_address": {"city": address["city"]},
        }
        and [(h.forwarder, h.consent_id) for h in at_xc.provenance] == [("XB-PROS", grant.grant_id)]
        and at_xc.issuer == "XA-NPOL",
        "XC-CUST sees only the name and the city, from XA-NPOL via XB-PROS under the grant",
    )


def _subject_lookup(ctx: DemoContext) -> None:
    ctx.say("  Safeguard: access by the data subject (Second Additional Protocol Art. 14(12)).")
    ctx.say("  Mira Testova asks XA-NPOL what it shared about her. Its data protection officer")
    ctx.say("  turns her passport number into a blind-index token with XA-NPOL's privacy secret")
    ctx.say("  and looks it up in XA-NPOL's audit log; every lookup is recorded first.")
    xa = _need(ctx.keysets.get("XA-NPOL"), "the XA-NPOL key set")
    passport = str(PERSON_RECORD["passport_number"])
    with _audit_log(ctx, "XA-NPOL") as xa_log:

        def lookup(purpose: str) -> list[tuple[int, AuditEntry]]:
            return SubjectIndex().lookup(
                xa_log,
                xa.privacy_secret,
                "passport",
                passport,
                actor=DEMO_DPO,
                recorder=AuditLogRecorder(xa_log),
                purpose=purpose,
                reason="access request AR-2026-0031",
                include_lookups=True,  # the refused search is shown to her as well
                now=ctx.now,
            )

        ctx.expect_refusal(
            "an investigator searches the blind index for the passport number",
            (PolicyError,),
            lambda: lookup("criminal_investigation"),
        )
        found = ctx.expect_accepted(
            "XA-NPOL's data protection officer looks up the passport number",
            lambda: lookup("data_protection_compliance"),
        )
    if found is None:
        raise DemoStepError("the data-subject lookup failed")
    for index, entry in found:
        ctx.say(
            f"    entry {index}: {rfc3339(from_unix(entry.time))} {entry.action}/{entry.outcome}"
            + (f" to {entry.counterparty}" if entry.counterparty else "")
            + f", purpose {entry.purpose}"
        )
    ctx.check(
        [(e.action, e.counterparty, e.purpose) for _, e in found][:1]
        == [("seal", "XB-PROS", PERSON_PURPOSE)],
        "the lookup finds the transfer to XB-PROS for locate_suspect (and the refused search)",
    )
    identifiers = {
        "passport number": passport,
        "name": str(PERSON_RECORD["full_name"]),
        "phone number": "555 0171",
        "street": "12 Harbour Lane",
    }
    files = sorted(p for p in ctx.workdir.iterdir() if ".db" in p.name and p.is_file())
    ctx.say(
        f"  searched the {len(files)} database files (with their WAL files) of the work directory"
    )
    ctx.say(f"  for her {', '.join(identifiers)}")
    found_in = [
        f"{label} in {path.name}"
        for path in files
        for label, text in identifiers.items()
        if text.encode("utf-8") in path.read_bytes()
    ]
    if found_in:
        ctx.problem(f"identifiers in clear: {', '.join(found_in)}")
    else:
        ctx.say("  ok: none of them occurs: no store holds her identifiers in clear")


# -- the audit steps --------------------------------------------------------------------


def _receipt(ctx: DemoContext) -> None:
    ctx.say("  Safeguard: non-repudiation of receipt. XB-PROS signs a checkpoint of its audit")
    ctx.say("  log covering the open and returns a signed receipt (envelope digest, log index,")
    ctx.say("  checkpoint); XA-NPOL verifies it against the registry and records it.")
    opened = _need(ctx.opened, "XB-PROS's opening of the envelope")
    index = _need(ctx.open_index, "the audit log index of the open")
    registry = _need(ctx.registry, "the verified registry")
    xb = _need(ctx.keysets.get("XB-PROS"), "the XB-PROS key set")
    with _audit_log(ctx, "XB-PROS") as xb_log:
        token = ctx.expect_accepted(
            f"XB-PROS issues a receipt for entry {index} of its audit log",
            lambda: receipt_for_open(
                opened, recipient_keys=xb, log=xb_log, log_index=index, now=ctx.now
            ),
        )
    if token is None:
        raise DemoStepError("XB-PROS could not issue a receipt")
    with _audit_log(ctx, "XA-NPOL") as xa_log:
        recorder = AuditLogRecorder(xa_log)
        receipt = ctx.expect_accepted(
            "XA-NPOL verifies the receipt and records it",
            lambda: record_receipt(
                token,
                registry=registry,
                expected_sender="XA-NPOL",
                expected_digest=opened.digest,
                recorder=recorder,
                actor=DEMO_SENDER_ACTOR,
                now=ctx.now,
                expected_jti=opened.jti,
            ),
        )
        ctx.expect_refusal(
            "XA-NPOL checks the receipt against another envelope's digest",
            (VerificationError,),
            lambda: record_receipt(
                token,
                registry=registry,
                expected_sender="XA-NPOL",
                expected_digest="0" * 64,
                recorder=recorder,
                actor=DEMO_SENDER_ACTOR,
                now=ctx.now,
            ),
        )
    if receipt is not None:
        ctx.say(
            f"  receipt: {receipt.issuer} opened {receipt.envelope_jti} at entry "
            f"{receipt.log_index} of {receipt.checkpoint.origin} (tree size "
            f"{receipt.checkpoint.size})"
        )
    last = _last_audit_entry(ctx, "XA-NPOL")
    ctx.say(f"  audit log: {last}")
    ctx.check("deny/denied" in last, "the mismatching receipt is recorded as a denial")


def _sign_checkpoints(ctx: DemoContext) -> None:
    ctx.say("  Each agency signs a checkpoint (C2SP tlog-checkpoint) of its audit log with its")
    ctx.say("  registered signing key; a log never signs two inconsistent checkpoints.")
    for agency in DEMO_LOGGING_AGENCIES:
        key = _need(ctx.keysets.get(agency), f"the {agency} key set").signing_key
        with _audit_log(ctx, agency) as log:
            note = ctx.expect_accepted(
                f"{agency} signs a checkpoint of its {log.size()}-entry audit log",
                functools.partial(log.sign_checkpoint, None, key, now=ctx.now),
            )
        if note is not None:
            ctx.say(f"    {note.splitlines()[0]} size {note.splitlines()[1]}")


@contextlib.contextmanager
def _witness(ctx: DemoContext) -> Iterator[Witness]:
    """The oversight body's witness, its state in the work directory."""
    if ctx.witness_key is None:
        ctx.witness_key = SigningKey.generate()
    with open_store(ctx.workdir / "XD-DPA.witness.db") as store:
        yield Witness(store, DEMO_WITNESS, ctx.witness_key)


def _cosign(ctx: DemoContext) -> None:
    ctx.say(f"  Safeguard: oversight. The data protection authority's witness ({DEMO_WITNESS})")
    ctx.say("  cosigns each agency's checkpoints, each one only after an RFC 9162 consistency")
    ctx.say("  proof from the last checkpoint it cosigned for that log. Each agency first signs")
    ctx.say("  a fresh checkpoint of its log as it is now.")
    with _witness(ctx) as witness:
        for agency in DEMO_LOGGING_AGENCIES:
            key = _need(ctx.keysets.get(agency), f"the {agency} key set").signing_key
            with _audit_log(ctx, agency) as log:
                log.sign_checkpoint(None, key, now=ctx.now)
                verifier = NoteVerifier(log.origin, key.public)
                cosigned = ""
                for stored in log.checkpoints():
                    seen = witness.latest(log.origin)
                    old = 0 if seen is None else seen.checkpoint.size
                    if seen is not None and old == stored.size:
                        continue  # the same tree: nothing new to witness
                    proof = [] if old == 0 else log.consistency_proof(old, stored.size)
                    line = ctx.expect_accepted(
                        f"{DEMO_WITNESS} cosigns {agency}'s checkpoint of size {stored.size} "
                        f"({len(proof)}-hash proof from size {old})",
                        functools.partial(
                            witness.cosign, stored.note, proof, log_verifier=verifier, now=ctx.now
                        ),
                    )
                    if line is not None:
                        cosigned = stored.note + line
            if cosigned:
                ctx.expect_accepted(
                    f"a client requiring 1 cosignature by {DEMO_WITNESS} accepts it",
                    functools.partial(
                        verify_cosigned, cosigned, verifier, [witness.verifier], 1, now=ctx.now
                    ),
                )


def _refuse_fork(ctx: DemoContext) -> None:
    ctx.say("  Safeguard: fork detection. A compromised XB-PROS log key signs a second checkpoint")
    ctx.say("  of the same size with another root (a rewritten history); the witness refuses it")
    ctx.say("  and keeps both signed checkpoints as evidence.")
    key = _need(ctx.keysets.get("XB-PROS"), "the XB-PROS key set").signing_key
    with _witness(ctx) as witness, _audit_log(ctx, "XB-PROS") as log:
        latest = _need(witness.latest(log.origin), "the cosigned XB-PROS checkpoint")
        size = latest.checkpoint.size
        forged_root = node_hash(latest.checkpoint.root_hash, latest.checkpoint.root_hash)
        forged = sign_checkpoint(Checkpoint(log.origin, size, forged_root), log.origin, key)
        verifier = NoteVerifier(log.origin, key.public)
        ctx.expect_refusal(
            f"{DEMO_WITNESS} cosigns a forked XB-PROS checkpoint of size {size}",
            (AuditIntegrityError,),
            lambda: witness.cosign(forged, [], log_verifier=verifier, now=ctx.now),
        )
        ctx.expect_refusal(
            f"{DEMO_WITNESS} cosigns an XB-PROS checkpoint rolled back to size 1",
            (AuditIntegrityError,),
            lambda: witness.cosign(
                sign_checkpoint(Checkpoint(log.origin, 1, log.root(1)), log.origin, key),
                [],
                log_verifier=verifier,
                now=ctx.now,
            ),
        )
        kinds = [e.kind for e in witness.evidence()]
        ctx.check(kinds == ["fork", "rollback"], f"the witness kept the evidence: {kinds}")


def _verify_logs(ctx: DemoContext) -> None:
    ctx.say("  What `safeshare audit verify` does: re-derive every log's tree from its entries")
    ctx.say("  and check every stored checkpoint against it, with the agency's key.")
    for agency in DEMO_LOGGING_AGENCIES:
        key = _need(ctx.keysets.get(agency), f"the {agency} key set").signing_key
        with _audit_log(ctx, agency) as log:
            result = ctx.expect_accepted(
                f"{agency}'s audit log re-derived and its checkpoints checked",
                functools.partial(log.verify_with_checkpoints, keys=[key.public]),
            )
        if result is not None:
            ctx.say(
                f"    {result.size} entries, {result.checkpoints} checkpoint(s), "
                f"root {result.root_hash.hex()[:16]}..."
            )


def _report(ctx: DemoContext) -> None:
    ctx.say("  The oversight report of XB-PROS's audit log: denials first, then the accesses")
    ctx.say("  by purpose, actor, counterparty and outcome (metadata only, no record content).")
    with _audit_log(ctx, "XB-PROS") as log:
        report = build_report(log, now=ctx.now)
    text = report.to_text()
    for line in text.splitlines():
        ctx.say(f"    {line}")
    ctx.check(
        SUBSCRIBER_RECORD["subscriber_name"] not in text and OTHER_PURPOSE in text,
        "the report shows the refused purpose and no record content",
    )


DEMO_STEPS: Final[tuple[DemoStep, ...]] = (
    DemoStep("Create the registry authority", _create_authority),
    *(_create_agency_step(spec) for spec in DEMO_AGENCIES),
    DemoStep("Build the registry draft with the agencies' keys and safeguards", _build_registry),
    DemoStep("Sign the registry (serial 1)", _sign_first),
    DemoStep("Verify the registry as a relying party", _verify_first),
    DemoStep("Resolve each agency's keys", _resolve_keys),
    DemoStep("Refuse a tampered or forged registry", _refuse_tampering),
    DemoStep("XA-NPOL seals subscriber information for XB-PROS", _seal_record),
    DemoStep("Refuse opening the envelope for a purpose it does not allow", _refuse_other_purpose),
    DemoStep("XB-PROS opens the envelope", _open_record),
    DemoStep("Refuse the same envelope opened twice (replay)", _refuse_envelope_replay),
    DemoStep("Refuse a tampered envelope", _refuse_tampered_envelope),
    DemoStep("Refuse an envelope forwarded surreptitiously to XC-CUST", _refuse_forwarding),
    DemoStep(
        "XA-NPOL minimizes a person-of-interest record for locate_suspect and seals it",
        _seal_person,
    ),
    DemoStep("XB-PROS opens it and sees only what the purpose allows", _open_person),
    DemoStep(
        "Refuse an onward transfer without the originator's consent",
        _refuse_forward_without_consent,
    ),
    DemoStep(
        "XA-NPOL consents; XB-PROS forwards name and city; XC-CUST verifies the chain",
        _forward_with_consent,
    ),
    DemoStep("A data subject's access request, answered through the blind index", _subject_lookup),
    DemoStep("Each agency signs a checkpoint of its audit log", _sign_checkpoints),
    DemoStep("XB-PROS returns a signed receipt; XA-NPOL verifies and records it", _receipt),
    DemoStep("An oversight body witnesses every checkpoint", _cosign),
    DemoStep("Refuse a forked or rolled-back checkpoint at the witness", _refuse_fork),
    DemoStep("Revoke a key and suspend an agency, sign and verify serial 2", _update_registry),
    DemoStep("Refuse an older registry after a newer one (rollback)", _refuse_rollback),
    DemoStep("Refuse a revoked key after its revocation time", _refuse_revoked_key),
    DemoStep(
        "Refuse a suspended agency, also as a recipient of a new envelope", _refuse_suspended_agency
    ),
    DemoStep("Verify every audit log and its checkpoints", _verify_logs),
    DemoStep("Oversight report of XB-PROS's audit log", _report),
)


def run_demo(
    workdir: Path,
    *,
    out: TextIO | None = None,
    now: datetime | None = None,
    steps: Sequence[DemoStep] | None = None,
) -> bool:
    """Run the demo *steps* in *workdir*; return True if every step behaved as expected.

    *out* receives the transcript (default: stdout). *now* defaults to the
    current time, read once. *steps* defaults to :data:`DEMO_STEPS`. A step that raises stops the demo, since later
    steps build on it; a refusal that does not happen is recorded and the
    demo goes on.
    """
    steps = DEMO_STEPS if steps is None else steps
    ctx = DemoContext(
        workdir=workdir,
        now=resolve_now(now).replace(microsecond=0),
        out=sys.stdout if out is None else out,
    )
    ctx.say(f"safeshare demo in {workdir}")
    ctx.say(f"fixed time of the demo: {rfc3339(ctx.now)}; all agencies are fictional")
    for number, step in enumerate(steps, 1):
        ctx.say()
        ctx.say(f"[{number}/{len(steps)}] {step.title}")
        try:
            step.run(ctx)
        except (SafeShareError, DemoStepError) as exc:
            ctx.problem(f"step {number} failed: {type(exc).__name__}: {exc}")
            break
    ctx.say()
    if ctx.problems:
        ctx.say(f"Demo FAILED: {len(ctx.problems)} thing(s) did not behave as expected:")
        for text in ctx.problems:
            ctx.say(f"  - {text}")
        return False
    ctx.say(f"Demo complete: all {len(steps)} steps behaved as expected.")
    return True


# -- the command ----------------------------------------------------------------------


def register(subparsers: Subparsers) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="show the trust registry's and the envelope's safeguards at work, step by step",
        description=(
            "Create a registry authority and three fictional agencies, build, sign and verify "
            "the trust registry and refuse a tampered copy; seal subscriber information from "
            "XA-NPOL to XB-PROS, refuse (and record) opening it for a purpose it does not "
            "allow, open it for its purpose, then show a replayed, a tampered and a "
            "surreptitiously forwarded envelope being refused; seal a person-of-interest record "
            "minimized by its schema, refuse its onward transfer without the originator's "
            "consent, forward part of it with consent and verify the chain at the third agency, "
            "and answer a data subject's access request through the blind index; sign, "
            "witness and verify every audit log; finally show rollback, a revoked key and a "
            "suspended agency being refused. Exits 0 only if every step behaves as expected."
        ),
    )
    parser.add_argument(
        "--keep",
        metavar="DIR",
        type=Path,
        help=(
            "work in DIR (a new or empty directory) and leave the files there (keys, "
            "registries, envelopes including the forwarded one, audit logs, replay caches, "
            "consent store and pseudonym vault); the key files are encrypted under random "
            "passphrases that are not stored"
        ),
    )
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    keep: Path | None = args.keep
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="safeshare-demo-") as tmp:
            ok = run_demo(Path(tmp))
    else:
        _check_empty(keep)
        ensure_directory(keep)
        ok = run_demo(keep)
        say(f"The demo files are in {keep}")
    return 0 if ok else 1


def _check_empty(directory: Path) -> None:
    try:
        if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
            raise UsageError(f"--keep {directory}: choose a new or empty directory")
    except OSError as exc:
        raise StorageError(f"could not read directory {directory}: {exc.strerror or exc}") from None
