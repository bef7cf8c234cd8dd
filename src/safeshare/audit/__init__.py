"""The tamper-evident audit log (RFC 9162 Merkle tree), checkpoints, witnesses, receipts.

* :mod:`safeshare.audit.entry`: :class:`AuditEntry`, metadata-only records
  with one canonical encoding (``entry.encode`` / ``entry.decode``).
* :mod:`safeshare.audit.merkle`: RFC 9162 hashing, proof generation and
  storage-independent proof verification (:func:`verify_inclusion`,
  :func:`verify_consistency`).
* :mod:`safeshare.audit.log`: :class:`AuditLog`, the append-only log on a
  :class:`~safeshare.storage.Store` (group commit, proofs, signed
  checkpoints, full re-verification: :class:`Verification`,
  :class:`StoredCheckpoint`).
* :mod:`safeshare.audit.recorder`: :class:`AccessRecorder`, the interface
  every access path records through; :class:`AuditLogRecorder`,
  :class:`MemoryRecorder`.
* :mod:`safeshare.audit.note` and :mod:`safeshare.audit.checkpoint`: C2SP
  signed notes and tlog-checkpoints.
* :mod:`safeshare.audit.witness`: C2SP tlog-cosignature and a witness that
  cosigns only consistent checkpoints (:class:`Witness`).
* :mod:`safeshare.audit.receipt`: signed receipts of opened envelopes
  (:func:`issue_receipt`, :func:`verify_receipt`, :func:`receipt_for_open`,
  :func:`record_receipt`).
* :mod:`safeshare.audit.report`: the oversight report (:func:`build_report`).

Constants whose name two modules use with different values
(``MAX_TREE_SIZE``, ``DEFAULT_SKEW``) are not re-exported here: import them
from their module.

The receipt names are loaded on first use: :mod:`safeshare.audit.receipt`
depends on :mod:`safeshare.envelope`, which itself records through this
package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from safeshare.audit.checkpoint import (
    MAX_CHECKPOINT_NOTE_BYTES,
    Checkpoint,
    agency_log_origin,
    agency_of_log_origin,
    sign_checkpoint,
    verify_checkpoint,
)
from safeshare.audit.entry import ACTIONS, OUTCOMES, Action, AuditEntry, Outcome
from safeshare.audit.log import AUDIT_SCHEMA, AuditLog, Progress, StoredCheckpoint, Verification
from safeshare.audit.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Frontier,
    GetNode,
    consistency_proof,
    consistency_proof_length,
    inclusion_proof,
    inclusion_proof_length,
    leaf_hash,
    node_hash,
    root,
    root_at,
    verify_consistency,
    verify_inclusion,
)
from safeshare.audit.note import (
    NoteVerifier,
    SignatureVerifier,
    VerifiedSignature,
    VerifierKey,
    format_vkey,
    open_note,
    parse_vkey,
    sign_note,
)
from safeshare.audit.recorder import AccessRecorder, AuditLogRecorder, MemoryRecorder
from safeshare.audit.report import DeniedEntry, GroupCount, Report, build_report
from safeshare.audit.witness import (
    COSIGNATURE_HEADER,
    WITNESS_SCHEMA,
    CosignatureVerifier,
    Evidence,
    Witness,
    WitnessedCheckpoint,
    cosignature_message,
    sign_cosignature,
    verify_cosigned,
)

if TYPE_CHECKING:
    from safeshare.audit.receipt import (
        MAX_RECEIPT_BYTES,
        RECEIPT_TYP,
        Receipt,
        ReceiptClaims,
        issue_receipt,
        receipt_for_open,
        record_receipt,
        verify_receipt,
    )

_LAZY = frozenset(
    {
        "MAX_RECEIPT_BYTES",
        "RECEIPT_TYP",
        "Receipt",
        "ReceiptClaims",
        "issue_receipt",
        "receipt_for_open",
        "record_receipt",
        "verify_receipt",
    }
)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module("safeshare.audit.receipt"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ACTIONS",
    "AUDIT_SCHEMA",
    "COSIGNATURE_HEADER",
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_CHECKPOINT_NOTE_BYTES",
    "MAX_RECEIPT_BYTES",
    "OUTCOMES",
    "RECEIPT_TYP",
    "WITNESS_SCHEMA",
    "AccessRecorder",
    "Action",
    "AuditEntry",
    "AuditLog",
    "AuditLogRecorder",
    "Checkpoint",
    "CosignatureVerifier",
    "DeniedEntry",
    "Evidence",
    "Frontier",
    "GetNode",
    "GroupCount",
    "MemoryRecorder",
    "NoteVerifier",
    "Outcome",
    "Progress",
    "Receipt",
    "ReceiptClaims",
    "Report",
    "SignatureVerifier",
    "StoredCheckpoint",
    "Verification",
    "VerifiedSignature",
    "VerifierKey",
    "Witness",
    "WitnessedCheckpoint",
    "agency_log_origin",
    "agency_of_log_origin",
    "build_report",
    "consistency_proof",
    "consistency_proof_length",
    "cosignature_message",
    "format_vkey",
    "inclusion_proof",
    "inclusion_proof_length",
    "issue_receipt",
    "leaf_hash",
    "node_hash",
    "open_note",
    "parse_vkey",
    "receipt_for_open",
    "record_receipt",
    "root",
    "root_at",
    "sign_checkpoint",
    "sign_cosignature",
    "sign_note",
    "verify_checkpoint",
    "verify_consistency",
    "verify_cosigned",
    "verify_inclusion",
    "verify_receipt",
]
