"""The tamper-evident audit log (RFC 9162 Merkle tree) and its entries.

* :mod:`safeshare.audit.merkle`: RFC 9162 hashing, proof generation and
  storage-independent proof verification.
* :mod:`safeshare.audit.entry`: :class:`AuditEntry`, metadata-only records
  with one canonical encoding.
* :mod:`safeshare.audit.log`: :class:`AuditLog`, the append-only log on a
  :class:`~safeshare.storage.Store` (group commit, proofs, full
  re-verification).
"""

from safeshare.audit.entry import AuditEntry
from safeshare.audit.log import AUDIT_SCHEMA, AuditLog
from safeshare.audit.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    root_at,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "AUDIT_SCHEMA",
    "EMPTY_ROOT",
    "AuditEntry",
    "AuditLog",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "root_at",
    "verify_consistency",
    "verify_inclusion",
]
