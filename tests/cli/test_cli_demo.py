"""``safeshare demo`` and :func:`safeshare.cli.demo.run_demo`."""

from __future__ import annotations

import io
import itertools
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from safeshare.audit.entry import AuditEntry
from safeshare.audit.log import AuditLog
from safeshare.cli import demo
from safeshare.cli.demo import (
    DEMO_STEPS,
    ENVELOPE_CASE_REF,
    PERSON_CASE_REF,
    PERSON_RECORD,
    SUBSCRIBER_RECORD,
    DemoContext,
    DemoStep,
    run_demo,
)
from safeshare.errors import UnknownAgencyError, VerificationError
from safeshare.privacy.blind_index import SubjectIndex
from safeshare.storage import ReplayCache, Store, open_store

if TYPE_CHECKING:
    from tests.cli.conftest import Cli

EXPECTED_REFUSALS = (
    "refused as expected: KeyFileError: ",
    "refused as expected: VerificationError: ",  # tampered or forged
    "refused as expected: RegistryRollbackError: ",
    "refused as expected: KeyRevokedError: ",
    "refused as expected: AgencySuspendedError: ",
    # the envelope steps
    "refused as expected: ReplayError: this envelope was already opened",
    "refused as expected: DecryptionError: the envelope does not decrypt with our key",
    "refused as expected: VerificationError: this envelope is not addressed to XC-CUST",
    # minimization, onward transfer, data-subject lookup
    "refused as expected: PolicyError: onward transfer of the data of envelope",
    "refused as expected: PolicyError: a data-subject lookup is made only for the purpose "
    "data_protection_compliance",
)


def check_envelope_steps(transcript: str) -> None:
    """The envelope part of a transcript: sealed, opened, and each refusal in its place."""
    lines = transcript.splitlines()
    assert "  accepted: XA-NPOL seals the subscriber information for XB-PROS" in lines
    assert "  ok: none of them occurs: purpose, case and record are only in the ciphertext" in lines
    assert "  accepted: XB-PROS opens the envelope" in lines
    assert f"    msisdn: {SUBSCRIBER_RECORD['msisdn']}" in lines
    assert f"    subscriber_name: {SUBSCRIBER_RECORD['subscriber_name']}" in lines
    assert any(line.startswith(f"  case {ENVELOPE_CASE_REF}, TLP AMBER") for line in lines)
    assert "  ok: XC-CUST can decrypt it, and XA-NPOL's signed token is unchanged" in lines
    for attempt, refusal in (
        ("  trying: XB-PROS opens the same envelope again", "ReplayError"),
        ("  trying: XC-CUST opens the forwarded envelope", "VerificationError"),
        ("  trying: XC-CUST seals spontaneous information for XB-PROS at ", "AgencySuspendedError"),
    ):
        (index,) = [i for i, line in enumerate(lines) if line.startswith(attempt)]
        assert lines[index + 1].startswith(f"  refused as expected: {refusal}: "), lines[index + 1]
    (tampered,) = [i for i, line in enumerate(lines) if "tampered.json (ciphertext" in line]
    assert lines[tampered + 1].startswith("  refused as expected: DecryptionError: ")


def test_demo_command_succeeds_and_shows_the_refusals(cli: Cli) -> None:
    result = cli("demo")
    assert result.code == 0, result.out + result.err
    assert result.err == ""
    for refusal in EXPECTED_REFUSALS:
        assert refusal in result.out
    assert "XA-NPOL" in result.out
    assert "XB-PROS" in result.out
    assert "XC-CUST" in result.out
    assert "MISBEHAVED" not in result.out
    assert result.out.rstrip().endswith(f"all {len(DEMO_STEPS)} steps behaved as expected.")
    check_envelope_steps(result.out)


def test_keep_leaves_the_files_which_the_cli_can_verify(cli: Cli, tmp_path: Path) -> None:
    keep = tmp_path / "demo"
    result = cli("demo", "--keep", keep)
    assert result.code == 0, result.out
    for name in (
        "authority.keys.json",
        "authority.jwks.json",
        "XA-NPOL.keys.json",
        "XB-PROS.jwks.json",
        "registry.draft.json",
        "registry-1.signed.json",
        "registry-2.signed.json",
        "relying-party.state.json",
        "XC-CUST.keys.json",
        "envelope-XA-NPOL-to-XB-PROS.json",
        "envelope-XA-NPOL-to-XB-PROS.tampered.json",
        "envelope-XA-NPOL-to-XB-PROS.forwarded-to-XC-CUST.json",
        "XB-PROS.replay.db",
        "XC-CUST.replay.db",
        "XA-NPOL.vault.db",
        "XB-PROS.consent.db",
        "envelope-person-of-interest-XA-NPOL-to-XB-PROS.json",
        "envelope-person-of-interest-forwarded-XB-PROS-to-XC-CUST.json",
    ):
        assert (keep / name).is_file(), name
    envelope = (keep / "envelope-XA-NPOL-to-XB-PROS.json").read_bytes()
    assert json.loads(envelope)["recipients"]
    for text in (ENVELOPE_CASE_REF, *SUBSCRIBER_RECORD.values()):
        assert text.encode() not in envelope
    # The forwarded envelope is encrypted to XC-CUST alone; the vault holds the passport
    # pseudonym the transcript showed, never the passport number.
    forwarded = (
        keep / "envelope-person-of-interest-forwarded-XB-PROS-to-XC-CUST.json"
    ).read_bytes()
    assert len(json.loads(forwarded)["recipients"]) == 1
    for text in (PERSON_CASE_REF, PERSON_RECORD["full_name"], "Port Arcadia"):
        assert text.encode() not in forwarded
    (pseudonym,) = re.findall(r'passport_number: "(pn_[A-Za-z0-9_-]{22})"', result.out)
    vault = (keep / "XA-NPOL.vault.db").read_bytes()
    assert pseudonym.encode() in vault
    assert PERSON_RECORD["passport_number"].encode() not in vault
    assert (keep / "XA-NPOL.keys.json").stat().st_mode & 0o777 == 0o600
    verified = cli(
        "registry", "verify", keep / "registry-2.signed.json",
        "--authority", keep / "authority.jwks.json",
        "--state", keep / "relying-party.state.json", "--json",
    ).json()  # fmt: skip
    assert verified["serial"] == 2
    replay = cli(
        "registry", "verify", keep / "registry-1.signed.json",
        "--authority", keep / "authority.jwks.json", "--state", keep / "relying-party.state.json",
    )  # fmt: skip
    assert "older than serial 2" in replay.error()


def test_keep_refuses_a_directory_that_is_not_empty(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "something.txt").write_text("keep me")
    assert "new or empty directory" in cli("demo", "--keep", tmp_path).error()
    assert [p.name for p in tmp_path.iterdir()] == ["something.txt"]


def test_run_demo_uses_the_given_time_and_prints_no_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "demo-passphrase-that-must-not-be-printed"
    counter = itertools.count()
    monkeypatch.setattr(demo, "_passphrase", lambda: f"{secret}-{next(counter)}")
    out = io.StringIO()
    now = datetime(2031, 5, 17, 8, 30, 15, 999, tzinfo=UTC)
    assert run_demo(tmp_path, out=out, now=now) is True
    transcript = out.getvalue()
    assert "fixed time of the demo: 2031-05-17T08:30:15Z" in transcript
    assert "revoke XA-NPOL signing key" in transcript
    assert "from 2031-05-17T09:30:15Z" in transcript
    assert next(counter) >= 4  # the authority, two agencies, one wrong passphrase
    assert secret not in transcript
    assert '"d"' not in transcript
    for refusal in EXPECTED_REFUSALS:
        assert refusal in transcript
    check_envelope_steps(transcript)
    assert "seals spontaneous information for XB-PROS at 2031-05-17T09:30:15Z" in transcript
    assert "Demo complete" in transcript


def test_run_demo_notices_a_replay_cache_that_forgets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Forgetful(ReplayCache):
        def __init__(self, store: Store) -> None:
            super().__init__(store)

        def check_and_record(self, *args: object, **kwargs: object) -> None:
            return None

    monkeypatch.setattr(demo, "ReplayCache", Forgetful)
    out = io.StringIO()
    assert run_demo(tmp_path, out=out) is False
    transcript = out.getvalue()
    assert (
        "MISBEHAVED: XB-PROS opens the same envelope again was accepted; it should have been "
        "refused with ReplayError"
    ) in transcript
    assert "Demo FAILED: 1 thing(s)" in transcript


def test_run_demo_reports_a_refusal_that_does_not_happen(tmp_path: Path) -> None:
    def lenient(ctx: DemoContext) -> None:
        ctx.expect_refusal("a forged registry", (VerificationError,), lambda: None)

    ran: list[str] = []
    steps = [
        DemoStep("accepts what it should refuse", lenient),
        DemoStep("next", lambda ctx: ran.append("next")),
    ]
    out = io.StringIO()
    assert run_demo(tmp_path, out=out, steps=steps) is False
    transcript = out.getvalue()
    assert "MISBEHAVED: a forged registry was accepted" in transcript
    assert "Demo FAILED: 1 thing(s)" in transcript
    assert ran == ["next"]  # a missing refusal does not stop the demo


def test_run_demo_stops_at_a_failing_step(tmp_path: Path) -> None:
    def broken(ctx: DemoContext) -> None:
        raise UnknownAgencyError("agency 'XC-NONE' is not in the trust registry")

    def wrong_refusal(ctx: DemoContext) -> None:
        def refuse() -> None:
            raise UnknownAgencyError("not the expected refusal")

        ctx.expect_refusal("a tampered registry", (VerificationError,), refuse)

    ran: list[str] = []
    out = io.StringIO()
    steps = [
        DemoStep("wrong refusal", wrong_refusal),
        DemoStep("broken", broken),
        DemoStep("never reached", lambda ctx: ran.append("never")),
    ]
    assert run_demo(tmp_path, out=out, steps=steps) is False
    transcript = out.getvalue()
    assert "expected VerificationError, got UnknownAgencyError" in transcript
    assert "step 2 failed: UnknownAgencyError" in transcript
    assert "Demo FAILED: 2 thing(s)" in transcript
    assert ran == []


def test_demo_command_exits_1_when_a_step_misbehaves(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lenient(ctx: DemoContext) -> None:
        ctx.expect_refusal("a replayed registry", (VerificationError,), lambda: None)

    monkeypatch.setattr(demo, "DEMO_STEPS", (DemoStep("lenient", lenient),))
    result = cli("demo")
    assert result.code == 1
    assert "MISBEHAVED" in result.out


def test_demo_records_receipts_checkpoints_witnesses_and_reports(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_demo(tmp_path, out=out) is True
    lines = out.getvalue().splitlines()
    for expected in (
        "  accepted: XA-NPOL verifies the receipt and records it",
        "  ok: the mismatching receipt is recorded as a denial",
        "  ok: the witness kept the evidence: ['fork', 'rollback']",
        "  ok: the report shows the refused purpose and no record content",
        "    DENIED ACCESSES (2)",
    ):
        assert expected in lines, expected
    # The refused open and the refused onward transfer, each with its purpose.
    denials = [x for x in lines if re.match(r"      #\d+  .*  deny  ", x)]
    assert len(denials) == 2
    assert "counterparty XA-NPOL  purpose intelligence_analysis" in denials[0]
    assert "counterparty XC-CUST  purpose locate_suspect" in denials[1]
    # The witness checks XA-NPOL's second checkpoint against the first by a real proof.
    proofs = [
        re.search(r"XA-NPOL's checkpoint of size (\d+) \((\d+)-hash proof from size (\d+)\)", x)
        for x in lines
    ]
    sizes = [tuple(int(g) for g in m.groups()) for m in proofs if m is not None]
    assert len(sizes) == 2
    assert sizes[0][1:] == (0, 0)
    assert sizes[1][2] == sizes[0][0] < sizes[1][0]
    assert sizes[1][1] > 0
    for agency in ("XA-NPOL", "XB-PROS", "XC-CUST"):
        assert f"  accepted: {agency}'s audit log re-derived and its checkpoints checked" in lines
        assert (tmp_path / f"{agency}.audit.db").is_file()
    # The sender's log: the two seals, the consent it issued, the data-protection officer's
    # refused and allowed lookups, then the receipt and the refused receipt, in that order.
    with open_store(tmp_path / "XA-NPOL.audit.db") as store:
        entries = [entry for _, entry in AuditLog.open(store).entries()]
    assert [(e.action, e.outcome) for e in entries] == [
        ("seal", "success"),
        ("seal", "success"),
        ("consent_grant", "success"),
        ("subject_lookup", "denied"),
        ("subject_lookup", "success"),
        ("receipt", "success"),
        ("deny", "denied"),
    ]


def _audit(path: Path) -> list[AuditEntry]:
    with open_store(path) as store:
        return [entry for _, entry in AuditLog.open(store).entries()]


def test_demo_minimizes_forwards_with_consent_and_answers_a_data_subject(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_demo(tmp_path, out=out) is True
    transcript = out.getvalue()
    lines = transcript.splitlines()
    for expected in (
        "  accepted: XA-NPOL seals the person of interest for XB-PROS, purpose locate_suspect",
        "    criminal_record_summary: withhold (special category: criminal_convictions)",
        "    passport_number: pseudonymize",
        "  ok: the seal entry holds tokens of the passport, phone and name with birth date, not them",
        "  ok: the passport pseudonym is recorded for XB-PROS in the case, its value encrypted",
        "  accepted: XB-PROS opens the person of interest for locate_suspect",
        '    date_of_birth: "1988"',
        "  ok: criminal record, health and ethnic origin are nowhere in what XB-PROS decrypted",
        "  ok: the refused onward transfer is recorded as a denial in XB-PROS's audit log",
        "  accepted: XA-NPOL records the consent grant it issues",
        "  accepted: XB-PROS verifies and records XA-NPOL's consent grant",
        "  accepted: XB-PROS forwards full_name, last_known_address.city to XC-CUST",
        "  accepted: XC-CUST opens the forwarded envelope for locate_suspect",
        '    record: {"full_name": "Mira Testova", "last_known_address": {"city": "Port Arcadia"}}',
        "  ok: XC-CUST sees only the name and the city, from XA-NPOL via XB-PROS under the grant",
        "  accepted: XA-NPOL's data protection officer looks up the passport number",
        "  ok: the lookup finds the transfer to XB-PROS for locate_suspect (and the refused search)",
        "  ok: none of them occurs: no store holds her identifiers in clear",
    ):
        assert expected in lines, expected
    # What XB-PROS saw: no withheld field, the passport as a pseudonym.
    opened = lines.index("  accepted: XB-PROS opens the person of interest for locate_suspect")
    assert lines[opened + 1] == "  disclosed fields:"
    end = next(i for i in range(opened + 2, len(lines)) if not lines[i].startswith("    "))
    shown = dict(line.strip().split(": ", 1) for line in lines[opened + 2 : end])
    assert "full_name" in shown
    assert not {"criminal_record_summary", "health_notes", "ethnic_origin_notes"} & set(shown)
    assert re.fullmatch(r'"pn_[A-Za-z0-9_-]{22}"', shown["passport_number"])
    assert shown["date_of_birth"] == '"1988"'
    # The forward is refused first (no consent), then allowed (with it).
    forwards = [
        i for i, x in enumerate(lines) if "XB-PROS forwards full_name, last_known_address.city" in x
    ]
    assert len(forwards) == 2
    assert lines[forwards[0]].startswith("  trying: ")
    assert lines[forwards[0] + 1].startswith("  refused as expected: PolicyError: ")
    assert lines[forwards[1]].startswith("  accepted: ")
    (provenance,) = [x for x in lines if x.startswith("    provenance: ")]
    grant = re.search(r"grant (\S+): onward transfer to XC-CUST", transcript)
    assert grant is not None
    assert provenance.endswith(f"via XB-PROS to XC-CUST, consent {grant.group(1)}")
    lookup = lines.index(
        "  trying: an investigator searches the blind index for the passport number"
    )
    assert lines[lookup + 1].startswith("  refused as expected: PolicyError: ")

    # The audit logs: XB-PROS's denial, consent and forward; XC-CUST's verified receipt.
    xb = [
        (e.action, e.outcome, e.counterparty, e.purpose)
        for e in _audit(tmp_path / "XB-PROS.audit.db")
    ]
    assert xb[-3:] == [
        ("deny", "denied", "XC-CUST", "locate_suspect"),
        ("consent_grant", "success", "XA-NPOL", None),
        ("forward", "success", "XC-CUST", "locate_suspect"),
    ]
    xc = _audit(tmp_path / "XC-CUST.audit.db")
    assert [(e.action, e.counterparty, e.actor) for e in xc] == [
        ("receive_forward", "XB-PROS", "XC-CUST officer 2207")
    ]
    # The seal entry and the lookups carry blind-index tokens, not identifiers; the
    # lookup's token is one of the seal's.
    xa = _audit(tmp_path / "XA-NPOL.audit.db")
    (person_seal,) = [e for e in xa if e.action == "seal" and e.purpose == "locate_suspect"]
    lookups = [e for e in xa if e.action == "subject_lookup"]
    assert len(person_seal.subjects) == 3
    assert all(e.subjects[0] in person_seal.subjects for e in lookups)
    for path in tmp_path.iterdir():
        if ".db" in path.name:
            data = path.read_bytes()
            for text in (
                PERSON_RECORD["passport_number"],
                PERSON_RECORD["full_name"],
                "Harbour Lane",
            ):
                assert text.encode() not in data, (text, path.name)


def test_run_demo_notices_a_blind_index_open_to_investigators(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Lenient(SubjectIndex):
        def lookup(self, *args: Any, **kwargs: Any) -> list[tuple[int, AuditEntry]]:
            kwargs["purpose"] = "data_protection_compliance"
            return super().lookup(*args, **kwargs)

    monkeypatch.setattr(demo, "SubjectIndex", Lenient)
    out = io.StringIO()
    assert run_demo(tmp_path, out=out) is False
    transcript = out.getvalue()
    assert (
        "MISBEHAVED: an investigator searches the blind index for the passport number was "
        "accepted; it should have been refused with PolicyError"
    ) in transcript
    assert "Demo FAILED: " in transcript


def test_run_demo_notices_a_forward_wider_than_the_subset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        demo, "FORWARDED_FIELDS", (*demo.FORWARDED_FIELDS, "last_known_address.street")
    )
    out = io.StringIO()
    assert run_demo(tmp_path, out=out) is False
    transcript = out.getvalue()
    assert (
        "MISBEHAVED: expected: XC-CUST sees only the name and the city, from XA-NPOL via "
        "XB-PROS under the grant"
    ) in transcript
    assert "Demo FAILED: 1 thing(s)" in transcript
