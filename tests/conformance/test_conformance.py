"""The conformance runner and the built-in adapter (specs/safeshare-v1.md sections 3 and 14)."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any, Final

import pytest
from specs.tools import generate_audit_vectors, generate_registry_vectors

from safeshare.cli.main import main
from safeshare.conformance.runner import default_vectors_dir, load_vectors, run

VECTORS: Final = default_vectors_dir()
PY: Final = shlex.quote(sys.executable)


def test_builtin_adapter_passes_every_vector() -> None:
    report = run(None, VECTORS)
    assert report.failures == []
    assert report.passed == report.total > 250
    assert report.total == len(list(VECTORS.glob("*/*.json")))
    assert report.skipped == 0
    assert report.level_results == {
        "envelope": True,
        "messages": True,
        "audit": True,
        "conditions": True,
        "privacy": True,
    }


def test_every_condition_vector_gets_an_operation() -> None:
    vectors, skipped = load_vectors(VECTORS)
    conditions = [v for v in vectors if v.set == "conditions"]
    assert skipped == 0
    assert len(conditions) == len(list((VECTORS / "conditions").glob("*.json")))
    for vector in conditions:
        kind = "transfer" if vector.id.startswith("transfer-") else "use"
        assert vector.op == {"transfer": "check_transfer", "use": "check_use"}[kind]
        assert "kind" not in vector.input


def test_generated_vectors_are_up_to_date() -> None:
    assert generate_registry_vectors.main(["--check"]) == 0
    assert generate_audit_vectors.main(["--check"]) == 0


def _subset(tmp_path: Path) -> Path:
    """A few vectors of each set."""
    root = tmp_path / "vectors"
    picks = {
        "registry": ["valid-registry", "invalid-registry-expired"],
        "audit": ["inclusion-valid-first-of-7", "checkpoint-invalid-wrong-key"],
        "messages": ["invalid-consent-grant-expired"],
    }
    for set_name, ids in picks.items():
        (root / set_name).mkdir(parents=True)
        for vid in ids:
            shutil.copy(VECTORS / set_name / f"{vid}.json", root / set_name / f"{vid}.json")
    return root


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "adapter.py"
    path.write_text("import json, sys\n" + body, encoding="utf-8")
    return f"{PY} {shlex.quote(str(path))}"


def test_always_valid_adapter_fails_exactly_the_invalid_vectors(tmp_path: Path) -> None:
    command = _script(
        tmp_path,
        "for line in sys.stdin:\n"
        "    r = json.loads(line)\n"
        "    print(json.dumps({'id': r['id'], 'result': 'valid', 'output': {'problems': []}}),"
        " flush=True)\n",
    )
    report = run(command, _subset(tmp_path), timeout=10)
    assert sorted(f.vector for f in report.failures) == [
        "audit/checkpoint-invalid-wrong-key",
        "messages/invalid-consent-grant-expired",
        "registry/invalid-registry-expired",
        "registry/valid-registry",  # no document in the output
    ]
    assert report.passed == 1
    failure = next(f for f in report.failures if f.vector == "registry/invalid-registry-expired")
    assert failure.description.startswith("expires_at is an hour before now")
    assert failure.op == "verify_registry"


def test_one_flipped_op_is_reported_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = _script(
        tmp_path,
        "sys.path.insert(0, '')\n"
        "from safeshare.conformance.adapter import answer\n"
        "for line in sys.stdin:\n"
        "    a = answer(line)\n"
        "    if json.loads(line)['op'] == 'verify_inclusion_proof':\n"
        "        a = {'id': a['id'], 'result': 'invalid', 'error': 'audit_integrity'}\n"
        "    print(json.dumps(a), flush=True)\n",
    )
    code = main(
        ["conformance", "run", "--impl", command, "--vectors", str(_subset(tmp_path)), "--json"]
    )
    assert code == 1
    report = json.loads(capsys.readouterr().out)
    assert [f["vector"] for f in report["failures"]] == ["audit/inclusion-valid-first-of-7"]
    assert report["failures"][0]["description"] == "Leaf 0 of a tree of 7."
    assert (report["total"], report["passed"], report["failed"]) == (5, 4, 1)
    assert report["levels"] == {"audit": False, "envelope": True, "messages": True}


def test_builtin_adapter_through_the_cli(tmp_path: Path) -> None:
    assert main(["conformance", "run", "--vectors", str(_subset(tmp_path))]) == 0


def test_crashing_adapter_is_reported(tmp_path: Path) -> None:
    command = _script(tmp_path, "sys.stdin.readline()\nsys.exit(3)\n")
    report = run(command, _subset(tmp_path), timeout=10)
    assert report.passed == 0
    assert len(report.failures) == 5
    assert report.failures[0].got["result"] == "adapter failure"


def test_hanging_adapter_times_out(tmp_path: Path) -> None:
    command = _script(tmp_path, "import time\nsys.stdin.readline()\ntime.sleep(60)\n")
    report = run(command, _subset(tmp_path), timeout=0.5)
    assert report.passed == 0
    assert len(report.failures) == 5
    assert "no answer within" in report.failures[0].got["message"]


# -- the condition vectors (check_transfer, check_use) ------------------------------------


def _conditions(tmp_path: Path) -> Path:
    """Every condition vector, and nothing else."""
    root = tmp_path / "vectors"
    shutil.copytree(VECTORS / "conditions", root / "conditions")
    return root


def _condition_vectors() -> list[dict[str, Any]]:
    return [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((VECTORS / "conditions").glob("*.json"))
    ]


def _wrapping(tmp_path: Path, change: str) -> str:
    """An adapter that answers with the built-in one after *change* (code on `r`, `a`)."""
    return _script(
        tmp_path,
        "sys.path.insert(0, '')\n"
        "from safeshare.conformance.adapter import answer\n"
        "for line in sys.stdin:\n"
        "    r = json.loads(line)\n" + "".join(f"    {c}\n" for c in change.splitlines()),
    )


def test_builtin_adapter_passes_the_condition_vectors(tmp_path: Path) -> None:
    report = run(None, _conditions(tmp_path))
    assert report.failures == []
    assert report.passed == report.total == len(_condition_vectors())
    assert report.level_results == {"conditions": True}


def test_always_valid_adapter_fails_the_condition_vectors_it_should(tmp_path: Path) -> None:
    command = _script(
        tmp_path,
        "for line in sys.stdin:\n"
        "    r = json.loads(line)\n"
        "    print(json.dumps({'id': r['id'], 'result': 'valid',"
        " 'output': {'mismatches': []}}), flush=True)\n",
    )
    report = run(command, _conditions(tmp_path), timeout=10)
    vectors = _condition_vectors()
    # It passes exactly the transfers without a mismatch; every use vector fails:
    # a refused use needs an 'invalid' answer, a permitted one the opened claims.
    should_pass = {
        f"conditions/{v['id']}"
        for v in vectors
        if v["kind"] == "transfer" and not v["expected"]["mismatches"]
    }
    assert {f.vector for f in report.failures} == {
        f"conditions/{v['id']}" for v in vectors
    } - should_pass
    assert report.passed == len(should_pass) > 0
    assert report.level_results == {"conditions": False}
    failure = next(f for f in report.failures if f.vector.endswith("transfer-retention-longer"))
    assert failure.op == "check_transfer"
    assert failure.expected == {"mismatches": ["XB-PROS:retention"]}
    assert failure.got["output"] == {"mismatches": []}
    refused = next(f for f in report.failures if f.vector.endswith("use-onward-no-consent"))
    assert refused.op == "check_use"
    assert refused.expected == {"result": "policy_violation"}
    assert refused.description.startswith("The default conditions allow onward transfer")


def test_adapter_ignoring_consent_fails_exactly_the_uses_consent_allows(tmp_path: Path) -> None:
    command = _wrapping(
        tmp_path,
        "if r['op'] == 'check_use':\n"
        "    r['input']['consents'] = []\n"
        "print(json.dumps(answer(json.dumps(r))), flush=True)",
    )
    report = run(command, _conditions(tmp_path), timeout=30)
    needs_consent = {
        f"conditions/{v['id']}"
        for v in _condition_vectors()
        if v["kind"] == "use" and v["consents"] and v["expected"]["result"] == "allowed"
    }
    assert len(needs_consent) >= 3  # evidence, onward transfer, purpose
    assert {f.vector for f in report.failures} == needs_consent
    for failure in report.failures:
        assert failure.op == "check_use"
        assert failure.expected == {"result": "allowed"}
        assert failure.got["result"] == "invalid"
        assert failure.got["error"] == "policy_violation"


def test_adapter_answering_another_envelope_fails_the_permitted_uses(tmp_path: Path) -> None:
    command = _wrapping(
        tmp_path,
        "a = answer(line)\n"
        "if a['result'] == 'valid' and 'opened' in a['output']:\n"
        "    a['output']['opened']['digest'] = '0' * 64\n"
        "print(json.dumps(a), flush=True)",
    )
    report = run(command, _conditions(tmp_path), timeout=30)
    allowed = {
        f"conditions/{v['id']}"
        for v in _condition_vectors()
        if v["kind"] == "use" and v["expected"]["result"] == "allowed"
    }
    assert allowed
    assert {f.vector for f in report.failures} == allowed


def test_transfer_mismatches_are_compared_in_any_order_but_all_of_them(tmp_path: Path) -> None:
    reversed_ = _wrapping(
        tmp_path,
        "a = answer(line)\n"
        "if r['op'] == 'check_transfer':\n"
        "    a['output']['mismatches'].reverse()\n"
        "print(json.dumps(a), flush=True)",
    )
    vectors = _conditions(tmp_path)
    assert run(reversed_, vectors, timeout=30).failures == []
    dropping = _wrapping(
        tmp_path,
        "a = answer(line)\n"
        "if r['op'] == 'check_transfer':\n"
        "    a['output']['mismatches'] = a['output']['mismatches'][1:]\n"
        "print(json.dumps(a), flush=True)",
    )
    report = run(dropping, vectors, timeout=30)
    with_mismatches = {
        f"conditions/{v['id']}"
        for v in _condition_vectors()
        if v["kind"] == "transfer" and v["expected"]["mismatches"]
    }
    assert {f.vector for f in report.failures} == with_mismatches
    several = next(f for f in report.failures if f.vector.endswith("transfer-several-recipients"))
    assert several.got["output"]["mismatches"] == ["XB-PROS:onward_transfer", "XC-CUST:suspended"]


def test_condition_failures_are_reported_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = _wrapping(
        tmp_path,
        "a = answer(line)\n"
        "if r['id'] == 'conditions/use-automated-decision-forbidden':\n"
        "    a = {'id': a['id'], 'result': 'valid', 'output': {}}\n"
        "print(json.dumps(a), flush=True)",
    )
    code = main(
        ["conformance", "run", "--impl", command, "--vectors", str(_conditions(tmp_path)), "--json"]
    )
    assert code == 1
    report = json.loads(capsys.readouterr().out)
    assert [f["vector"] for f in report["failures"]] == [
        "conditions/use-automated-decision-forbidden"
    ]
    failure = report["failures"][0]
    assert failure["op"] == "check_use"
    assert failure["expected"] == {"result": "policy_violation"}
    assert failure["got"]["result"] == "valid"
    assert (report["failed"], report["skipped"]) == (1, 0)
    assert report["passed"] == report["total"] - 1
    assert report["levels"] == {"conditions": False}


# -- the privacy vectors (pseudonymize, blind_index_token, generalize) -----------------------

PRIVACY_OPS: Final = {
    "pseudonym-": "pseudonymize",
    "blind-index-": "blind_index_token",
    "generalize-": "generalize",
}


def _privacy(tmp_path: Path) -> Path:
    """Every privacy vector, and nothing else."""
    root = tmp_path / "vectors"
    shutil.copytree(VECTORS / "privacy", root / "privacy")
    return root


def _privacy_vectors() -> list[dict[str, Any]]:
    return [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((VECTORS / "privacy").glob("*.json"))
    ]


def _failed(report: Any) -> set[str]:
    return {f.vector.removeprefix("privacy/") for f in report.failures}


def test_every_privacy_vector_gets_an_operation() -> None:
    vectors, skipped = load_vectors(VECTORS)
    privacy = [v for v in vectors if v.set == "privacy"]
    assert skipped == 0
    assert len(privacy) == len(list((VECTORS / "privacy").glob("*.json"))) > 200
    for vector in privacy:
        prefix = next(p for p in PRIVACY_OPS if vector.id.startswith(p))
        assert vector.op == PRIVACY_OPS[prefix]
        assert "kind" not in vector.input
        assert "trace" not in vector.input  # the intermediate values would give the answer away


def test_builtin_adapter_passes_the_privacy_vectors(tmp_path: Path) -> None:
    report = run(None, _privacy(tmp_path))
    assert report.failures == []
    assert report.passed == report.total == len(_privacy_vectors())
    assert report.skipped == 0
    assert report.level_results == {"privacy": True}


#: An adapter that computes pseudonyms from the written rule with the standard library
#: alone (HKDF, HMAC, RFC 8785 JSON), and answers every other op with the built-in adapter.
#: With FORGET_CASE it leaves the case out of the pseudonym's domain.
_RULE_ADAPTER: Final = """
import base64, hashlib, hmac
from safeshare.conformance.adapter import answer

def hkdf(secret, info):
    prk = hmac.new(bytes(32), secret, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\\x01", hashlib.sha256).digest()

def text(value):
    if not isinstance(value, str) or not value:
        raise ValueError("not a non-empty string")
    return value.encode("utf-8")

def jcs(v):
    if isinstance(v, float) or (not isinstance(v, bool) and isinstance(v, int) and abs(v) >= 2**53):
        raise ValueError("not text, an I-JSON integer, true, false, null, an array or an object")
    if isinstance(v, dict):
        names = sorted(v, key=lambda name: name.encode("utf-16-be"))
        return "{" + ",".join(jcs(name) + ":" + jcs(v[name]) for name in names) + "}"
    if isinstance(v, list):
        return "[" + ",".join(jcs(item) for item in v) + "]"
    return json.dumps(v, ensure_ascii=False)

def pseudonymize(i):
    secret = bytes.fromhex(i["secret"])
    if len(secret) != 32:
        raise ValueError("not a 32-byte secret")
    parts = [text(i["issuer"]), text(i["recipient"])]
    if not FORGET_CASE:
        parts.append(text(i["case_ref"]))
    parts.append(jcs(i["value"]).encode("utf-8"))
    message = b"".join(len(p).to_bytes(4, "big") + p for p in parts)
    key = hkdf(secret, b"safeshare/v1/pseudonym")
    mac = hmac.new(key, message, hashlib.sha256).digest()[:16]
    return "pn_" + base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

for line in sys.stdin:
    r = json.loads(line)
    if r["op"] != "pseudonymize":
        a = answer(line)
    else:
        try:
            a = {"id": r["id"], "result": "valid", "output": {"pseudonym": pseudonymize(r["input"])}}
        except ValueError:
            a = {"id": r["id"], "result": "invalid", "error": "usage"}
    print(json.dumps(a), flush=True)
"""


def test_pseudonyms_from_the_written_rule_pass(tmp_path: Path) -> None:
    command = _script(tmp_path, "FORGET_CASE = False\n" + _RULE_ADAPTER)
    report = run(command, _privacy(tmp_path), timeout=30)
    assert report.failures == []
    assert report.passed == report.total


def test_adapter_forgetting_the_case_fails_exactly_the_pseudonyms(tmp_path: Path) -> None:
    command = _script(tmp_path, "FORGET_CASE = True\n" + _RULE_ADAPTER)
    report = run(command, _privacy(tmp_path), timeout=30)
    pseudonyms = [v for v in _privacy_vectors() if v["kind"] == "pseudonym"]
    # Every pseudonym changes, and an empty or null case is no longer refused;
    # the other refusals (issuer, recipient, secret) and every other op still pass.
    affected = {v["id"] for v in pseudonyms if v["expected"]["result"] == "valid"} | {
        "pseudonym-invalid-empty-case-ref",
        "pseudonym-invalid-null-case-ref",
    }
    assert _failed(report) == affected
    assert report.passed == report.total - len(affected)
    assert report.level_results == {"privacy": False}
    other_case = next(f for f in report.failures if f.vector.endswith("domain-other-case"))
    assert other_case.op == "pseudonymize"
    assert other_case.description.startswith("Same value and recipient as pseudonym-string-ascii")
    base = next(f for f in report.failures if f.vector.endswith("pseudonym-string-ascii"))
    assert other_case.got["output"] == base.got["output"]  # the two cases were linked
    assert other_case.expected["pseudonym"] != base.expected["pseudonym"]


@pytest.mark.parametrize(
    ("change", "affected"),
    [
        # Case folding instead of the lowercase mapping: 'ß' becomes 'ss', U+03C2 becomes U+03C3.
        (
            "value.casefold()",
            {"blind-index-email-sharp-s", "blind-index-email-greek-final-sigma"},
        ),
        # Simple (one-to-one, context-free) lowercase mappings, as some languages' ToLower.
        (
            "value.replace('\u0130', 'i').replace('\u03a3', '\u03c3')",
            {"blind-index-email-dotted-capital-i", "blind-index-email-greek-final-sigma"},
        ),
    ],
    ids=["case-folding", "simple-case-mapping"],
)
def test_adapter_lowercasing_emails_differently_fails_exactly_those(
    tmp_path: Path, change: str, affected: set[str]
) -> None:
    command = _wrapping(
        tmp_path,
        "if r['op'] == 'blind_index_token' and r['input']['subject_kind'] == 'email':\n"
        "    value = r['input']['value']\n"
        f"    r['input']['value'] = {change}\n"
        "print(json.dumps(answer(json.dumps(r))), flush=True)",
    )
    report = run(command, _privacy(tmp_path), timeout=30)
    assert _failed(report) == affected
    for failure in report.failures:
        assert failure.op == "blind_index_token"
        assert failure.got["result"] == "valid"
        assert failure.got["output"]["normalized"] != failure.expected["normalized"]
        assert failure.got["output"]["token"] != failure.expected["token"]


def test_adapter_rounding_half_up_fails_exactly_the_midpoint_cases(tmp_path: Path) -> None:
    # Rounds the decimal text half away from zero, as a naive implementation would,
    # instead of the exact binary64 value to nearest, ties to even; -0 is still written 0.
    command = _wrapping(
        tmp_path,
        "from decimal import Decimal, ROUND_HALF_UP\n"
        "a = answer(line)\n"
        "spec = r['input'].get('generalization')\n"
        "if a['result'] == 'valid' and isinstance(spec, dict) and spec['type'] == 'grid':\n"
        "    step = Decimal(1).scaleb(-spec.get('decimals', 1))\n"
        "    a['output']['generalized'] = [\n"
        "        float(Decimal(repr(float(x))).quantize(step, ROUND_HALF_UP)) + 0.0\n"
        "        for x in r['input']['value']\n"
        "    ]\n"
        "print(json.dumps(a), flush=True)",
    )
    report = run(command, _privacy(tmp_path), timeout=30)
    assert _failed(report) == {
        "generalize-grid-ties-to-even",
        "generalize-grid-ties-to-even-0-decimals",
        "generalize-grid-not-a-tie-below",
        "generalize-grid-2-decimals",
        "generalize-grid-4-decimals",
        "generalize-grid-negative-zero-tie",
    }
    ties = next(f for f in report.failures if f.vector.endswith("grid-ties-to-even"))
    assert ties.op == "generalize"
    assert ties.expected["generalized"] == [0.2, -0.8]
    assert ties.got["output"]["generalized"] == [0.3, -0.8]


def test_negative_zero_and_booleans_are_not_accepted_for_numbers(tmp_path: Path) -> None:
    command = _wrapping(
        tmp_path,
        "a = answer(line)\n"
        "if a['result'] == 'valid' and r['op'] == 'generalize':\n"
        "    g = a['output']['generalized']\n"
        "    if isinstance(g, list):\n"
        "        a['output']['generalized'] = [-0.0 if x == 0 else x for x in g]\n"
        "    a['output']['label'] = a['output']['label'] if g != [90.0, -180.0] else True\n"
        "print(json.dumps(a), flush=True)",
    )
    report = run(command, _privacy(tmp_path), timeout=30)
    assert _failed(report) == {
        "generalize-grid-negative-zero",
        "generalize-grid-negative-zero-tie",
        "generalize-grid-limits",
    }


def test_privacy_failures_are_reported_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = _wrapping(
        tmp_path,
        "a = answer(line)\n"
        "if r['id'] == 'privacy/blind-index-invalid-phone-16-digits':\n"
        "    a = {'id': a['id'], 'result': 'invalid', 'error': 'malformed'}\n"
        "print(json.dumps(a), flush=True)",
    )
    code = main(
        ["conformance", "run", "--impl", command, "--vectors", str(_privacy(tmp_path)), "--json"]
    )
    assert code == 1
    report = json.loads(capsys.readouterr().out)
    assert [f["vector"] for f in report["failures"]] == [
        "privacy/blind-index-invalid-phone-16-digits"
    ]
    failure = report["failures"][0]
    assert failure["op"] == "blind_index_token"
    assert failure["expected"] == {"result": "invalid", "error": "usage"}
    assert failure["got"]["error"] == "malformed"
    assert (report["failed"], report["skipped"]) == (1, 0)
    assert report["levels"] == {"privacy": False}
