"""Every scenario in examples/ runs and behaves as its README says."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: Every scenario folder (one with a scenario.py), found on disk.
FOLDERS = sorted(path.parent.name for path in EXAMPLES.glob("*/scenario.py"))


def run_scenario(name: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    spec = importlib.util.spec_from_file_location(
        f"example_{name}", EXAMPLES / name / "scenario.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    code = module.main()
    return code, capsys.readouterr().out


#: Each scenario and lines its transcript must contain.
SCENARIOS: list[tuple[str, list[str]]] = [
    (
        "preservation_and_subscriber_disclosure",
        [
            "ok: the preservation request is complete",
            "ok: the response inherited purpose evidence_preservation and case XA-2026-000123",
            "accepted: XB-PROS opens it for criminal_investigation",
            "ok: XB-PROS's log holds its two seals and its two opens",
        ],
    ),
    (
        "mla_request_completeness",
        [
            "The MLA request draft has 6 problems:",
            "[UNTOC Art. 18(15)(f)]",
            "refused as expected: PolicyError",
            "ok: the corrected MLA request is complete",
            "ok: the MLA response is complete and kept purpose and case",
        ],
    ),
    (
        "purpose_limitation_and_retention",
        [
            "refused as expected: PolicyError: XB-PROS may not use this envelope",
            "ok: the refusal is recorded as a denial in XB-PROS's audit log",
            "accepted: XB-PROS officer 4711 opens the envelope for criminal_investigation",
            "refused as expected: PolicyError: use as evidence",
            "accepted: use the data as evidence in judicial proceedings",
            "ok: the purge is recorded",
        ],
    ),
    (
        "spontaneous_information_and_cannot_comply",
        [
            "refused as expected: PolicyError: XA-NPOL attached 2 handling conditions that "
            "must be acknowledged before the data is released, and 2 are not",
            "and 1 is not",
            "ok: the refused open is recorded as a denial in XB-PROS's audit log",
            "accepted: XB-PROS opens it for criminal_investigation, acknowledging 2 condition(s)",
            "ok: XA-NPOL reads that XB-PROS acknowledged both conditions",
            "ok: XA-NPOL reads that the request must be kept confidential",
            "refused as expected: PolicyError: The cannot-comply notice has 1 problem",
            "ok: XB-PROS reads: confidentiality cannot be met for request",
            "ok: the notice kept the purpose and case of the request it answers",
            "ok: XA-NPOL's log holds every seal, open and refusal, in order",
            "ok: XB-PROS's log holds every seal, open and refusal, in order",
        ],
    ),
    (
        "breach_notification_and_suspension",
        [
            "ok: validate() lists what Art. 14(7) still needs",
            "ok: the breach notification is complete",
            "ok: seal() recorded the notification itself: a notify_breach entry beside the seal",
            "registry_update/success by XA-NPOL registry client: accepted trust registry serial 2",
            "replaces serial 1: XB-PROS suspended from",
            "replaces serial 2: XB-PROS reinstated from",
            "ok: XA-NPOL's registry shows XB-PROS suspended",
            "refused as expected: RegistryRollbackError",
            "accepted: XA-NPOL's data protection officer opens the notification",
            "refused as expected: AgencySuspendedError: transfer refused: XB-PROS",
            "ok: the refused transfer is recorded as a denial in XA-NPOL's audit log",
            "refused as expected: AgencySuspendedError: transfers with agency XB-PROS are "
            "suspended from",
            "stays on record",
            "ok: XA-NPOL's log holds every step, in order",
            "ok: XB-PROS's log holds every step, in order",
            "ok: the oversight report shows the three refusals involving XB-PROS",
            "ok: XB-PROS's oversight report counts the breach notification and both registry "
            "updates",
        ],
    ),
    (
        "onward_transfer_via_central_authority",
        [
            "ok: every party's registry (serial 2) lists XB-CYBER in Borduria (XB), XB-PROS's "
            "own country",
            "ok: XB-CYBER's declared safeguards meet XA-NPOL's conditions (transfer check: no "
            "mismatch)",
            "ok: criminal record, health and ethnic origin are withheld: criminal_record_summary, "
            "ethnic_origin_notes, health_notes",
            "refused as expected: UsageError: for purpose 'prevent_imminent_threat' the "
            "PersonOfInterest plan discloses data of special categories (health)",
            "ok: no withheld field, name or value is in what XB-PROS decrypted",
            "ok: the date of birth arrived as the year 1988",
            "Safeguard: onward sharing within a Party (Second Additional Protocol Art. 14(9))",
            "refused as expected: PolicyError: onward transfer of the data of envelope",
            "from XA-NPOL to XB-CYBER refused: consent missing",
            "ok: the refused onward transfer is recorded as a denial in XB-PROS's audit log",
            "accepted: XB-PROS forwards full_name, last_known_address.city to XB-CYBER",
            "from XA-NPOL to XC-CUST refused: consent missing",
            "(onward transfer to XB-CYBER) is for another use",
            "ok: the refused transfer abroad is recorded as a denial in XB-PROS's audit log",
            "ok: XB-CYBER sees the name and the city only",
            "ok: the data comes from XA-NPOL through XB-PROS under consent grant",
            "refused as expected: VerificationError: forwarding hop 1 (XB-PROS -> XB-CYBER): the "
            "key binding does not cover the disclosures received (sd_hash mismatch",
            "refused as expected: PolicyError: pseudonym pn_",
            "was not issued by XA-NPOL to XB-CYBER in case 'XA-2026-000417'",
            "re-identified for intelligence_analysis: the envelope was sent for locate_suspect",
            "ok: the pseudonym resolves to the passport number; the entry names the pseudonym only",
            "refused as expected: PolicyError: a data-subject lookup is made only for the purpose "
            "data_protection_compliance",
            "ok: the passport finds the transfer to XB-PROS for locate_suspect, and the refused "
            "search",
            "ok: her name and date of birth find the same transfer",
            "ok: none of them occurs in clear",
            "ok: XA-NPOL's log holds every step, refusals included, in order",
            "ok: XB-PROS's log holds every step, refusals included, in order",
            "ok: XB-CYBER's log holds every step, refusals included, in order",
        ],
    ),
    (
        "oversight_verification",
        [
            "accepted: the 4-hash consistency proof from size 3 to 5: XB-PROS's log only grew",
            "accepted: a relying party requiring 2 cosignatures accepts it",
            "ok: XB-PROS's log has the root of every checkpoint oversight received",
            "ok: the report covers exactly the tree of the cosigned checkpoint",
            "ok: the report lists the refused open for intelligence_analysis",
            "refused as expected: AuditIntegrityError: fork:",
            "refused as expected: AuditIntegrityError: the consistency proof from size 5 to 6",
            "refused as expected: VerificationError: the checkpoint has valid cosignatures "
            "from 0 trusted witness(es); 2 are required",
            "ok: the witnesses kept the fork and the inconsistent checkpoint as evidence",
            "ok: the refusal names the rewritten entry (0)",
            "refused as expected: AuditIntegrityError: inclusion proof does not verify",
            "refused as expected: AuditIntegrityError: the audit log does not match its tree",
            "ok: the report is refused, naming the rewritten entry (0), instead of omitting "
            "the denial",
        ],
    ),
]


@pytest.mark.parametrize(("name", "lines"), SCENARIOS)
def test_scenario(name: str, lines: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_scenario(name, capsys)
    assert code == 0, out
    assert "MISBEHAVED" not in out
    assert "Scenario complete: every step behaved as expected." in out
    for line in lines:
        assert line in out


def test_every_scenario_folder_is_run_here() -> None:
    assert sorted(name for name, _lines in SCENARIOS) == FOLDERS
    assert len(FOLDERS) >= 7


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_scenario_has_a_readme_listed_in_the_index(folder: str) -> None:
    readme = (EXAMPLES / folder / "README.md").read_text(encoding="utf-8")
    assert "| Step |" in readme  # the parties and the safeguard of each step
    assert f"python examples/{folder}/scenario.py" in readme
    assert f"]({folder}/)" in (EXAMPLES / "README.md").read_text(encoding="utf-8")
