"""Reads of events worth naming, and the redeem preview (which writes nothing)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Now
from django.utils import timezone

from campaigns.models import Brand, Campaign, Reward
from core.amounts import cost_of, exact
from core.exceptions import NotFound
from events.metrics import BY_BRAND, metrics_drift
from events.models import Event
from events.redemptions import placement_problem, redemptions_asked
from wallets.models import Customer, Transaction, WalletLine
from wallets.selectors import ledger_drift, wallet_summary

Status = Event.Status
UNDONE = (Status.REVERSED, Status.CANCELLED, Status.EXPIRED, Status.FAILED)
ZERO = Decimal(0)


def event_get(*, event_id) -> Event:
    """The event; NotFound `event_not_found` for an unknown id or one of the wrong form."""
    try:
        return Event.objects.get(pk=event_id)
    except (Event.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotFound(f"event {event_id} not found", code="event_not_found") from None


def events_due(*, now: datetime | None = None) -> QuerySet[Event]:
    """The held events an expiry run expires now (`now` defaults to the database's clock)."""
    return Event.objects.filter(
        status=Status.PENDING,
        fulfilled=False,
        queued=False,
        reservation_expires_at__lte=now if now is not None else Now(),
    )


def events_expired_unfulfilled(*, issued_from: datetime, issued_to: datetime) -> QuerySet[Event]:
    """EXPIRED held events issued in [issued_from, issued_to) not yet fulfilled late."""
    return (
        Event.objects.filter(status=Status.EXPIRED, issued_at__gte=issued_from, issued_at__lt=issued_to)
        .exclude(replaced_by__status__in=Event.LIVE)
        .order_by("issued_at", "id")
    )


def redeem_preview(*, payload: dict) -> dict:
    """The shape events.serializers.PreviewOut renders: what the redemptions of an emit body would do, changing nothing: each with its result or
    error (placement, conditions, balance as it stands now), and the order's value before and
    after the discounts (amount x the reward's conversion factor). Raises what emit raises for
    unknown brand, customer or reward."""
    if not Brand.objects.filter(pk=payload["brand_id"]).exists():
        raise NotFound(f"brand {payload['brand_id']!r} not found", code="brand_not_found")
    customer = Customer.objects.select_related("wallet").filter(pk=payload["customer_id"]).first()
    if customer is None:
        raise NotFound(f"customer {payload['customer_id']!r} not found", code="customer_not_found")
    redemptions = redemptions_asked(payload)
    order = payload.get("order") or {}
    spendable = {
        t["reward_id"]: Decimal(str(t["total"]))
        for t in wallet_summary(wallet_id=customer.wallet.pk, now=timezone.now(), with_lines=False)["totals"]
    }
    factors = {str(r.pk): r.conversion_factor for r in Reward.objects.filter(pk__in={i.reward_id for i in redemptions})}
    results, discount = [], ZERO
    for item in redemptions:
        problem, code = placement_problem(item, order), "reward_not_redeemable_here"
        left = spendable.get(item.reward_id, ZERO)
        if problem is None and item.amount > left:
            problem, code = f"asked {item.amount}, spendable {max(left, ZERO)}", "insufficient_balance"
        value = cost_of(item.amount, factors.get(item.reward_id))  # None: no factor, or past the column
        if problem is None:
            spendable[item.reward_id] = left - item.amount
            if value is not None and item.place.startswith("order"):  # top-level redeem is no order discount
                discount += value
        results.append(
            {
                "place": item.place,
                "reward_id": item.reward_id,
                "amount": item.amount,
                "value": value,
                "status": "OK" if problem is None else "ERROR",
                "error": None if problem is None else {"error": code, "details": problem},
            }
        )
    order_value = order.get("value")
    return {
        "redemptions": results,
        "valid": all(r["status"] == "OK" for r in results),
        "order": {
            "value": order_value,
            "discount": discount,
            "value_after": None if order_value is None else max(order_value - discount, ZERO),
        },
    }


def budget_drift() -> list[str]:
    """Every campaign whose `budget_used` differs from what its lines counted against a budget
    (`budgeted`) granted to live events (held ones included): the counter the budget cut reads
    must be exactly the grants it let through and not given back. One aggregate query. It holds
    with or without a budget now: removing a budget keeps the counter and the lines' marks, and
    giving one again recounts every live grant (campaigns.services.campaign_update)."""
    counted = (
        WalletLine.objects.filter(
            campaign=OuterRef("pk"),
            budgeted=True,
            event_id__in=Event.objects.filter(status__in=Event.LIVE).values("id"),
        )
        .values("campaign")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    rows = Campaign.objects.annotate(counted=Subquery(counted)).values_list("pk", "budget_used", "counted")
    return [
        f"campaign {pk}: budget_used is {used}, its budgeted live grants sum to {exact(counted)}"
        for pk, used, counted in rows
        if exact(used) != exact(counted)
    ]


def ledger_problems() -> list[str]:
    """Every drift between totals, lines and ledger rows, every undone event (reversed,
    cancelled, expired, failed) whose rows do not net to zero, every metric bucket that
    differs from its events (events.metrics), and every campaign budget counter that differs
    from its grants (`budget_drift`): the checks of `ledger_checks`, one after the other."""
    return [problem for _name, check in ledger_checks() for problem in check()]


def ledger_checks() -> list[tuple[str, Callable[[], list[str]]]]:
    """The checks of `ledger_problems`, named, for a command that shows its progress."""
    return [
        ("totals and lines", ledger_drift),
        ("metrics", metrics_drift),
        ("budgets", budget_drift),
        ("undone events", _undone_events_drift),
    ]


def _undone_events_drift() -> list[str]:
    undone = Event.objects.filter(status__in=UNDONE).values("id")
    sums = (
        Transaction.objects.filter(event_id__in=undone).values_list("event_id", "reward_id").annotate(s=Sum("amount"))
    )
    return [
        f"event {event_id} is undone but nets {total} of reward {reward_id}"
        for event_id, reward_id, total in sums
        if exact(total) != 0
    ]


# ---- what a brand-restricted key sees of an event's result --------------------------------------


def visible_rewards(brands: set[str]) -> set[str]:
    """The ids of the rewards a key restricted to `brands` sees: theirs and the global ones."""
    rows = Reward.objects.filter(Q(brand__isnull=True) | Q(brand_id__in=brands)).values_list("pk", flat=True)
    return {str(pk) for pk in rows}


def _lifetime_of(parts: list[dict]) -> dict:
    total = {"number_of_purchases": 0, "spend_total": ZERO, "events": {}, "last_visit": None}
    for part in parts:
        total["number_of_purchases"] += part.get("number_of_purchases") or 0
        total["spend_total"] += Decimal(str(part.get("spend_total") or 0))
        for name, count in (part.get("events") or {}).items():
            total["events"][name] = total["events"].get(name, 0) + count
        seen = part.get("last_visit")
        if seen and (total["last_visit"] is None or seen > total["last_visit"]):  # ISO 8601 UTC texts
            total["last_visit"] = seen
    return total


def result_for_brands(result: dict, *, brands: set[str], rewards: set[str]) -> dict:
    """A stored event result as a key restricted to `brands` sees it: lines, redemptions and
    totals of its brands' and global rewards (`rewards`, from visible_rewards), and the lifetime
    metrics of its brands' events (kept per brand when the result was stored)."""
    if not result:
        return result
    out = dict(result)
    for name in ("accumulations", "redemptions"):
        if name in result:
            out[name] = [item for item in result[name] if str(item.get("reward_id")) in rewards]
    if "wallet" in result:
        totals = result["wallet"].get("totals") or []
        out["wallet"] = {**result["wallet"], "totals": [t for t in totals if str(t.get("reward_id")) in rewards]}
    if "customer" in result:
        by_brand = result["customer"].get(BY_BRAND) or {}
        parts = [metrics for brand_id, metrics in by_brand.items() if brand_id in brands]
        out["customer"] = {**result["customer"], "metrics": {"lifetime": _lifetime_of(parts)}}
    return out
