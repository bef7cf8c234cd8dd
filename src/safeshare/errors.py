"""The whole safeshare exception tree.

Every failure safeshare reports is a :class:`SafeShareError`. Exceptions of the
libraries underneath (``cryptography``, ``msgspec``, ``pydantic``, ``json``,
``sqlite3``, ``psycopg``, ``OSError``) are translated at the boundary where they
occur; none of them escapes a public function on untrusted input.

Subclasses are split by *cause*, so that a caller can decide what to do without
parsing messages::

    SafeShareError
    ├── MalformedInputError          bytes, JSON, base64url or structure is wrong
    │   └── OversizedInputError      an input exceeds a documented size cap
    ├── VerificationError            a signature, MAC, digest or binding does not verify
    │   └── DecryptionError          no recipient entry could be decrypted by our key
    ├── PolicyError                  well-formed and authentic, but not allowed
    ├── ValidityError                outside its time window, or seen before
    │   ├── ExpiredError
    │   ├── NotYetValidError
    │   └── ReplayError
    ├── KeyRegistryError             keys, key files and the trust registry
    │   ├── UnknownAgencyError
    │   ├── UnknownKeyError
    │   ├── WrongKeyUseError
    │   ├── KeyRevokedError
    │   ├── KeyNotValidError         outside the key's validity window
    │   ├── AgencySuspendedError
    │   ├── RegistryRollbackError    a registry older than one already accepted
    │   └── KeyFileError             wrong passphrase, corrupted or unreadable key file
    ├── AuditIntegrityError          the audit log or a proof does not check out
    ├── StorageError                 the database or file system failed
    └── UsageError                   the API was called in a way it refuses

Every error carries a ``code`` (a stable, language-neutral name used by the
test vectors and the conformance adapter protocol) and a message written for
the person who has to act on it. :meth:`SafeShareError.diagnostics` returns
the longer explanation that the CLI prints.
"""

from __future__ import annotations

__all__ = [
    "AgencySuspendedError",
    "AuditIntegrityError",
    "DecryptionError",
    "ExpiredError",
    "KeyFileError",
    "KeyNotValidError",
    "KeyRegistryError",
    "KeyRevokedError",
    "MalformedInputError",
    "NotYetValidError",
    "OversizedInputError",
    "PolicyError",
    "RegistryRollbackError",
    "ReplayError",
    "SafeShareError",
    "StorageError",
    "UnknownAgencyError",
    "UnknownKeyError",
    "UsageError",
    "ValidityError",
    "VerificationError",
    "WrongKeyUseError",
]


class SafeShareError(Exception):
    """Base class of every error safeshare raises.

    ``message`` says what went wrong in words the reader can act on;
    ``hint`` (optional) says what to do about it.
    """

    code = "safeshare_error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        """A multi-line explanation for people: the message, then the hint."""
        lines = [f"{type(self).__name__} ({self.code}): {self.message}"]
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.message


class MalformedInputError(SafeShareError):
    """The input is not well-formed: bad bytes, JSON, base64url, or structure."""

    code = "malformed"


class OversizedInputError(MalformedInputError):
    """An input exceeds one of the documented size caps."""

    code = "oversized"


class VerificationError(SafeShareError):
    """A signature, digest, key binding or other cryptographic check failed."""

    code = "verification_failed"


class DecryptionError(VerificationError):
    """The envelope could not be decrypted with our key (or is not for us)."""

    code = "decryption_failed"


class PolicyError(SafeShareError):
    """The input is authentic and well-formed, but the action is not allowed."""

    code = "policy_violation"


class ValidityError(SafeShareError):
    """Something is outside its validity window or has been seen before."""

    code = "invalid_time"


class ExpiredError(ValidityError):
    code = "expired"


class NotYetValidError(ValidityError):
    code = "not_yet_valid"


class ReplayError(ValidityError):
    code = "replay"


class KeyRegistryError(SafeShareError):
    """A key, key file or trust-registry lookup failed."""

    code = "key_registry"


class UnknownAgencyError(KeyRegistryError):
    code = "unknown_agency"


class UnknownKeyError(KeyRegistryError):
    code = "unknown_key"


class WrongKeyUseError(KeyRegistryError):
    code = "wrong_key_use"


class KeyRevokedError(KeyRegistryError):
    code = "key_revoked"


class KeyNotValidError(KeyRegistryError):
    code = "key_not_valid"


class AgencySuspendedError(KeyRegistryError):
    code = "agency_suspended"


class RegistryRollbackError(KeyRegistryError):
    code = "registry_rollback"


class KeyFileError(KeyRegistryError):
    code = "key_file"


class AuditIntegrityError(SafeShareError):
    """The audit log, a checkpoint or a proof does not verify."""

    code = "audit_integrity"


class StorageError(SafeShareError):
    """The storage back end failed; the operation was not carried out."""

    code = "storage"


class UsageError(SafeShareError):
    """The API was used in a way safeshare refuses (a programming error)."""

    code = "usage"


def error_class_for_code(code: str) -> type[SafeShareError]:
    """Return the error class whose ``code`` is *code* (used by the vectors)."""
    for cls in _all_error_classes():
        if cls.code == code:
            return cls
    raise UsageError(f"unknown error code {code!r}")


def _all_error_classes() -> list[type[SafeShareError]]:
    seen: list[type[SafeShareError]] = []
    stack: list[type[SafeShareError]] = [SafeShareError]
    while stack:
        cls = stack.pop()
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    return seen
