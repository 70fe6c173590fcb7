"""What members and money announce to webhook endpoints (webhooks.outbox), each inside the
transaction of the change: a customer registered (CUSTOMER_REGISTRATION) or identified
(CUSTOMER_ANONYMOUS_TO_REGISTERED), lines expired by the periodic task (REWARDS_EXPIRED), and
lines about to expire (REWARDS_EXPIRING, `expiring_announce`, once per line).

A body that shows a wallet shows, to an endpoint restricted to a brand, what a key restricted
to that brand sees of it (its brand's and the global rewards).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from wallets.models import Customer, WalletLine
from wallets.selectors import customer_profile, wallet_view
from wallets.serializers import CustomerOut, WalletLineOut, WalletOut
from webhooks.models import ExpiryNotice
from webhooks.outbox import subscribers, webhook_announce

S = WalletLine.State


def customer_announce(
    name: str, customer: Customer, *, brand_id: str | None, version: int | None = None, **extra
) -> None:
    """CUSTOMER_REGISTRATION or CUSTOMER_ANONYMOUS_TO_REGISTERED: the customer and its wallet,
    as the API answers them (wallets.serializers.CustomerOut), and `extra` fields. `version`:
    the programme version read earlier in this transaction, if it was (else one query)."""
    if not subscribers(version):
        return

    def build(brands):
        return {**CustomerOut(customer_profile(customer=customer, brands=brands)).data, **extra}

    webhook_announce(name, brand_id=brand_id, data=build, version=version)


def lines_announce(name: str, *, wallet, lines: list[WalletLine], now: datetime) -> None:
    """REWARDS_EXPIRED or REWARDS_EXPIRING for one wallet's lines: one message per brand the
    lines were earned at (its endpoints and those of every brand get it; a line of no brand, e.g.
    an imported one, goes to the endpoints of every brand only)."""
    by_brand = defaultdict(list)
    for line in lines:
        by_brand[line.brand_id].append(line)
    for brand_id, group in by_brand.items():

        def build(brands, group=group):
            return {
                "customer_id": wallet.customer_id,
                "lines": WalletLineOut(group, many=True).data,
                "wallet": WalletOut(wallet_view(wallet_id=wallet.pk, now=now, brands=brands)).data,
            }

        webhook_announce(name, brand_id=brand_id, data=build)


def _listens(name: str) -> bool:
    return any(name in s.events for s in subscribers())


def lines_expired_announce(*, wallet, lines: list[WalletLine], now: datetime) -> None:
    """REWARDS_EXPIRED for lines the periodic task just expired (the caller's transaction)."""
    if lines and _listens("REWARDS_EXPIRED"):
        lines_announce("REWARDS_EXPIRED", wallet=wallet, lines=lines, now=now)


def expiring_announce(*, now: datetime, limit: int = 1000) -> int:
    """REWARDS_EXPIRING for the AVAILABLE lines that expire within LOYALTY_EXPIRING_NOTICE_DAYS
    and were not announced yet (webhooks.models.ExpiryNotice marks each, in the same
    transaction, the lines claimed with SKIP LOCKED: a line is announced once, whatever runs at
    once). Nothing is read while nobody listens. Returns how
    many lines were announced."""
    if not _listens("REWARDS_EXPIRING"):
        return 0
    horizon = now + timedelta(days=settings.LOYALTY_EXPIRING_NOTICE_DAYS)
    with transaction.atomic():
        lines = list(
            WalletLine.objects.filter(state=S.AVAILABLE, expiration_date__gt=now, expiration_date__lte=horizon)
            .exclude(pk__in=ExpiryNotice.objects.values("line_id"))
            .select_related("wallet")
            .select_for_update(skip_locked=True, of=("self",))  # two runs at once never take one line
            .order_by("expiration_date", "id")[:limit]
        )
        ExpiryNotice.objects.bulk_create([ExpiryNotice(line_id=line.pk) for line in lines])
        by_wallet = defaultdict(list)
        for line in lines:
            by_wallet[line.wallet_id].append(line)
        for group in by_wallet.values():
            lines_announce("REWARDS_EXPIRING", wallet=group[0].wallet, lines=group, now=now)
    return len(lines)
