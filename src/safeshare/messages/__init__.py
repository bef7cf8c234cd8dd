"""The treaty message types: drafts that say, before sealing, everything that is missing.

Each message type of ``specs/safeshare-v1.md`` section 11.1 is a pydantic model in
:data:`MESSAGE_MODELS`, keyed by its ``msg_type`` code. A model accepts an
incomplete draft; :meth:`Message.validate` returns *every* problem at once as
:class:`Problem` objects (field, message for a caseworker, rule), and
:meth:`Message.require_valid` raises :class:`~safeshare.errors.PolicyError`
listing them. :func:`validate_message` does the same for untrusted JSON (the
CLI's ``safeshare request validate FILE``).

Replies and other follow-ups reference the envelope they follow and inherit
its purpose and case: build them with :func:`inherit` (from the verified
request) and :meth:`ReplyContext.reply`, and check received ones with
``validate(request=inherit(stored_request))``. ``specs/safeshare-v1.md`` section 11 lists the
fields and rules of every type with the treaty article each rule comes from.

Example::

    problems = validate_message("mla_request", draft)
    if problems:
        print(format_problems(problems, title="The MLA request"))
    else:
        envelope = seal(**parse_message("mla_request", draft).seal_arguments(), sender=..., ...)
"""

from safeshare.messages._base import (
    Authority,
    Contact,
    DataItem,
    EnvelopeRef,
    Message,
    Person,
    ReplyContext,
    inherit,
)
from safeshare.messages._consent import ConsentGrant, ConsentRefusal, ConsentRequest
from safeshare.messages._notices import BreachNotification, Correction, RectificationNotice
from safeshare.messages._problem import Problem, format_problems
from safeshare.messages._registry import (
    MESSAGE_MODELS,
    message_from_envelope,
    parse_message,
    validate_message,
)
from safeshare.messages._reidentification import ReidentificationRequest
from safeshare.messages._replies import (
    REQUEST_TYPES,
    CannotComplyNotice,
    DisclosureResponse,
    MlaResponse,
    PreservationResponse,
    Receipt,
    Refusal,
    Reply,
    Result,
    StatusUpdate,
)
from safeshare.messages._requests import (
    DisclosureRequest,
    EmergencyRequest,
    MlaRequest,
    PreservationRequest,
    SpontaneousInformation,
)

__all__ = [
    "MESSAGE_MODELS",
    "REQUEST_TYPES",
    "Authority",
    "BreachNotification",
    "CannotComplyNotice",
    "ConsentGrant",
    "ConsentRefusal",
    "ConsentRequest",
    "Contact",
    "Correction",
    "DataItem",
    "DisclosureRequest",
    "DisclosureResponse",
    "EmergencyRequest",
    "EnvelopeRef",
    "Message",
    "MlaRequest",
    "MlaResponse",
    "Person",
    "PreservationRequest",
    "PreservationResponse",
    "Problem",
    "Receipt",
    "RectificationNotice",
    "Refusal",
    "ReidentificationRequest",
    "Reply",
    "ReplyContext",
    "Result",
    "SpontaneousInformation",
    "StatusUpdate",
    "format_problems",
    "inherit",
    "message_from_envelope",
    "parse_message",
    "validate_message",
]
