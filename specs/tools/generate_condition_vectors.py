"""Write the handling-condition test vectors in ``specs/vectors/conditions/`` (one JSON file per case).

Usage: ``python specs/tools/generate_condition_vectors.py [--check]``. With
``--check`` it writes nothing and exits 1, listing every file that differs,
is missing or should not be there. The format and the verifier procedure are
in ``specs/vectors/README.md`` (section "Condition vectors"); the rules in
``specs/safeshare-v1.md`` sections 9.2, 9.3 and 10.

Two kinds of case:

* ``transfer-...``: the transfer check before sealing
  (:func:`safeshare.purpose.transfer.check_transfer`, spec section 9.2):
  a signed registry, the recipients, the handling conditions and the legal
  basis; the expected result is the list of mismatch keys
  (``"XB-PROS:retention"``), empty when the transfer may go ahead.
* ``use-...``: a later use of opened data (:mod:`safeshare.purpose.use`)
  or a purpose it is opened for (:mod:`safeshare.purpose.enforce`): a genuine
  envelope from XA-NPOL to XB-PROS (sealed with ``seal_with_randomness``),
  the verified claims and digest it opens to, zero or more consent grants of
  XA-NPOL, and the requested use; the expected result is ``allowed`` or
  ``policy_violation``.

Keys come from ``safeshare._testnet.build(NOW, seed=SEED)``; randomness (salts,
``jti``, CEK, IV, ephemeral keys, grant ids) from per-case
:class:`~specs.tools.vectors_lib.DeterministicRandom` streams; the clock is
fixed. Every expectation is checked against the library before anything is
written (a generator bug otherwise). Output is ``strictjson.pretty``.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:  # run as a script: make ``specs.tools`` importable
    sys.path.insert(0, str(_ROOT))

from safeshare import _testnet  # noqa: E402
from safeshare._internal import strictjson  # noqa: E402
from safeshare._internal.clock import rfc3339  # noqa: E402
from safeshare._testnet import TestNetwork  # noqa: E402
from safeshare.conformance.adapter import op_check_use  # noqa: E402
from safeshare.envelope import OpenedEnvelope, open_envelope  # noqa: E402
from safeshare.envelope._seal import seal_with_randomness  # noqa: E402
from safeshare.errors import PolicyError, SafeShareError  # noqa: E402
from safeshare.keys import (  # noqa: E402
    SECRET_KEY_ACCESS,
)
from safeshare.purpose.conditions import HandlingConditions  # noqa: E402
from safeshare.purpose.consent import ConsentScope, issue_grant  # noqa: E402
from safeshare.purpose.transfer import check_transfer  # noqa: E402
from safeshare.registry import RegistryDocument  # noqa: E402
from safeshare.storage import ReplayCache, open_store  # noqa: E402
from specs.tools._files import write_or_check  # noqa: E402
from specs.tools.vectors_lib import (  # noqa: E402
    NOW,
    NOW_TEXT,
    SEED,
    XA,
    XB,
    XC,
    XD,
    DeterministicRandom,
)

VECTOR_DIR: Final = _ROOT / "specs" / "vectors" / "conditions"

LEGAL_BASIS: Final = "BUDAPEST-2AP.Art7"
PURPOSE: Final = "criminal_investigation"
CASE_REF: Final = "XA-2026-000123"
#: Who opens the envelopes of the use cases.
ACTOR: Final = "conformance verifier"
#: When the envelopes of the use cases are sealed (the grants are issued later).
SEALED_AT: Final = NOW - timedelta(days=4)
#: The record of every use case.
RECORD: Final[dict[str, Any]] = {
    "subject": {"family_name": "Example", "given_names": ["Alex"]},
    "offence": "computer-related fraud",
    "reference": CASE_REF,
}

ALLOWED: Final = "allowed"
POLICY_VIOLATION: Final = "policy_violation"


# -- the network ------------------------------------------------------------------------


@functools.cache
def network() -> TestNetwork:
    """The standard test network (the four agencies, strictest declared safeguards)."""
    return _testnet.build(NOW, seed=SEED)


def _network_with(
    safeguards: Mapping[str, Mapping[str, Any]], suspended: Sequence[str]
) -> TestNetwork:
    """The standard keys and authority; *safeguards* changed; *suspended* since an hour ago."""
    net = _testnet.build(NOW, seed=SEED, safeguards=safeguards) if safeguards else network()
    if not suspended:
        return net
    doc: RegistryDocument = net.document
    for agency in suspended:
        doc = doc.with_suspension(agency, at=NOW - timedelta(hours=1), reason="under review")
    return net.resign(doc)


def _handling(**members: Any) -> HandlingConditions:
    return HandlingConditions.model_validate(members)


# -- transfer cases -------------------------------------------------------------------------


@dataclass(frozen=True)
class TransferCase:
    id: str
    description: str
    recipients: tuple[str, ...]
    handling: HandlingConditions
    mismatches: tuple[str, ...]
    legal_basis: str | None = LEGAL_BASIS
    safeguards: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    suspended: tuple[str, ...] = ()

    def registry(self) -> tuple[TestNetwork, bytes]:
        net = _network_with(self.safeguards, self.suspended)
        return net, net.signed

    def to_json(self) -> dict[str, Any]:
        net, signed = self.registry()
        return {
            "id": self.id,
            "description": self.description,
            "kind": "transfer",
            "now": NOW_TEXT,
            "authority": net.authority.public.to_jwk(),
            "registry": strictjson.loads(signed, what="registry", max_bytes=1 << 20),
            "recipients": list(self.recipients),
            "handling": self.handling.model_dump(mode="json"),
            "legal_basis": self.legal_basis,
            "expected": {"mismatches": list(self.mismatches)},
        }

    def check(self) -> None:
        net, _ = self.registry()
        found = check_transfer(
            net.registry,
            self.recipients,
            self.handling,
            now=NOW,
            legal_basis=self.legal_basis,
        )
        got = tuple(m.key for m in found)
        if got != self.mismatches:
            detail = "\n".join(f"  {m.explanation}" for m in found)
            raise SystemExit(
                f"{self.id}: expected {list(self.mismatches)}, got {list(got)}\n{detail}"
            )


TRANSFER_CASES: Final[list[TransferCase]] = []


def transfer(
    case_id: str,
    description: str,
    *,
    recipients: tuple[str, ...] = (XB,),
    handling: HandlingConditions | None = None,
    mismatches: tuple[str, ...] = (),
    legal_basis: str | None = LEGAL_BASIS,
    safeguards: Mapping[str, Mapping[str, Any]] | None = None,
    suspended: tuple[str, ...] = (),
) -> None:
    TRANSFER_CASES.append(
        TransferCase(
            id=f"transfer-{case_id}",
            description=" ".join(description.split()),
            recipients=recipients,
            handling=handling or HandlingConditions(),
            mismatches=mismatches,
            legal_basis=legal_basis,
            safeguards=safeguards or {},
            suspended=suspended,
        )
    )


transfer(
    "clean-pass",
    """Two recipients that declare the strictest safeguards (retention 1 day, onward
    transfer never, no solely automated decisions, breach notification, every instrument)
    and the default conditions: no mismatch, the transfer may go ahead.""",
    recipients=(XB, XC),
)
transfer(
    "suspended",
    """XB-PROS has been suspended since an hour before now (Second Additional Protocol
    Art. 14(15)): refused, and a suspension is never overridable.""",
    suspended=(XB,),
    mismatches=(f"{XB}:suspended",),
)
transfer(
    "retention-longer",
    """XB-PROS declares it keeps data up to 730 days; the conditions allow 365 (Art.
    14(5)).""",
    safeguards={XB: {"max_retention_days": 730}},
    mismatches=(f"{XB}:retention",),
)
transfer(
    "retention-equal",
    """XB-PROS declares exactly the 365 days the conditions allow: no mismatch (only a
    longer declared retention is one).""",
    safeguards={XB: {"max_retention_days": 365}},
)
transfer(
    "onward-transfer-looser",
    """XB-PROS shares data domestically under the same conditions without asking
    (domestic_same_conditions); the conditions require prior authorisation for every
    onward transfer: its policy is looser (Art. 14(9)-(10)).""",
    safeguards={XB: {"onward_transfer": "domestic_same_conditions"}},
    mismatches=(f"{XB}:onward_transfer",),
)
transfer(
    "onward-transfer-forbidden",
    """The conditions forbid any onward transfer; XB-PROS transfers onward with the
    originator's prior authorisation, which is looser than 'forbidden' (ranks compared:
    never < with_prior_authorisation < domestic_same_conditions against forbidden <
    with_prior_authorisation < allowed_to_listed).""",
    handling=_handling(onward_transfer="forbidden"),
    safeguards={XB: {"onward_transfer": "with_prior_authorisation"}},
    mismatches=(f"{XB}:onward_transfer",),
)
transfer(
    "onward-transfer-same-rank",
    """XB-PROS transfers onward only with prior authorisation, as the default conditions
    require: no mismatch.""",
    safeguards={XB: {"onward_transfer": "with_prior_authorisation"}},
)
transfer(
    "automated-decision",
    """XB-PROS does not declare that it refrains from decisions based solely on automated
    processing; the conditions forbid them (no_solely_automated_decision, Art. 14(6)).""",
    safeguards={XB: {"no_solely_automated_decisions": False}},
    mismatches=(f"{XB}:automated_decision",),
)
transfer(
    "automated-decision-not-required",
    """The conditions allow automated decisions (no_solely_automated_decision false), so
    XB-PROS's missing declaration is no mismatch.""",
    handling=_handling(no_solely_automated_decision=False),
    safeguards={XB: {"no_solely_automated_decisions": False}},
)
transfer(
    "special-categories-no-breach-notification",
    """The data includes health data (Art. 14(4)); XB-PROS declares no breach
    notification, one of the two safeguards the registry expresses for special
    categories.""",
    handling=_handling(special_categories=["health"]),
    safeguards={XB: {"breach_notification_hours": None}},
    mismatches=(f"{XB}:special_categories",),
)
transfer(
    "special-categories-automated-reported-once",
    """Biometric data; XB-PROS declares neither breach notification nor that it refrains
    from solely automated decisions. The automated-decision declaration is reported once,
    as automated_decision; special_categories reports the breach notification.""",
    handling=_handling(special_categories=["biometric"]),
    safeguards={XB: {"no_solely_automated_decisions": False, "breach_notification_hours": None}},
    mismatches=(f"{XB}:automated_decision", f"{XB}:special_categories"),
)
transfer(
    "special-categories-pass",
    """Biometric data and data about a minor, to a recipient that declares both
    safeguards: no mismatch.""",
    handling=_handling(special_categories=["biometric", "minor"]),
)
transfer(
    "instrument-not-accepted",
    """The legal basis BUDAPEST-2AP.Art7 belongs to the instrument BUDAPEST-2AP; XB-PROS
    accepts only UNTOC.""",
    safeguards={XB: {"accepted_instruments": ["UNTOC"]}},
    mismatches=(f"{XB}:instrument",),
)
transfer(
    "instrument-without-legal-basis",
    """Without a legal basis the instrument check does not run: XB-PROS accepting only
    UNTOC is no mismatch.""",
    safeguards={XB: {"accepted_instruments": ["UNTOC"]}},
    legal_basis=None,
)
transfer(
    "instrument-unknown-accepted-by-prefix",
    """A legal basis of an instrument the shipped vocabulary does not know
    (BILAT-XA-XB.Art3, a bilateral treaty): accepted because XB-PROS lists BILAT-XA-XB
    among its accepted instruments.""",
    safeguards={XB: {"accepted_instruments": ["UNTOC", "BILAT-XA-XB"]}},
    legal_basis="BILAT-XA-XB.Art3",
)
transfer(
    "instrument-unknown-not-accepted",
    """A legal basis of an instrument that neither the vocabulary nor XB-PROS knows: the
    check fails closed.""",
    legal_basis="BILAT-XA-XB.Art3",
    mismatches=(f"{XB}:instrument",),
)
transfer(
    "several-recipients",
    """Three recipients: XB-PROS keeps data too long and shares it domestically, XC-CUST
    is suspended, XD-FIU matches. Every mismatch is reported, recipients in the order
    given, kinds in the order of the checks.""",
    recipients=(XB, XC, XD),
    safeguards={XB: {"max_retention_days": 730, "onward_transfer": "domestic_same_conditions"}},
    suspended=(XC,),
    mismatches=(f"{XB}:retention", f"{XB}:onward_transfer", f"{XC}:suspended"),
)


# -- use cases ------------------------------------------------------------------------------

UseKind = Literal["evidential_use", "onward_transfer", "purpose", "automated_decision"]


@dataclass(frozen=True)
class Grant:
    """A consent grant of XA-NPOL, issued at *issued_at* and recorded then."""

    scope: ConsentScope
    holder: str = XB
    purpose: str | None = None
    onward_recipient: str | None = None
    issued_at: datetime = NOW - timedelta(hours=1)
    valid_for: timedelta = timedelta(days=30)
    other_envelope: bool = False
    """Bind it to another envelope (another digest) of XA-NPOL to XB-PROS."""


@dataclass(frozen=True)
class UseCase:
    id: str
    description: str
    use: dict[str, Any]
    expected: str
    handling: HandlingConditions = field(default_factory=HandlingConditions)
    grants: tuple[Grant, ...] = ()
    suspended: tuple[str, ...] = ()
    sealed_at: datetime = SEALED_AT

    def build(self) -> dict[str, Any]:
        net = _network_with({}, self.suspended)
        envelope = _seal(net, self.handling, self.sealed_at, DeterministicRandom(self.id))
        other: bytes | None = None
        if any(g.other_envelope for g in self.grants):
            other = _seal(
                net, self.handling, self.sealed_at, DeterministicRandom(self.id + "/other")
            )
        with tempfile.TemporaryDirectory() as tmp:
            opened = _open(net, envelope, Path(tmp) / "a.sqlite3")
            other_opened = None if other is None else _open(net, other, Path(tmp) / "b.sqlite3")
        consents: list[dict[str, str]] = []
        for index, g in enumerate(self.grants):
            bound = other_opened if g.other_envelope else opened
            assert bound is not None
            token = issue_grant(
                originator=net.keysets[XA],
                holder=g.holder,
                envelope_jti=bound.jti,
                envelope_digest=bound.digest,
                scope=g.scope,
                purpose=g.purpose,
                onward_recipient=g.onward_recipient,
                valid_for=g.valid_for,
                now=g.issued_at,
                _randbytes=DeterministicRandom(f"{self.id}/grant/{index}"),
            )
            consents.append({"token": token, "recorded_at": rfc3339(g.issued_at)})
        return {
            "id": self.id,
            "description": self.description,
            "kind": "use",
            "now": NOW_TEXT,
            "authority": net.authority.public.to_jwk(),
            "registry": strictjson.loads(net.signed, what="registry", max_bytes=1 << 20),
            "recipient": XB,
            "recipient_keys": net.keysets[XB].private_jwks(SECRET_KEY_ACCESS),
            "envelope": envelope.decode("ascii"),
            "opened": {"digest": opened.digest, "claims": opened.verified_claims()},
            "consents": consents,
            "use": self.use,
            "expected": {"result": self.expected},
        }


def _seal(
    net: TestNetwork, handling: HandlingConditions, at: datetime, rand: DeterministicRandom
) -> bytes:
    return seal_with_randomness(
        RECORD,
        sender=net.keysets[XA],
        to=(XB,),
        registry=net.registry,
        purpose=PURPOSE,
        legal_basis=LEGAL_BASIS,
        case_ref=CASE_REF,
        message_type="spontaneous_information",
        handling=handling,
        ttl=timedelta(days=30),
        now=at,
        randbytes=rand,
    )


def _open(net: TestNetwork, envelope: bytes, replay_path: Path) -> OpenedEnvelope:
    """XB-PROS opens *envelope* at NOW for its own purpose."""
    with open_store(replay_path) as store:
        return open_envelope(
            envelope,
            recipient=net.keysets[XB],
            registry=net.registry,
            replay=ReplayCache(store),
            purpose=PURPOSE,
            actor=ACTOR,
            recorder=None,
            now=NOW,
        )


def run_use(vector: Mapping[str, Any], workdir: Path) -> str:
    """The verifier procedure of specs/vectors/README.md for a use vector: its result.

    Returns ``"allowed"`` or the ``code`` of the :class:`~safeshare.errors.SafeShareError`
    raised; any other exception propagates. Also checks that the envelope opens to the
    vector's ``opened`` claims and digest (AssertionError otherwise). The procedure is
    the conformance adapter's ``check_use`` operation (one implementation of it); its
    temporary stores live in their own directory, so *workdir* is not used.
    """
    del workdir
    try:
        out = op_check_use(dict(vector))
    except SafeShareError as exc:
        return exc.code
    assert out["opened"] == vector["opened"], "the envelope does not open to 'opened'"
    return "allowed"


USE_CASES: Final[list[UseCase]] = []


def use(
    case_id: str,
    description: str,
    use: dict[str, Any],
    expected: str,
    *,
    handling: HandlingConditions | None = None,
    grants: tuple[Grant, ...] = (),
    suspended: tuple[str, ...] = (),
    sealed_at: datetime = SEALED_AT,
) -> None:
    USE_CASES.append(
        UseCase(
            id=f"use-{case_id}",
            description=" ".join(description.split()),
            use=use,
            expected=expected,
            handling=handling or HandlingConditions(),
            grants=grants,
            suspended=suspended,
            sealed_at=sealed_at,
        )
    )


EVIDENCE: Final[dict[str, Any]] = {"kind": "evidential_use"}


def onward(to: str) -> dict[str, Any]:
    return {"kind": "onward_transfer", "to": to}


def purpose(code: str) -> dict[str, Any]:
    return {"kind": "purpose", "purpose": code}


def automated(solely: bool) -> dict[str, Any]:
    return {"kind": "automated_decision", "solely_automated": solely}


# evidential use
use(
    "evidential-no-consent",
    """The default conditions allow use as evidence only with the originator's consent
    (evidential_use: with_consent; UNTOC Art. 18(19)); no grant is on file.""",
    EVIDENCE,
    POLICY_VIOLATION,
)
use(
    "evidential-allowed-by-conditions",
    """The conditions allow use as evidence (evidential_use: allowed): no consent needed.""",
    EVIDENCE,
    ALLOWED,
    handling=_handling(evidential_use="allowed"),
)
use(
    "evidential-valid-consent",
    """A valid grant of XA-NPOL to XB-PROS, scope evidential_use, for exactly this
    envelope's digest.""",
    EVIDENCE,
    ALLOWED,
    grants=(Grant("evidential_use"),),
)
use(
    "evidential-consent-other-envelope",
    """A valid grant of XA-NPOL to XB-PROS, scope evidential_use, but bound to another
    envelope (another digest): it does not serve this one.""",
    EVIDENCE,
    POLICY_VIOLATION,
    grants=(Grant("evidential_use", other_envelope=True),),
)
use(
    "evidential-consent-other-holder",
    """A valid grant of XA-NPOL for this envelope, scope evidential_use, but to XC-CUST:
    XB-PROS cannot rely on it.""",
    EVIDENCE,
    POLICY_VIOLATION,
    grants=(Grant("evidential_use", holder=XC),),
)
use(
    "evidential-consent-other-scope",
    """A grant for this envelope and holder, but for onward transfer to XC-CUST, not
    evidential use.""",
    EVIDENCE,
    POLICY_VIOLATION,
    grants=(Grant("onward_transfer", onward_recipient=XC),),
)
use(
    "evidential-consent-expired",
    """A grant for exactly this use, issued three days before now, valid one day: expired
    (it was recorded while valid).""",
    EVIDENCE,
    POLICY_VIOLATION,
    grants=(
        Grant("evidential_use", issued_at=NOW - timedelta(days=3), valid_for=timedelta(days=1)),
    ),
)
use(
    "evidential-retention-ended",
    """The conditions allow use as evidence, but the retention (1 day from iat, four days
    ago) has ended: the data must be deleted, not used (Art. 14(5)).""",
    EVIDENCE,
    POLICY_VIOLATION,
    handling=_handling(evidential_use="allowed", retention={"max_days": 1}),
)
# onward transfer
use(
    "onward-no-consent",
    """The default conditions allow onward transfer only with the originator's prior
    authorisation (Art. 14(10)); no grant is on file.""",
    onward(XC),
    POLICY_VIOLATION,
)
use(
    "onward-valid-consent",
    """A valid grant of XA-NPOL to XB-PROS, scope onward_transfer to XC-CUST, for this
    envelope.""",
    onward(XC),
    ALLOWED,
    grants=(Grant("onward_transfer", onward_recipient=XC),),
)
use(
    "onward-consent-other-recipient",
    """The grant allows onward transfer to XD-FIU; the transfer is to XC-CUST.""",
    onward(XC),
    POLICY_VIOLATION,
    grants=(Grant("onward_transfer", onward_recipient=XD),),
)
use(
    "onward-forbidden-even-with-consent",
    """The conditions forbid any onward transfer; a grant for exactly this transfer does
    not change the signed conditions.""",
    onward(XC),
    POLICY_VIOLATION,
    handling=_handling(onward_transfer="forbidden"),
    grants=(Grant("onward_transfer", onward_recipient=XC),),
)
use(
    "onward-listed-agency",
    """The conditions allow onward transfer to the listed XC-CUST (allowed_to_listed): no
    consent needed.""",
    onward(XC),
    ALLOWED,
    handling=_handling(onward_transfer="allowed_to_listed", onward_allowed_to=[XC]),
)
use(
    "onward-unlisted-agency",
    """The conditions allow onward transfer only to XC-CUST; the transfer is to XD-FIU.""",
    onward(XD),
    POLICY_VIOLATION,
    handling=_handling(onward_transfer="allowed_to_listed", onward_allowed_to=[XC]),
)
use(
    "onward-listed-agency-suspended",
    """XC-CUST is listed, but suspended in the registry since an hour before now (Art.
    14(15)): no data may be sent to it.""",
    onward(XC),
    POLICY_VIOLATION,
    handling=_handling(onward_transfer="allowed_to_listed", onward_allowed_to=[XC]),
    suspended=(XC,),
)
# purposes
use(
    "purpose-own",
    """Opened for the envelope's own purpose, criminal_investigation.""",
    purpose(PURPOSE),
    ALLOWED,
)
use(
    "purpose-compatible",
    """Opened for prosecution, which the vocabulary lists as compatible with
    criminal_investigation (one step, same case).""",
    purpose("prosecution"),
    ALLOWED,
)
use(
    "purpose-incompatible-no-consent",
    """Opened for intelligence_analysis, not compatible with criminal_investigation, and
    no grant on file (speciality, UNTOC Art. 18(19)).""",
    purpose("intelligence_analysis"),
    POLICY_VIOLATION,
)
use(
    "purpose-valid-consent",
    """Opened for intelligence_analysis with a valid grant of XA-NPOL to XB-PROS, scope
    purpose, purpose intelligence_analysis, for this envelope.""",
    purpose("intelligence_analysis"),
    ALLOWED,
    grants=(Grant("purpose", purpose="intelligence_analysis"),),
)
use(
    "purpose-consent-other-purpose",
    """The grant allows asset_tracing; the envelope is opened for intelligence_analysis.""",
    purpose("intelligence_analysis"),
    POLICY_VIOLATION,
    grants=(Grant("purpose", purpose="asset_tracing"),),
)
use(
    "purpose-consent-other-holder",
    """The grant allows intelligence_analysis, but to XD-FIU, not XB-PROS.""",
    purpose("intelligence_analysis"),
    POLICY_VIOLATION,
    grants=(Grant("purpose", purpose="intelligence_analysis", holder=XD),),
)
use(
    "purpose-consent-expired",
    """The grant allowed intelligence_analysis for one day, three days ago.""",
    purpose("intelligence_analysis"),
    POLICY_VIOLATION,
    grants=(
        Grant(
            "purpose",
            purpose="intelligence_analysis",
            issued_at=NOW - timedelta(days=3),
            valid_for=timedelta(days=1),
        ),
    ),
)
# automated decisions
use(
    "automated-decision-forbidden",
    """A decision based solely on automated processing; the default conditions forbid it
    (no_solely_automated_decision, Art. 14(6)).""",
    automated(True),
    POLICY_VIOLATION,
)
use(
    "automated-decision-by-person",
    """A decision a person takes on the data: always permitted.""",
    automated(False),
    ALLOWED,
)
use(
    "automated-decision-allowed-by-conditions",
    """A solely automated decision; the conditions do not forbid it
    (no_solely_automated_decision false).""",
    automated(True),
    ALLOWED,
    handling=_handling(no_solely_automated_decision=False),
)


# -- writing --------------------------------------------------------------------------------


def check_cases(rendered_files: Mapping[str, bytes]) -> None:
    """Every expectation must be what the library says (a generator bug otherwise)."""
    ids = [c.id for c in TRANSFER_CASES] + [c.id for c in USE_CASES]
    if len(set(ids)) != len(ids):
        raise SystemExit("duplicate vector ids")
    for case in TRANSFER_CASES:
        case.check()
    for use_case in USE_CASES:
        vector = strictjson.loads(
            rendered_files[f"{use_case.id}.json"], what=use_case.id, max_bytes=1 << 22
        )
        with tempfile.TemporaryDirectory() as tmp:
            got = run_use(vector, Path(tmp))
        if got != use_case.expected:
            raise SystemExit(f"{use_case.id}: expected {use_case.expected}, got {got}")
        if got not in (ALLOWED, PolicyError.code):
            raise SystemExit(f"{use_case.id}: unexpected result {got}")


def rendered() -> dict[str, bytes]:
    """File name -> exact bytes."""
    files = {f"{c.id}.json": strictjson.pretty(c.to_json()) for c in TRANSFER_CASES}
    files.update({f"{c.id}.json": strictjson.pretty(c.build()) for c in USE_CASES})
    return files


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the vector files."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; fail on drift")
    parser.add_argument("--dir", type=Path, default=VECTOR_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--no-verify", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    files = rendered()
    if not args.no_verify:
        check_cases(files)
    return write_or_check(
        files,
        args.dir,
        check=args.check,
        name="condition vectors",
        generator="generate_condition_vectors.py",
    )


if __name__ == "__main__":
    sys.exit(main())
