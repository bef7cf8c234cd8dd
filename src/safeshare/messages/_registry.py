"""The message types by ``msg_type`` code, and validation of untrusted drafts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError

from safeshare.envelope._profile import MESSAGE_TYPES
from safeshare.errors import MalformedInputError, UsageError
from safeshare.messages._base import Message, ReplyContext
from safeshare.messages._consent import ConsentGrant, ConsentRefusal, ConsentRequest
from safeshare.messages._notices import BreachNotification, RectificationNotice
from safeshare.messages._problem import SCHEMA_RULE, Problem, problems_from_validation_error
from safeshare.messages._reidentification import ReidentificationRequest
from safeshare.messages._replies import (
    CannotComplyNotice,
    DisclosureResponse,
    MlaResponse,
    PreservationResponse,
    Receipt,
    Refusal,
    StatusUpdate,
)
from safeshare.messages._requests import (
    DisclosureRequest,
    EmergencyRequest,
    MlaRequest,
    PreservationRequest,
    SpontaneousInformation,
)
from safeshare.purpose.vocabulary import Vocabulary

if TYPE_CHECKING:
    from safeshare.envelope import OpenedEnvelope

__all__ = ["MESSAGE_MODELS", "message_from_envelope", "parse_message", "validate_message"]

_MODELS: Final[tuple[type[Message], ...]] = (
    PreservationRequest,
    PreservationResponse,
    DisclosureRequest,
    DisclosureResponse,
    MlaRequest,
    MlaResponse,
    SpontaneousInformation,
    EmergencyRequest,
    ConsentRequest,
    ConsentGrant,
    ConsentRefusal,
    Refusal,
    StatusUpdate,
    CannotComplyNotice,
    BreachNotification,
    RectificationNotice,
    Receipt,
    ReidentificationRequest,
)

#: The model of each envelope ``msg_type`` (exactly the codes of ``MESSAGE_TYPES``).
MESSAGE_MODELS: Final[Mapping[str, type[Message]]] = MappingProxyType(
    {model.msg_type: model for model in _MODELS}
)

if set(MESSAGE_MODELS) != set(MESSAGE_TYPES):  # pragma: no cover - a programming error
    raise RuntimeError("MESSAGE_MODELS does not match envelope MESSAGE_TYPES")


def _unknown_type(msg_type: object) -> Problem:
    return Problem(
        "msg_type",
        f"Message type {msg_type!r} is not known: use one of {', '.join(sorted(MESSAGE_MODELS))}.",
        "specs/safeshare-v1.md section 11.1",
    )


def validate_message(
    msg_type: str,
    data: Mapping[str, Any],
    *,
    vocabulary: Vocabulary | None = None,
    request: ReplyContext | None = None,
    now: datetime | None = None,
) -> list[Problem]:
    """Every problem of the draft *data* of a *msg_type* message, in one list.

    The entry point for ``safeshare request validate FILE``: *data* is the
    draft as parsed JSON (the members of the message model, including
    ``purpose``, ``legal_basis`` and ``case_ref``). Problems of shape
    (unknown members, wrong types) and of completeness are both returned;
    nothing raises for bad input. Print each problem with ``str(problem)`` or
    all of them with :func:`~safeshare.messages.format_problems`.
    """
    model = MESSAGE_MODELS.get(msg_type) if isinstance(msg_type, str) else None
    if model is None:
        return [_unknown_type(msg_type)]
    raw: object = data  # untrusted: parsed JSON of any shape
    if not isinstance(raw, Mapping):
        return [Problem("", "The message must be a JSON object with named members.", SCHEMA_RULE)]
    try:
        message = model.model_validate(dict(raw))
    except ValidationError as exc:
        return problems_from_validation_error(exc)
    return message.validate(vocabulary=vocabulary, request=request, now=now)


def parse_message(msg_type: str, data: Mapping[str, Any]) -> Message:
    """The *msg_type* model of *data*; :class:`MalformedInputError` if its shape is wrong.

    Completeness is not checked: call :meth:`Message.validate` on the result.
    """
    model = MESSAGE_MODELS.get(msg_type)
    if model is None:
        raise UsageError(str(_unknown_type(msg_type).message))
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        problems = problems_from_validation_error(exc)
        raise MalformedInputError(
            f"not a valid {model.title.lower()}: "
            + "; ".join(p.message for p in problems[:3])
            + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
        ) from None


def message_from_envelope(opened: OpenedEnvelope) -> Message:
    """The message carried by a verified envelope, as the model of its ``msg_type``."""
    model = MESSAGE_MODELS.get(opened.message_type)
    if model is None:
        raise MalformedInputError(f"envelope {opened.jti} has an unknown msg_type")
    return model.from_envelope(opened)
