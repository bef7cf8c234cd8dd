"""Privacy minimization: record schemas, disclosure plans, pseudonyms, blind index.

* :mod:`safeshare.privacy.secret`: the agency's privacy secret and what is derived from it.
"""

from safeshare.privacy.secret import PrivacySecret

__all__ = ["PrivacySecret"]
