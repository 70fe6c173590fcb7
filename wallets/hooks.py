"""What wallets asks of the apps above it (which it cannot import): registered by their
AppConfig.ready(). Today one: events.lifecycle records each new customer's REGISTRATION event."""

from collections.abc import Callable
from typing import Any

_registration: Callable[..., Any] | None = None


def set_registration_hook(hook: Callable[..., Any]) -> None:
    """Register what records a new customer's REGISTRATION event; customer_register calls it
    inside its transaction."""
    global _registration
    _registration = hook


def registration_record(customer, *, brand_id: str | None = None):
    """The REGISTRATION event recorded (None if none was)."""
    if _registration is not None:
        return _registration(customer, brand_id=brand_id)
    return None
