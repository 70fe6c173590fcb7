"""Standard Webhooks signatures (https://www.standardwebhooks.com), made by the
`standardwebhooks` package, the specification's own reference code, so a receiver using any of
its libraries verifies what we send.

    webhook-id:         msg_<32 hex>: one per message, the same on every retry
    webhook-timestamp:  seconds since the epoch, when this attempt was made
    webhook-signature:  v1,<base64 HMAC-SHA256 of "id.timestamp.body"> (space-separated, one per
                        secret: after a rotation the old secret signs beside the new one for 24 hours)
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from standardwebhooks.webhooks import Webhook


def signing_secrets(endpoint, *, at: datetime | None = None) -> list[str]:
    """The endpoint's secret, then the previous one while it is still honoured."""
    at = at or timezone.now()
    found = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and at < endpoint.previous_secret_expires_at:
        found.append(endpoint.previous_secret)
    return found


def signature_headers(endpoint, *, msg_id: str, at: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt (`at` is timezone-aware)."""
    signatures = " ".join(Webhook(secret).sign(msg_id, at, body) for secret in signing_secrets(endpoint, at=at))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }
