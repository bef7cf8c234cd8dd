"""safeshare: signed, purpose-bound, privacy-minimizing cross-agency sharing.

The names most users need are here; everything else lives in its module
(``safeshare.keys``, ``safeshare.registry``, ``safeshare.errors``, ...).
Modules and packages whose names start with an underscore are private.
"""

from safeshare.errors import SafeShareError
from safeshare.keys import (
    SECRET_KEY_ACCESS,
    AgencyKeySet,
    DecryptionKey,
    EncryptionKey,
    SigningKey,
    VerifyKey,
)
from safeshare.registry import (
    Agency,
    ContactPoint,
    RegistryDocument,
    RegistryKey,
    RegistryState,
    Safeguards,
    TrustRegistry,
    sign_registry,
)

__version__ = "0.1.0"

__all__ = [
    "SECRET_KEY_ACCESS",
    "Agency",
    "AgencyKeySet",
    "ContactPoint",
    "DecryptionKey",
    "EncryptionKey",
    "RegistryDocument",
    "RegistryKey",
    "RegistryState",
    "SafeShareError",
    "Safeguards",
    "SigningKey",
    "TrustRegistry",
    "VerifyKey",
    "__version__",
    "sign_registry",
]
