"""Oversight of three agencies' audit logs: checkpoints, witnesses, tampering, the report.

Three agencies exchange data and each keeps a tamper-evident audit log.
An independent oversight body (Second Additional Protocol Art. 14(14)), the
Bordurian Commissioner for Data Protection, receives each agency's signed
checkpoints, checks each new one against the last by a consistency proof,
re-derives every log and checks it against its checkpoints, and reads XB-PROS's
access report. It runs a witness that cosigns checkpoints (C2SP
tlog-cosignature), together with a second witness run by the Arcadian Data
Protection Board. An insider at XB-PROS then tries to hide a refused access:
first by rewriting the log's history (the witnesses refuse the forked and the
inconsistent checkpoint and keep them as evidence), then by editing the
entry in place (re-deriving the log refuses it, and the edited entry has no
inclusion proof in the cosigned checkpoint). See README.md.

Run: ``python examples/oversight_verification/scenario.py``.
"""

from __future__ import annotations

import contextlib
import functools
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

import msgspec

from safeshare import _testnet
from safeshare._transcript import Transcript, run_scenario
from safeshare.audit import (
    AuditEntry,
    Checkpoint,
    NoteVerifier,
    Witness,
    build_report,
    leaf_hash,
    verify_checkpoint,
    verify_consistency,
    verify_cosigned,
    verify_inclusion,
)
from safeshare.audit.checkpoint import agency_log_origin
from safeshare.audit.entry import encode
from safeshare.audit.log import AuditLog
from safeshare.audit.recorder import AuditLogRecorder
from safeshare.envelope import OpenedEnvelope, open_envelope, seal
from safeshare.errors import AuditIntegrityError, VerificationError
from safeshare.keys import SigningKey, VerifyKey
from safeshare.purpose.conditions import HandlingConditions, Retention
from safeshare.storage import ReplayCache, open_store

NETWORK: Final = "examples.safeshare.example"
XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
XC: Final = "XC-CUST"
AGENCIES: Final = (XA, XB, XC)
ACTORS: Final = {
    XA: "XA-NPOL international desk, officer 0815",
    XB: "XB-PROS officer 4711",
    XC: "XC-CUST liaison officer 2203",
}
INSIDER: Final = "XB-PROS insider"
#: The oversight body of this scenario and the two witnesses (key names, C2SP style).
OVERSIGHT: Final = _testnet.AGENCIES[XB][2]
WITNESSES: Final = ("oversight.xb.example/witness", "oversight.xa.example/witness")
WITNESS_BODIES: Final = {
    WITNESSES[0]: OVERSIGHT,
    WITNESSES[1]: _testnet.AGENCIES[XA][2],
}
#: How many of the two witnesses a relying party requires on a checkpoint.
QUORUM: Final = 2
PURPOSE: Final = "criminal_investigation"
OTHER_PURPOSE: Final = "intelligence_analysis"
CASE: Final = "XA-2026-000123"
HANDLING: Final = HandlingConditions(tlp="AMBER", retention=Retention(max_days=1))
RECORD: Final = {"account": "lettings@flats-arcadia.example", "name": "Alex Example"}


def run(workdir: Path, now: datetime) -> list[str]:
    """Run the scenario in *workdir*; return what did not behave as expected."""
    with contextlib.ExitStack() as stack:
        return _run(stack, workdir, now)


def _run(stack: contextlib.ExitStack, workdir: Path, now: datetime) -> list[str]:
    t = Transcript()
    net = _testnet.build(now)
    logs = {
        agency: AuditLog(
            stack.enter_context(open_store(workdir / f"{agency}.audit.db")),
            origin=agency_log_origin(agency, network=NETWORK),
        )
        for agency in AGENCIES
    }
    replay = {
        agency: ReplayCache(stack.enter_context(open_store(workdir / f"{agency}.replay.db")))
        for agency in AGENCIES
    }
    witnesses = [
        Witness(
            stack.enter_context(open_store(workdir / f"witness-{i}.db")),
            name,
            SigningKey.generate(),
        )
        for i, name in enumerate(WITNESSES)
    ]
    t.say(f"Agencies: {', '.join(f'{a} ({_testnet.AGENCIES[a][0]})' for a in AGENCIES)}.")
    t.say(f"Oversight body: {OVERSIGHT}; witnesses:")
    for name, body in WITNESS_BODIES.items():
        t.say(f"  {name}, run by the {body}")
    t.say(f"Time of the scenario: {now.isoformat()}; every agency and person is fictional.")

    def registered_key(agency: str) -> VerifyKey:
        """The agency's signing key as the trust registry lists it (what oversight trusts)."""
        kid = next(k.kid for k in net.registry.agency(agency).keys if k.use == "sig")
        return net.registry.verify_key(agency, kid, at=now)

    verifiers = {
        agency: NoteVerifier(logs[agency].origin, registered_key(agency)) for agency in AGENCIES
    }
    #: The checkpoints the oversight body received and accepted, per agency, in order.
    received: dict[str, list[Checkpoint]] = {agency: [] for agency in AGENCIES}

    def transfer(sender: str, recipient: str, at: datetime) -> OpenedEnvelope | None:
        envelope = seal(
            RECORD,
            sender=net.keysets[sender],
            to=[recipient],
            registry=net.registry,
            purpose=PURPOSE,
            legal_basis="UNTOC.Art18",
            case_ref=CASE,
            message_type="disclosure_response",
            handling=HANDLING,
            now=at,
            recorder=AuditLogRecorder(logs[sender]),
            actor=ACTORS[sender],
        )
        t.say(f"  {sender} sealed data for {recipient}")
        return t.accept(
            f"{recipient} opens it for {PURPOSE}",
            functools.partial(
                open_envelope,
                envelope,
                recipient=net.keysets[recipient],
                registry=net.registry,
                replay=replay[recipient],
                purpose=PURPOSE,
                actor=ACTORS[recipient],
                recorder=AuditLogRecorder(logs[recipient]),
                now=at,
            ),
        )

    def checkpoint_round(at: datetime) -> None:
        """Each agency signs a checkpoint; oversight checks it; both witnesses cosign it."""
        for agency in AGENCIES:
            log = logs[agency]
            note = log.sign_checkpoint(None, net.keysets[agency].signing_key, now=at)
            cp = t.accept(
                f"{OVERSIGHT} verifies {agency}'s checkpoint with its registered key",
                functools.partial(verify_checkpoint, note, verifiers[agency]),
            )
            if cp is None:
                continue
            previous = received[agency][-1] if received[agency] else None
            proof = [] if previous is None else log.consistency_proof(previous.size, cp.size)
            if previous is not None:
                t.accept(
                    f"the {len(proof)}-hash consistency proof from size {previous.size} to "
                    f"{cp.size}: {agency}'s log only grew",
                    functools.partial(
                        verify_consistency,
                        previous.size,
                        cp.size,
                        proof,
                        previous.root_hash,
                        cp.root_hash,
                    ),
                )
            received[agency].append(cp)
            cosigned = note
            for witness in witnesses:
                line = t.accept(
                    f"{witness.name} cosigns {agency}'s checkpoint of size {cp.size}",
                    functools.partial(
                        witness.cosign, note, proof, log_verifier=verifiers[agency], now=at
                    ),
                )
                if line is not None:
                    cosigned += line
            t.accept(
                f"a relying party requiring {QUORUM} cosignatures accepts it",
                functools.partial(
                    verify_cosigned,
                    cosigned,
                    verifiers[agency],
                    [w.verifier for w in witnesses],
                    QUORUM,
                    now=at,
                ),
            )

    # -- 1 -------------------------------------------------------------------------------
    t.step("The agencies exchange data; one access is refused")
    t.say("  Safeguard: records of every access and refusal (Second Additional Protocol")
    t.say("  Art. 14(8)). XB-PROS's officer first tries to open data for an incompatible")
    t.say("  purpose (speciality, UNTOC Art. 18(19)): refused and recorded as a denial.")
    envelope = seal(
        RECORD,
        sender=net.keysets[XA],
        to=[XB],
        registry=net.registry,
        purpose=PURPOSE,
        legal_basis="BUDAPEST-2AP.Art7",
        case_ref=CASE,
        message_type="disclosure_response",
        handling=HANDLING,
        now=now,
        recorder=AuditLogRecorder(logs[XA]),
        actor=ACTORS[XA],
    )
    opening = functools.partial(
        open_envelope,
        envelope,
        recipient=net.keysets[XB],
        registry=net.registry,
        replay=replay[XB],
        actor=ACTORS[XB],
        recorder=AuditLogRecorder(logs[XB]),
        now=now,
    )
    t.refuse(
        f"{XB} opens XA-NPOL's data for {OTHER_PURPOSE}", lambda: opening(purpose=OTHER_PURPOSE)
    )
    denied_index = logs[XB].size() - 1
    t.accept(f"{XB} opens it for {PURPOSE}", lambda: opening(purpose=PURPOSE))
    transfer(XC, XB, now)
    for agency, log in logs.items():
        t.say(f"  {agency}'s log: {', '.join(e.action for _, e in log.entries())}")

    # -- 2 -------------------------------------------------------------------------------
    t.step("Each agency sends a signed checkpoint; oversight checks it; the witnesses cosign")
    t.say("  Safeguard: independent oversight (Second Additional Protocol Art. 14(14)). A")
    t.say("  checkpoint (C2SP tlog-checkpoint) commits the agency to its whole log; witnesses")
    t.say("  (C2SP tlog-cosignature) cosign it, so that nobody can later be shown another log.")
    checkpoint_round(now)

    # -- 3 -------------------------------------------------------------------------------
    later = now + timedelta(hours=1)
    t.step("More exchanges; the next checkpoints must extend the previous ones")
    t.say("  Safeguard: an RFC 9162 consistency proof shows that the log of the new checkpoint")
    t.say("  contains the old one unchanged. Oversight checks it; each witness checks it again")
    t.say("  against the last checkpoint it cosigned.")
    transfer(XB, XA, later)
    transfer(XB, XC, later)
    checkpoint_round(later)

    # -- 4 -------------------------------------------------------------------------------
    t.step("Oversight re-derives every log and checks it against its checkpoints")
    t.say("  Safeguard: Art. 14(14) oversight with powers of investigation: the oversight body")
    t.say("  reads each log, recomputes its Merkle tree from the entries and checks every")
    t.say("  checkpoint, the signed ones in the log and those it received itself.")
    for agency, log in logs.items():
        result = t.accept(
            f"{agency}'s log re-derived, its stored checkpoints checked with its key",
            functools.partial(log.verify_with_checkpoints, keys=[registered_key(agency)]),
        )
        if result is not None:
            t.say(
                f"    {result.size} entries, {result.checkpoints} checkpoints, "
                f"root {result.root_hash.hex()[:16]}..."
            )
        t.check(
            all(log.root(cp.size) == cp.root_hash for cp in received[agency]),
            f"{agency}'s log has the root of every checkpoint oversight received",
        )
    latest = received[XB][-1]
    proof = logs[XB].inclusion_proof(denied_index, latest.size)
    t.accept(
        f"the refused access (entry {denied_index}) is in XB-PROS's checkpoint of size "
        f"{latest.size} ({len(proof)}-hash inclusion proof)",
        functools.partial(
            verify_inclusion,
            logs[XB].leaf_hash(denied_index),
            denied_index,
            latest.size,
            proof,
            latest.root_hash,
        ),
    )

    # -- 5 -------------------------------------------------------------------------------
    t.step("Oversight reads XB-PROS's access report")
    t.say("  Safeguard: Art. 14(14): the report lists denials first, then the accesses by")
    t.say("  purpose, actor, counterparty, action and outcome; metadata only, no record content.")
    t.say("  It is computed from the entries it counts: their Merkle tree is recomputed and")
    t.say("  must have the root of the cosigned checkpoint that oversight passes to it.")
    report = build_report(logs[XB], checkpoint=latest, now=later)
    for line in report.to_text().splitlines():
        t.say(f"    {line}")
    t.check(
        (report.log_size, report.root_hash, report.checkpoint)
        == (latest.size, latest.root_hash, latest),
        "the report covers exactly the tree of the cosigned checkpoint",
    )
    t.check(
        [(d.index, d.purpose) for d in report.denied] == [(denied_index, OTHER_PURPOSE)],
        f"the report lists the refused open for {OTHER_PURPOSE}",
    )
    t.check(
        not any(value in report.to_text() for value in RECORD.values()),
        "the report shows no record content",
    )

    # -- 6 -------------------------------------------------------------------------------
    t.step("An insider rewrites XB-PROS's log without the denial: forked checkpoints")
    t.say("  The insider builds a new log of the same origin in which the refused access")
    t.say("  never happened, and signs checkpoints of it with XB-PROS's key. The witnesses")
    t.say("  refuse them (a fork: another root for a size already cosigned; an inconsistent")
    t.say("  extension) and keep both signed checkpoints as evidence of misbehaviour.")
    original = logs[XB]
    fake = AuditLog(
        stack.enter_context(open_store(workdir / f"{XB}.rewritten.audit.db")),
        origin=original.origin,
    )
    honest = original.entry(denied_index)
    fake.append_many(
        msgspec.structs.replace(
            entry,
            action="open",
            outcome="success",
            purpose=PURPOSE,
            reason="opened for the envelope's own purpose",
        )
        if index == denied_index
        else entry
        for index, entry in original.entries(0, latest.size)
    )
    t.check(
        fake.verify() == latest.size,
        "the rewritten log is a well-formed Merkle tree of its own (verify() passes)",
    )
    key = net.keysets[XB].signing_key
    forked = fake.sign_checkpoint(None, key, now=later)
    t.refuse(
        f"{WITNESSES[0]} cosigns the rewritten checkpoint of size {latest.size}",
        functools.partial(witnesses[0].cosign, forked, [], log_verifier=verifiers[XB], now=later),
        error=AuditIntegrityError,
    )
    fake.append(
        AuditEntry(
            action="checkpoint",
            time=int(later.timestamp()),
            actor=INSIDER,
            agency=XB,
            outcome="success",
            reason="routine checkpoint",
        )
    )
    extended = fake.sign_checkpoint(None, key, now=later)
    fake_proof = fake.consistency_proof(latest.size)
    t.refuse(
        f"{WITNESSES[1]} cosigns the rewritten checkpoint of size {latest.size + 1} with a "
        f"proof from size {latest.size}",
        functools.partial(
            witnesses[1].cosign, extended, fake_proof, log_verifier=verifiers[XB], now=later
        ),
        error=AuditIntegrityError,
    )
    fake_cp = verify_checkpoint(extended, verifiers[XB])
    t.refuse(
        f"{OVERSIGHT} checks the same proof against the checkpoint it received",
        functools.partial(
            verify_consistency,
            latest.size,
            fake_cp.size,
            fake_proof,
            latest.root_hash,
            fake_cp.root_hash,
        ),
        error=AuditIntegrityError,
    )
    t.refuse(
        f"a relying party requiring {QUORUM} cosignatures accepts the rewritten checkpoint",
        functools.partial(
            verify_cosigned,
            extended,
            verifiers[XB],
            [w.verifier for w in witnesses],
            QUORUM,
            now=later,
        ),
        error=VerificationError,
    )
    for witness in witnesses:
        kept = [(e.kind, e.submitted.size) for e in witness.evidence(original.origin)]
        t.say(f"  {witness.name} keeps as evidence: {kept}")
    t.check(
        [e.kind for w in witnesses for e in w.evidence(original.origin)]
        == ["fork", "inconsistent"],
        "the witnesses kept the fork and the inconsistent checkpoint as evidence",
    )

    # -- 7 -------------------------------------------------------------------------------
    t.step("The insider edits the denial in XB-PROS's own database instead")
    t.say("  The entry is rewritten as a successful open, with a matching leaf hash; the tree")
    t.say("  above it is left as it was. Re-deriving the log finds the entry that no longer")
    t.say("  fits, the edited entry cannot be proven in the cosigned checkpoint, and the access")
    t.say("  report, which recomputes the tree from the entries it counts, is not produced.")
    forged = msgspec.structs.replace(
        honest, action="open", outcome="success", purpose=PURPOSE, reason="opened"
    )
    data = encode(forged)
    with original.store.transaction(write=True) as cur:
        cur.execute(
            "UPDATE safeshare_audit_entries SET data = ?, leaf = ? WHERE idx = ?",
            (data, leaf_hash(data), denied_index),
        )
    t.say(f"  entry {denied_index} now reads: {forged.action} (its stored leaf hash matches)")
    t.refuse(
        f"reading the edited entry {denied_index} back from XB-PROS's log",
        functools.partial(original.entry, denied_index),
        error=AuditIntegrityError,
    )
    error = t.refuse(
        f"{OVERSIGHT} re-derives XB-PROS's log",
        functools.partial(original.verify_with_checkpoints, keys=[registered_key(XB)]),
        error=AuditIntegrityError,
    )
    t.check(
        error is not None and f"first bad index {denied_index}" in error.message,
        f"the refusal names the rewritten entry ({denied_index})",
    )
    t.refuse(
        f"proving the edited entry {denied_index} in the cosigned checkpoint of size {latest.size}",
        functools.partial(
            verify_inclusion, leaf_hash(data), denied_index, latest.size, proof, latest.root_hash
        ),
        error=AuditIntegrityError,
    )
    error = t.refuse(
        f"{OVERSIGHT} reads XB-PROS's access report again",
        functools.partial(build_report, original, checkpoint=latest, now=later),
        error=AuditIntegrityError,
    )
    t.check(
        error is not None and f"first bad index {denied_index}" in error.message,
        f"the report is refused, naming the rewritten entry ({denied_index}), instead of "
        "omitting the denial",
    )
    return t.failures


def main() -> int:
    """Run the scenario in a temporary directory; 0 if every step behaved as expected."""
    return run_scenario(run, name="oversight")


if __name__ == "__main__":
    raise SystemExit(main())
