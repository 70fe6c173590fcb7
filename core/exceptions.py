"""Domain errors. Services raise these; the API, admin and commands turn them into answers.

Each carries a machine `code` and the HTTP status it maps to, so the mapping lives in one place.
"""

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, details: Any = None, *, code: str | None = None, **extra: Any):
        self.details = details if details is not None else self.__class__.__doc__
        if code:
            self.code = code
        self.extra = extra
        super().__init__(str(self.details))


class InvalidInput(DomainError):
    """The request is not valid."""

    status_code = 400
    code = "validation_error"


class NotFound(DomainError):
    """No such object."""

    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    """The request conflicts with the current state."""

    status_code = 409
    code = "conflict"


class InvalidTransition(Conflict):
    """The event's status does not allow this action."""

    code = "invalid_transition"

    def __init__(self, *, action: str, status: str, details: str | None = None):
        super().__init__(details or f"cannot {action} an event in status {status}", status=status)
        self.status = status


class Busy(DomainError):
    """The request met a change in progress it must not race with; send it again (nothing was stored)."""

    status_code = 503
    code = "busy"
    retry_after = 1  # seconds, sent as Retry-After


class BusinessRuleError(DomainError):
    """A valid request that the programme's rules refuse."""

    status_code = 422
    code = "unprocessable"


class InsufficientBalance(BusinessRuleError):
    """The wallet does not hold enough of a reward for the redemption."""

    code = "insufficient_balance"


class LimitExceeded(BusinessRuleError):
    """The event would grant past a bound of the amounts (core.amounts: MAX_EVENT_GRANT per event,
    MAX_WALLET_AMOUNT per wallet, per reward). Refused like an input out of its bounds: 422 and
    nothing stored (no FAILED event either), so that the same request can be sent again once the
    programme or the order is corrected. A queued event (?async=true) that meets it ends FAILED
    with the limit as its reason, as every event refused by its worker does."""

    code = "limit_exceeded"
