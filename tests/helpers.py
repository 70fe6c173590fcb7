"""Building states through the services, and reading balances the way the API does."""

from decimal import Decimal
from io import StringIO

from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from campaigns.models import Campaign
from events.models import Event
from events.services import event_emit
from wallets.models import Customer, Transaction, WalletLine, WalletTotal
from wallets.selectors import wallet_summary


def emit(
    customer,
    brand,
    *,
    type="PURCHASE",
    value=None,
    purchase_id=None,
    redeem=None,
    fulfilled=True,
    reserve=None,
    issued_at=None,
    **extra,
):
    payload = {"customer_id": customer.pk, "brand_id": brand.pk, "type": type, **extra}
    if value is not None or purchase_id is not None:
        payload["order"] = {"value": Decimal(str(value or 0)), **({"purchase_id": purchase_id} if purchase_id else {})}
    elif type == "PURCHASE":
        payload["order"] = {}
    if redeem:
        payload["redeem"] = [{"id": r.pk, "amount": Decimal(str(a))} for r, a in redeem]
    if fulfilled is False:
        payload["fulfilled"] = False
    if reserve is not None:
        payload["reserve"] = reserve
    if issued_at is not None:
        payload["issued_at"] = issued_at
    return event_emit(payload=payload)


def totals(customer, reward, now=None) -> dict:
    """{total, reserved, pending, debt} of one reward as the API reports it."""
    wallet_id = Customer.objects.get(pk=customer.pk).wallet.pk
    summary = wallet_summary(wallet_id=wallet_id, now=now or timezone.now(), with_lines=False)
    for t in summary["totals"]:
        if t["reward_id"] == str(reward.pk):
            return {k: Decimal(str(t[k])) for k in ("total", "reserved", "pending", "debt")}
    return {"total": Decimal(0), "reserved": Decimal(0), "pending": Decimal(0), "debt": Decimal(0)}


def T4(total, reserved=0, pending=0, debt=0) -> dict:
    """The dict `totals` returns, from numbers: `T4(7, reserved=5, pending=3)`."""
    return {"total": Decimal(total), "reserved": Decimal(reserved), "pending": Decimal(pending), "debt": Decimal(debt)}


def stored_total(customer, reward) -> WalletTotal | None:
    return WalletTotal.objects.filter(wallet__customer=customer, reward=reward).first()


def fresh(event) -> Event:
    """The event as stored now."""
    return Event.objects.get(pk=event.pk)


def lines_of(event) -> list[WalletLine]:
    """The wallet lines the event granted, in creation order."""
    return list(WalletLine.objects.filter(event_id=event.pk).order_by("id"))


def rows_of(event, *types) -> list[tuple]:
    """(type, amount, line id) of every ledger row carrying the event's id, in writing order;
    only the rows of the given transaction types when any are given."""
    rows = Transaction.objects.filter(event_id=event.pk).order_by("id")
    if types:
        rows = rows.filter(type__in=types)
    return list(rows.values_list("type", "amount", "line_id"))


def granted(event, campaign=None) -> Decimal:
    """What the event's lines were granted (by one campaign, or in all)."""
    lines = WalletLine.objects.filter(event_id=event.pk)
    if campaign is not None:
        lines = lines.filter(campaign=campaign)
    return lines.aggregate(s=Sum("amount"))["s"] or Decimal(0)


def budget_used(campaign) -> Decimal:
    return Campaign.objects.values_list("budget_used", flat=True).get(pk=campaign.pk)


def live_granted(campaign) -> Decimal:
    """What the campaign's lines of live (pending or resolved) events hold."""
    live = Event.objects.filter(status__in=Event.LIVE).values("id")
    return WalletLine.objects.filter(campaign=campaign, event_id__in=live).aggregate(s=Sum("amount"))["s"] or Decimal(0)


def registration_of(customer) -> Event:
    """The REGISTRATION event the engine recorded when the customer was registered (events.lifecycle)."""
    return Event.objects.get(customer_id=customer.pk, type_id="REGISTRATION")


def run_command(name: str, *args, **options) -> tuple[str, str]:
    """`manage.py <name>` through call_command, with its output captured: (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def assert_error(response, status: int, error: str, named: str | None = None) -> dict:
    """The response is the API's error shape with this status and code (naming `named`)."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error", "details"}, body
    assert body["error"] == error, body
    assert body["details"], body
    if named is not None:
        assert isinstance(body["details"], dict) and named in body["details"], body["details"]
    return body
