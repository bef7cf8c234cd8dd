"""Minimization, domestic onward transfer via a central authority, re-identification, access.

XA-NPOL (National Police of Arcadia, the originator) sends a person-of-interest
record to XB-PROS (Office of the Public Prosecutor of Borduria, the central
authority) so that the suspect can be located. The record is minimized by
the disclosure plan of its schema for that purpose: criminal record, health
and ethnic origin never leave XA-NPOL, the passport number travels as a
pseudonym and the date of birth as a year. XB-PROS may pass part of it on to
XB-CYBER (Cybercrime Unit, National Police of Borduria, a domestic unit that
the registry authority registers for the scenario) only under XA-NPOL's
conditions (Second Additional Protocol Art. 14(9)), and those require XA-NPOL's
prior authorisation: refused without it, allowed with it for the name and the
last known city only. The grant names XB-CYBER, so passing the data to
XC-CUST (Carpanian Customs Service), in another State (Art. 14(10)), is still
refused. XB-CYBER verifies the whole chain and refuses a copy to which a
field was added after XB-PROS signed. Only XA-NPOL resolves the passport
pseudonym, for the agency it issued it to, in its case, for an allowed
purpose, and records it. Finally XA-NPOL's data protection officer answers
the person's access request through the blind index, and no store holds the
identifiers in clear. See README.md.

Run: ``python examples/onward_transfer_via_central_authority/scenario.py``.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from safeshare import _testnet
from safeshare._jose import jwe  # the tampering gateway's tool only (step 8); not the API
from safeshare._transcript import Transcript, run_scenario
from safeshare.audit.checkpoint import agency_log_origin
from safeshare.audit.entry import AuditEntry
from safeshare.audit.log import AuditLog
from safeshare.audit.recorder import AuditLogRecorder
from safeshare.envelope import (
    ENVELOPE_TYP,
    MAX_RECIPIENTS,
    SD_JWT_TYP,
    OpenedEnvelope,
    forward,
    open_envelope,
    seal,
)
from safeshare.errors import UsageError, VerificationError
from safeshare.keys import AgencyKeySet
from safeshare.messages import (
    DisclosureResponse,
    Message,
    ReidentificationRequest,
    ReplyContext,
    format_problems,
    inherit,
)
from safeshare.privacy.blind_index import SubjectIndex
from safeshare.privacy.plan import plan_for
from safeshare.privacy.pseudonyms import PseudonymVault, is_pseudonym
from safeshare.privacy.schemas import PersonOfInterest
from safeshare.purpose.conditions import HandlingConditions, Retention
from safeshare.purpose.consent import ConsentStore, issue_grant, record_grant_issued, verify_grant
from safeshare.purpose.transfer import check_transfer
from safeshare.registry import Agency, TrustRegistry
from safeshare.storage import ReplayCache, open_store

NETWORK: Final = "examples.safeshare.example"
XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
#: The domestic unit: in Borduria, like XB-PROS. Not in the shared test network
#: (_testnet.AGENCIES, which the test vectors use): the scenario registers it.
XCY: Final = "XB-CYBER"
CYBER_NAME: Final = "Cybercrime Unit, National Police of Borduria"
#: An authority of another State (Carpania): the contrast of Art. 14(10). It is in the
#: registry but receives nothing.
XC: Final = "XC-CUST"
#: The agencies of the test network, and the parties that keep stores.
NETWORK_AGENCIES: Final = (XA, XB, XC)
PARTIES: Final = (XA, XB, XCY)
ACTORS: Final = {
    XA: "XA-NPOL fugitive search unit, officer 0815",
    XB: "XB-PROS central authority, prosecutor 4711",
    XCY: "XB-CYBER online investigations desk, officer 3318",
}
DPO: Final = "XA-NPOL data protection officer"
PURPOSE: Final = "locate_suspect"
#: Law-enforcement cooperation: inquiries into the whereabouts of suspects (UNTOC Art. 27(1)(b)).
LEGAL_BASIS: Final = "UNTOC.Art27"
CASE: Final = "XA-2026-000417"
#: Onward transfer only with XA-NPOL's prior authorisation (the default), kept 30 days.
HANDLING: Final = HandlingConditions(tlp="AMBER", retention=Retention(max_days=30))
#: What XB-PROS may pass on to XB-CYBER: enough to match the person to the online
#: accounts and devices the unit traces.
SUBSET: Final = ("full_name", "last_known_address.city")
GRANT_CONDITION: Final = "XB-CYBER receives the name and the last known city only"

PASSPORT: Final = "PA4471902"
RECORD: Final[dict[str, Any]] = {
    "full_name": "Mira Testova",
    "aliases": ["M. T."],
    "date_of_birth": "1988-07-23",
    "nationality": "XA",
    "passport_number": PASSPORT,
    "last_known_address": {
        "street": "12 Harbour Lane",
        "postal_code": "AC-1010",
        "city": "Port Arcadia",
        "country": "XA",
    },
    "last_seen_location": [45.0812, 13.6387],
    "last_seen_at": "2026-11-27T22:40:00Z",
    "phone_numbers": ["+99 555 0171"],
    "physical_description": "about 1.70 m, short dark hair, scar on the left hand",
    "officer_safety_warning": True,
    "criminal_record_summary": "2021: smuggling of migrants, 3 years",
    "health_notes": "epileptic, carries medication",
    "ethnic_origin_notes": "recorded at the request of the subject",
}
#: The values of the fields the plan withholds for locate_suspect (special categories).
WITHHELD: Final = {
    "criminal_record_summary": "smuggling of migrants",
    "health_notes": "epileptic",
    "ethnic_origin_notes": "recorded at the request",
}
#: What must not be in any database file, in clear, at the end.
IDENTIFIERS: Final = {
    "passport number": PASSPORT,
    "name": "Mira Testova",
    "phone number": "555 0171",
    "date of birth": "1988-07-23",
    "street": "12 Harbour Lane",
}


def run(workdir: Path, now: datetime) -> list[str]:
    """Run the scenario in *workdir*; return what did not behave as expected."""
    with contextlib.ExitStack() as stack:
        return _run(stack, workdir, now)


def _decode(part: str) -> Any:
    """One base64url JSON part of an SD-JWT (a disclosure or a JWT payload)."""
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _revealed_text(presentation: str) -> str:
    """The signed payload and every disclosure of an SD-JWT presentation, decoded."""
    issuer_jwt, *disclosures = [p for p in presentation.split("~") if p]
    parts = [json.dumps(_decode(issuer_jwt.split(".")[1]))]
    parts += [json.dumps(_decode(d)) for d in disclosures]
    return "\n".join(parts)


def _disclosure_named(presentation: str, name: str) -> str:
    """The disclosure of record member *name* in *presentation*."""
    for part in presentation.split("~")[1:]:
        if part and _decode(part)[1:2] == [name]:
            return part
    raise UsageError(f"no disclosure of {name!r} in the presentation")


def _add_disclosure_after_binding(
    envelope: bytes, extra: str, recipient: AgencyKeySet, registry: TrustRegistry, now: datetime
) -> bytes:
    """*envelope* with the disclosure *extra* inserted before its key binding, re-sealed.

    This plays a compromised forwarding gateway at XB-PROS that appends a
    disclosure to the token after XB-PROS signed its key binding and before
    encryption. Simulating it needs the JOSE codec (any JOSE library would
    do): the scenario decrypts with the recipient's key only to build the
    tampered copy.
    """
    parsed = jwe.parse(
        json.loads(envelope), typ=ENVELOPE_TYP, cty=SD_JWT_TYP, max_recipients=MAX_RECIPIENTS
    )
    token, _ = jwe.decrypt(parsed, recipient.decryption_keys)
    head, _, kb_jwt = token.decode("ascii").rpartition("~")
    tampered = f"{head}~{extra}~{kb_jwt}".encode("ascii")
    key = registry.encryption_key(recipient.agency, at=now)
    sealed = jwe.encrypt(tampered, [key], typ=ENVELOPE_TYP, cty=SD_JWT_TYP)
    return json.dumps(sealed, separators=(",", ":")).encode("ascii")


def _domestic_unit(keys: AgencyKeySet, now: datetime) -> Agency:
    """XB-CYBER's registry entry: a Bordurian authority, registered (keys valid) from *now*.

    Its declared safeguards meet XA-NPOL's conditions (the transfer check): it keeps data
    at most 30 days (the conditions' retention), passes nothing on (``never``), takes no
    solely automated decisions, notifies breaches and accepts the network's instruments,
    under the Bordurian data protection authority.
    """
    _, jurisdiction, oversight = _testnet.AGENCIES[XB]
    entry = _testnet.agency_entry(
        keys,
        not_before=now,
        max_retention_days=HANDLING.retention.max_days,
        onward_transfer="never",
        safeguards={"oversight_body": oversight},
    )
    return Agency.model_validate(
        entry.model_dump() | {"name": CYBER_NAME, "jurisdiction": jurisdiction}
    )


def _files(workdir: Path) -> Iterator[Path]:
    """Every file the scenario's stores wrote (SQLite databases, WAL and lock files)."""
    return (p for p in sorted(workdir.iterdir()) if p.is_file())


def _run(stack: contextlib.ExitStack, workdir: Path, now: datetime) -> list[str]:
    t = Transcript()
    # The central authority declares that it passes data on only with the
    # originator's prior authorisation (the test network's default is "never").
    net = _testnet.build(
        now,
        agencies=NETWORK_AGENCIES,
        safeguards={XB: {"onward_transfer": "with_prior_authorisation"}},
    )
    logs = {
        agency: AuditLog(
            stack.enter_context(open_store(workdir / f"{agency}.audit.db")),
            origin=agency_log_origin(agency, network=NETWORK),
        )
        for agency in PARTIES
    }
    recorders = {agency: AuditLogRecorder(log) for agency, log in logs.items()}
    replay = {
        agency: ReplayCache(stack.enter_context(open_store(workdir / f"{agency}.replay.db")))
        for agency in PARTIES
    }
    vault = PseudonymVault(stack.enter_context(open_store(workdir / f"{XA}.vault.db")))
    consents = ConsentStore(stack.enter_context(open_store(workdir / f"{XB}.consent.db")))
    t.say(f"Parties: {XA} ({_testnet.AGENCIES[XA][0]}), the originator;")
    t.say(f"         {XB} ({_testnet.AGENCIES[XB][0]}), the central authority;")
    t.say(f"         {XCY} ({CYBER_NAME}), the domestic unit in Borduria;")
    t.say(f"         {XC} ({_testnet.AGENCIES[XC][0]}), an authority of another State.")
    t.say(f"Time of the scenario: {now.isoformat()}; every agency and person is fictional.")

    # -- registration of the domestic unit (before step 1) ---------------------------------
    t.say()
    t.say(f"Before the transfer, the registry authority adds {XCY} to the trust registry")
    t.say(f"(serial {net.document.serial} lists {', '.join(NETWORK_AGENCIES)}): its public keys,")
    t.say("valid from today, and the safeguards it declares. Every party verifies the new")
    t.say("signed version against the pinned authority key and uses it from then on.")
    cyber_keys = _testnet.keyset(XCY)
    cyber_entry = _domestic_unit(cyber_keys, now)
    declared = cyber_entry.safeguards
    t.say(
        f"  {XCY} ({cyber_entry.jurisdiction}) declares: data kept at most "
        f"{declared.max_retention_days} days; onward transfer: {declared.onward_transfer}; "
        + ("no solely automated decisions; " if declared.no_solely_automated_decisions else "")
        + f"breach notification within {declared.breach_notification_hours} h; "
        f"oversight: {declared.oversight_body}"
    )
    resigned = t.accept(
        f"the registry authority signs the next version with {XCY}",
        lambda: net.resign(net.document.with_agency(cyber_entry)),
    )
    if resigned is None:
        return t.failures
    # resign() keeps the network's key sets: add the new unit's (the registry holds only
    # its public keys).
    net = dataclasses.replace(resigned, keysets={**resigned.keysets, XCY: cyber_keys})
    keys = net.keysets
    signed, authority = net.signed, net.authority.public
    registries = t.accept(
        f"{', '.join(PARTIES)} each verify serial {net.document.serial} and load it",
        lambda: {
            agency: TrustRegistry.from_signed(signed, authority, now=now) for agency in PARTIES
        },
    )
    if registries is None:
        return t.failures
    t.check(
        all(
            r.serial == net.document.serial == 2
            and r.agency(XCY).country == r.agency(XB).country == "XB"
            for r in registries.values()
        ),
        f"every party's registry (serial 2) lists {XCY} in Borduria (XB), {XB}'s own country",
    )
    mismatches = check_transfer(registries[XB], [XCY], HANDLING, now=now, legal_basis=LEGAL_BASIS)
    for mismatch in mismatches:
        t.say(f"    {mismatch}")
    t.check(
        not mismatches,
        f"{XCY}'s declared safeguards meet XA-NPOL's conditions (transfer check: no mismatch)",
    )

    def last(agency: str) -> AuditEntry:
        return logs[agency].entry(logs[agency].size() - 1)

    def show(agency: str) -> str:
        e = last(agency)
        return (
            f"{agency}'s audit log: {e.action}/{e.outcome} by {e.actor}"
            + (f", purpose {e.purpose}" if e.purpose else "")
            + (f", with {e.counterparty}" if e.counterparty else "")
        )

    def open_as(agency: str, envelope: bytes, purpose: str = PURPOSE) -> OpenedEnvelope:
        return open_envelope(
            envelope,
            recipient=keys[agency],
            registry=registries[agency],
            replay=replay[agency],
            purpose=purpose,
            actor=ACTORS[agency],
            recorder=recorders[agency],
            now=now,
        )

    def send(message: Message, sender: str, to: str, context: ReplyContext) -> bytes | None:
        problems = message.validate(request=context, now=now)
        if problems:
            t.say(format_problems(problems, title=f"The {message.title.lower()}"))
        t.check(not problems, f"the {message.title.lower()} is complete (validate() found nothing)")
        return t.accept(
            f"{sender} seals the {message.title.lower()} for {to}",
            lambda: seal(
                **message.seal_arguments(),
                sender=keys[sender],
                to=[to],
                registry=registries[sender],
                recorder=recorders[sender],
                actor=ACTORS[sender],
                now=now,
            ),
        )

    # -- 1 ---------------------------------------------------------------------------------
    t.step("XA-NPOL's disclosure plan for a person of interest, purpose locate_suspect")
    t.say("  Safeguard: purpose limitation and data minimisation (Second Additional Protocol")
    t.say("  Art. 14(2)): only what locating the person needs; special categories (Art. 14(4))")
    t.say("  withheld. The plan is decided field by field by the record schema.")
    plan = plan_for(PersonOfInterest, PURPOSE)
    for line in plan.explain().splitlines():
        t.say(f"    {line}")
    withheld = {d.field for d in plan.decisions if d.action == "withhold"}
    t.check(
        withheld == set(WITHHELD),
        "criminal record, health and ethnic origin are withheld: " + ", ".join(sorted(withheld)),
    )
    t.check(
        plan.decision("passport_number").action == "pseudonymize"
        and plan.decision("date_of_birth").shown_action == "generalize (year)",
        "the passport number is pseudonymized and the date of birth generalized to the year",
    )
    t.say("  For prevent_imminent_threat the plan would disclose the health notes; the seal")
    t.say("  is refused unless the handling conditions declare that special category.")
    t.refuse(
        "XA-NPOL seals the record for prevent_imminent_threat without declaring health data",
        lambda: seal(
            RECORD,
            schema=PersonOfInterest,
            sender=keys[XA],
            to=[XB],
            registry=registries[XA],
            purpose="prevent_imminent_threat",
            legal_basis=LEGAL_BASIS,
            case_ref=CASE,
            message_type="spontaneous_information",
            handling=HANDLING,
            now=now,
        ),
        error=UsageError,
    )

    # -- 2 ---------------------------------------------------------------------------------
    t.step("XA-NPOL seals the record by its schema for the central authority XB-PROS")
    t.say("  Withheld fields travel only as undisclosed salted digests; the passport pseudonym")
    t.say("  is recorded, encrypted, in XA-NPOL's pseudonym vault; the seal entry carries")
    t.say("  blind-index tokens of the person's identifiers, never the identifiers.")
    envelope = t.accept(
        f"{XA} seals the person-of-interest record for {XB}, purpose {PURPOSE}",
        lambda: seal(
            RECORD,
            schema=PersonOfInterest,
            vault=vault,
            sender=keys[XA],
            to=[XB],
            registry=registries[XA],
            purpose=PURPOSE,
            legal_basis=LEGAL_BASIS,
            case_ref=CASE,
            message_type="spontaneous_information",
            handling=HANDLING,
            recorder=recorders[XA],
            actor=ACTORS[XA],
            pad=True,
            now=now,
        ),
    )
    if envelope is None:
        return t.failures
    sealed = last(XA)
    t.say(f"  {show(XA)}, {len(sealed.subjects)} blind-index token(s)")
    t.check(
        sealed.action == "seal" and len(sealed.subjects) == 3,
        "the seal is recorded with the tokens of the passport, the phone and name + birth date",
    )

    # -- 3 ---------------------------------------------------------------------------------
    t.step("The central authority XB-PROS opens it for locate_suspect")
    t.say("  Safeguard: speciality (UNTOC Art. 18(19); Second Additional Protocol Art. 14(2)).")
    at_xb = t.accept(f"{XB} opens the envelope for {PURPOSE}", lambda: open_as(XB, envelope))
    if at_xb is None:
        return t.failures
    t.say(f"  {show(XB)}")
    record = at_xb.verified_claims()["record"]
    for name in sorted(record):
        t.say(f"    {name}: {json.dumps(record[name])}")
    seen = _revealed_text(at_xb.presentation)
    t.check(
        not set(WITHHELD) & set(record)
        and not any(text in seen for text in WITHHELD.values())
        and "criminal_record_summary" not in seen,
        "no withheld field, name or value is in what XB-PROS decrypted (only salted digests)",
    )
    pseudonym = record.get("passport_number")
    t.check(
        is_pseudonym(pseudonym) and PASSPORT not in seen,
        f"the passport number arrived as the pseudonym {pseudonym}",
    )
    t.check(record.get("date_of_birth") == "1988", "the date of birth arrived as the year 1988")

    # -- 4 ---------------------------------------------------------------------------------
    t.step("XB-PROS tries to pass it on to XB-CYBER, in Borduria, without XA-NPOL's consent")
    t.say("  Safeguard: onward sharing within a Party (Second Additional Protocol Art. 14(9)):")
    t.say("  another Bordurian authority that receives the data must process it as Art. 14")
    t.say("  requires, so only under the conditions of the transferring authority (and the")
    t.say("  speciality rule, UNTOC Art. 18(19)). The conditions XA-NPOL signed say")
    t.say("  onward_transfer: with_prior_authorisation: even this domestic hop needs its consent.")

    def forward_to(target: str) -> bytes:
        return forward(
            at_xb,
            sender=keys[XB],
            to=target,
            registry=registries[XB],
            disclose=list(SUBSET),
            actor=ACTORS[XB],
            recorder=recorders[XB],
            consents=consents,
            now=now,
        )

    t.refuse(f"{XB} forwards the name and last known city to {XCY}", lambda: forward_to(XCY))
    t.say(f"  {show(XB)}")
    denied = last(XB)
    t.check(
        denied.action == "deny" and denied.counterparty == XCY,
        "the refused onward transfer is recorded as a denial in XB-PROS's audit log",
    )

    # -- 5 ---------------------------------------------------------------------------------
    t.step("XA-NPOL authorises the onward transfer to XB-CYBER; XB-PROS records the grant")
    t.say("  XA-NPOL finds the envelope in its own audit log (the seal entry names its jti and")
    t.say("  digest) and signs a consent grant bound to that envelope, to XB-PROS as the holder")
    t.say("  and to XB-CYBER as the only onward recipient.")
    token = issue_grant(
        originator=keys[XA],
        holder=XB,
        envelope_jti=str(sealed.jti),
        envelope_digest=str(sealed.envelope_digest),
        scope="onward_transfer",
        onward_recipient=XCY,
        conditions=[GRANT_CONDITION],
        valid_for=timedelta(days=7),
        now=now,
    )
    issued = t.accept(
        f"{XA} records the grant it hands out",
        lambda: record_grant_issued(
            recorders[XA],
            verify_grant(token, registry=registries[XA], now=now),
            actor=ACTORS[XA],
            now=now,
        ),
    )
    if issued is not None:
        t.say(f"  {show(XA)}")
    grant = t.accept(
        f"{XB} verifies and records {XA}'s signed consent grant",
        lambda: consents.add(
            token, registry=registries[XB], now=now, recorder=recorders[XB], actor=ACTORS[XB]
        ),
    )
    if grant is None:
        return t.failures
    t.say(f"  grant {grant.grant_id}: {grant.describe()}; condition: {grant.conditions[0]}")

    # -- 6 ---------------------------------------------------------------------------------
    t.step("XB-PROS forwards the name and the last known city to XB-CYBER, and nothing else")
    t.say("  The forward is an SD-JWT presentation of XA-NPOL's signed token with only those")
    t.say("  disclosures, and a key-binding JWT signed with the key XA-NPOL bound to XB-PROS")
    t.say("  (RFC 9901), carrying the consent grant; the rest stays undisclosed digests.")
    forwarded = t.accept(f"{XB} forwards {', '.join(SUBSET)} to {XCY}", lambda: forward_to(XCY))
    if forwarded is None:
        return t.failures
    t.say(f"  {show(XB)}")
    t.check(last(XB).action == "forward", "the onward transfer is recorded before it leaves")
    t.say(f"  The grant names {XCY} only. Passing the same data to {XC}, in Carpania, would be")
    t.say("  a transfer to another State, which Second Additional Protocol Art. 14(10) allows")
    t.say("  only with XA-NPOL's prior authorisation of that transfer; there is none:")
    t.refuse(
        f"{XB} forwards the name and last known city to {XC} under the grant for {XCY}",
        lambda: forward_to(XC),
    )
    abroad = last(XB)
    t.check(
        abroad.action == "deny" and abroad.counterparty == XC,
        "the refused transfer abroad is recorded as a denial in XB-PROS's audit log",
    )

    # -- 7 ---------------------------------------------------------------------------------
    t.step("XB-CYBER verifies the whole chain and sees only the subset")
    t.say("  XB-CYBER checks XA-NPOL's signature, XB-PROS's key binding (the bound key, the")
    t.say("  audience, the disclosures it covers) and XA-NPOL's consent for exactly this")
    t.say("  transfer, then opens for locate_suspect.")
    at_cy = t.accept(
        f"{XCY} opens the forwarded envelope for {PURPOSE}", lambda: open_as(XCY, forwarded)
    )
    if at_cy is None:
        return t.failures
    t.say(f"  {show(XCY)}")
    received = at_cy.verified_claims()["record"]
    t.say(f"    record: {json.dumps(received)}")
    t.check(
        received == {"full_name": "Mira Testova", "last_known_address": {"city": "Port Arcadia"}},
        "XB-CYBER sees the name and the city only",
    )
    hops = [(h.forwarder, h.recipient, h.consent_id) for h in at_cy.provenance]
    t.say(
        f"    provenance: originator {at_cy.issuer}, purpose {at_cy.purpose}, case "
        f"{at_cy.case_ref}; hops {[(f, r) for f, r, _ in hops]}"
    )
    t.check(
        at_cy.issuer == XA and hops == [(XB, XCY, grant.grant_id)],
        f"the data comes from {XA} through {XB} under consent grant {grant.grant_id}",
    )
    t.check(
        pseudonym not in _revealed_text(at_cy.presentation)
        and "Harbour Lane" not in _revealed_text(at_cy.presentation),
        "neither the passport pseudonym nor the street reached XB-CYBER",
    )

    # -- 8 ---------------------------------------------------------------------------------
    t.step("XB-CYBER refuses a forward to which a field was added after the key binding")
    t.say("  A compromised gateway at XB-PROS appends the street's disclosure (which XB-PROS")
    t.say("  holds, signed by XA-NPOL) after XB-PROS signed the key binding. The key binding")
    t.say("  covers the exact disclosures sent (sd_hash, RFC 9901), so the copy is refused.")
    street = _disclosure_named(at_xb.presentation, "street")
    tampered = _add_disclosure_after_binding(forwarded, street, keys[XCY], registries[XB], now)
    error = t.refuse(
        f"{XCY} opens the forwarded envelope with the street added",
        lambda: open_as(XCY, tampered),
        error=VerificationError,
    )
    t.check(
        error is not None and "sd_hash" in error.message,
        "the refusal says the key binding does not cover the disclosures received",
    )

    # -- 9 ---------------------------------------------------------------------------------
    t.step("Re-identification of the passport pseudonym: only by XA-NPOL, only for XB-PROS")
    t.say("  Safeguard: pseudonyms are keyed per (originator, recipient, case); only the")
    t.say("  originator resolves one, for the agency it was issued to, in its case, for a")
    t.say("  purpose the envelope allows (speciality), recording each decision first.")
    t.say(f"  {XCY} needs the passport number to match the person to the accounts she opened")
    t.say(f"  online. It holds no pseudonym; suppose {XB} read it out to {XCY} on the phone")
    t.say(f"  and {XCY} asks {XA} directly:")

    def request_from(agency: str, opened: OpenedEnvelope) -> bytes | None:
        context = inherit(opened)
        request = context.reply(
            ReidentificationRequest,
            pseudonyms=(str(pseudonym),),
            requested_purpose=PURPOSE,
            justification=(
                "The passport number is needed to match the person to her accounts with "
                "online services."
            ),
        )
        return send(request, agency, XA, context)

    def resolve(requester: str, *, case_ref: str = CASE, purpose: str = PURPOSE) -> Any:
        return vault.resolve(
            keys[XA].privacy_secret,
            str(pseudonym),
            requester=requester,
            case_ref=case_ref,
            purpose=purpose,
            actor=ACTORS[XA],
            recorder=recorders[XA],
            now=now,
        )

    from_cy = request_from(XCY, at_cy)
    if from_cy is None:
        return t.failures
    opened_cy_request = t.accept(f"{XA} opens {XCY}'s request", lambda: open_as(XA, from_cy))
    if opened_cy_request is not None:
        t.refuse(
            f"{XA} resolves the pseudonym for {XCY}",
            lambda: resolve(opened_cy_request.issuer, case_ref=opened_cy_request.case_ref),
        )
        t.say(f"  {show(XA)}")
        t.check(last(XA).outcome == "denied", "the refusal is recorded as denied")
    t.say(f"  The vault refuses on its own, whatever a request says: {XB}, in another case, or")
    t.say("  for a purpose locate_suspect does not allow:")
    t.refuse(
        f"{XA} resolves it for {XB} in case XA-2026-000999",
        lambda: resolve(XB, case_ref="XA-2026-000999"),
    )
    t.refuse(
        f"{XA} resolves it for {XB} for intelligence_analysis",
        lambda: resolve(XB, purpose="intelligence_analysis"),
    )
    t.say(f"  So {XB}, to which the pseudonym was issued, asks {XA} on {XCY}'s behalf:")
    from_xb = request_from(XB, at_xb)
    if from_xb is None:
        return t.failures
    opened_request = t.accept(f"{XA} opens {XB}'s request", lambda: open_as(XA, from_xb))
    if opened_request is None:
        return t.failures
    request = ReidentificationRequest.from_envelope(opened_request)
    original = request.original
    value = t.accept(
        f"{XA} resolves the pseudonym for {XB}, case {CASE}, purpose {request.requested_purpose}",
        lambda: vault.resolve(
            keys[XA].privacy_secret,
            request.pseudonyms[0],
            requester=opened_request.issuer,
            case_ref=opened_request.case_ref,
            purpose=str(request.requested_purpose),
            jti=None if original is None else original.jti,
            actor=ACTORS[XA],
            recorder=recorders[XA],
            now=now,
        ),
    )
    t.say(f"  {show(XA)}")
    resolution = last(XA)
    t.check(
        value == PASSPORT
        and resolution.action == "reidentify"
        and resolution.outcome == "success"
        and PASSPORT not in (resolution.reason or ""),
        "the pseudonym resolves to the passport number; the entry names the pseudonym only",
    )
    context = inherit(opened_request)
    answer = context.reply(
        DisclosureResponse,
        outcome="disclosed",
        data_category="subscriber",
        records=({"pseudonym": str(pseudonym), "passport_number": str(value)},),
    )
    answer_envelope = send(answer, XA, XB, context)
    if answer_envelope is not None:
        opened_answer = t.accept(f"{XB} opens the answer", lambda: open_as(XB, answer_envelope))
        if opened_answer is not None:
            t.check(
                opened_answer.record["records"][0]["passport_number"] == PASSPORT,
                f"{XB} has the passport number; passing it to {XCY} is another onward "
                "transfer, needing another grant",
            )

    # -- 10 --------------------------------------------------------------------------------
    t.step("XA-NPOL's data protection officer answers the person's access request")
    t.say("  Safeguard: access by the data subject (Second Additional Protocol Art. 14(12)).")
    t.say("  Mira Testova asks what XA-NPOL shared about her. The officer turns her passport")
    t.say("  number, and her name with her date of birth, into blind-index tokens with XA-NPOL's")
    t.say("  privacy secret and looks them up in the audit log; the lookup is recorded first.")
    index = SubjectIndex()
    dpo_recorder = recorders[XA]

    def lookup(kind: str, identifier: str, purpose: str) -> list[tuple[int, AuditEntry]]:
        return index.lookup(
            logs[XA],
            keys[XA].privacy_secret,
            kind,
            identifier,
            actor=DPO,
            recorder=dpo_recorder,
            purpose=purpose,
            reason="access request AR-2026-0031",
            include_lookups=True,  # she is told of the refused search for her passport too
            now=now,
        )

    t.refuse(
        "an investigator uses the blind index to search for the passport number",
        lambda: lookup("passport", PASSPORT, "criminal_investigation"),
    )
    t.say(f"  {show(XA)}")
    by_passport = t.accept(
        "the officer looks up the passport number",
        lambda: lookup("passport", PASSPORT, "data_protection_compliance"),
    )
    by_name = t.accept(
        "the officer looks up the name and date of birth",
        lambda: lookup("name_dob", "Mira Testova|1988-07-23", "data_protection_compliance"),
    )
    if by_passport is not None and by_name is not None:
        t.say("  What the officer finds, and tells her (recipient, purpose, date):")
        for i, entry in by_passport:
            when = datetime.fromtimestamp(entry.time, now.tzinfo).isoformat()
            t.say(
                f"    entry {i}: {when} {entry.action}/{entry.outcome}, purpose {entry.purpose}"
                + (f", to {entry.counterparty}" if entry.counterparty else "")
            )
        transfers = [(e.action, e.counterparty, e.purpose) for _, e in by_passport]
        t.check(
            transfers
            == [("seal", XB, PURPOSE), ("subject_lookup", None, "criminal_investigation")],
            "the passport finds the transfer to XB-PROS for locate_suspect, and the refused search",
        )
        t.check(
            [(e.action, e.counterparty) for _, e in by_name] == [("seal", XB)],
            "her name and date of birth find the same transfer",
        )
    t.say("  No store holds her identifiers in clear: every file the agencies' stores wrote")
    t.say("  (audit logs, replay caches, consent store, pseudonym vault, with their WAL files)")
    t.say(f"  is searched, byte for byte, for her {', '.join(IDENTIFIERS)}.")
    files = {path.name: path.read_bytes() for path in _files(workdir)}
    databases = sorted(name for name in files if name.endswith(".db"))
    t.say(f"    {len(files)} files of {len(databases)} databases: {', '.join(databases)}")
    found = [
        f"{label} in {name}"
        for name, data in files.items()
        for label, text in IDENTIFIERS.items()
        if text.encode("utf-8") in data
    ]
    t.check(not found, "none of them occurs in clear" + (f" (found {found})" if found else ""))
    t.check(
        any(str(pseudonym).encode("ascii") in files[name] for name in files if ".vault." in name),
        "the same search finds the pseudonym, which the vault keeps in clear beside the "
        "encrypted value",
    )

    # -- 11 --------------------------------------------------------------------------------
    t.step("The audit logs, re-derived")
    t.say("  Safeguard: records of how the data was accessed, used and disclosed (Second")
    t.say("  Additional Protocol Art. 14(8)), in tamper-evident logs (RFC 9162).")
    expected: Mapping[str, list[str]] = {
        XA: [
            "seal",
            "consent_grant",
            "open",
            "reidentify",
            "reidentify",
            "reidentify",
            "open",
            "reidentify",
            "seal",
            "subject_lookup",
            "subject_lookup",
            "subject_lookup",
        ],
        XB: ["open", "deny", "consent_grant", "forward", "deny", "seal", "open"],
        XCY: ["receive_forward", "seal"],
    }
    for agency, log in logs.items():
        actions = [entry.action for _, entry in log.entries()]
        t.say(f"  {agency}: {', '.join(actions)}")
        size = t.accept(f"{agency}'s log re-derived from its entries", log.verify)
        t.check(
            actions == expected[agency] and size == len(actions),
            f"{agency}'s log holds every step, refusals included, in order",
        )
    return t.failures


def main() -> int:
    """Run the scenario in a temporary directory; 0 if every step behaved as expected."""
    return run_scenario(run, name="onward")


if __name__ == "__main__":
    raise SystemExit(main())
