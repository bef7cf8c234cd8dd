"""Purposes, legal bases, handling conditions, consent, and their enforcement.

* :mod:`~safeshare.purpose.vocabulary`: purposes, legal bases and instruments as data;
* :mod:`~safeshare.purpose.conditions`: the handling conditions signed into every envelope;
* :mod:`~safeshare.purpose.consent`: the originator's consent grants and revocations;
* :mod:`~safeshare.purpose.enforce`: purpose and actor enforced where data is opened;
* :mod:`~safeshare.purpose.transfer`: the transfer check before sealing;
* :mod:`~safeshare.purpose.use`: checks for later uses (evidence, onward transfer,
  automated decisions);
* :mod:`~safeshare.purpose.retention`: the retention store and its purge.
"""

from safeshare.purpose.conditions import Evaluation, HandlingConditions, Retention
from safeshare.purpose.consent import (
    CONSENT_SCHEMA,
    CONSENT_SCOPES,
    ConsentGrant,
    ConsentRevocation,
    ConsentScope,
    ConsentStore,
    describe_scope,
    issue_grant,
    issue_revocation,
    verify_grant,
    verify_revocation,
)
from safeshare.purpose.enforce import (
    AuthorizedOpen,
    OpenDecision,
    OpenRequest,
    authorize_open,
    decide_open,
    enforce_open,
    open_request,
)
from safeshare.purpose.retention import (
    RETENTION_SCHEMA,
    PurgedRecord,
    RetainedRecord,
    RetentionEntry,
    RetentionStore,
)
from safeshare.purpose.transfer import (
    Mismatch,
    MismatchKind,
    TransferOverride,
    check_transfer,
    transfer_refusal,
)
from safeshare.purpose.use import (
    check_automated_decision,
    check_evidential_use,
    check_onward_transfer,
)
from safeshare.purpose.vocabulary import (
    Instrument,
    LegalBasis,
    Purpose,
    Vocabulary,
    VocabularyFile,
    load,
    load_default,
    merge,
)

__all__ = [
    "CONSENT_SCHEMA",
    "CONSENT_SCOPES",
    "RETENTION_SCHEMA",
    "AuthorizedOpen",
    "ConsentGrant",
    "ConsentRevocation",
    "ConsentScope",
    "ConsentStore",
    "Evaluation",
    "HandlingConditions",
    "Instrument",
    "LegalBasis",
    "Mismatch",
    "MismatchKind",
    "OpenDecision",
    "OpenRequest",
    "PurgedRecord",
    "Purpose",
    "RetainedRecord",
    "Retention",
    "RetentionEntry",
    "RetentionStore",
    "TransferOverride",
    "Vocabulary",
    "VocabularyFile",
    "authorize_open",
    "check_automated_decision",
    "check_evidential_use",
    "check_onward_transfer",
    "check_transfer",
    "decide_open",
    "describe_scope",
    "enforce_open",
    "issue_grant",
    "issue_revocation",
    "load",
    "load_default",
    "merge",
    "open_request",
    "transfer_refusal",
    "verify_grant",
    "verify_revocation",
]
