"""Building states through the services, and reading balances the way the API does."""
from decimal import Decimal

from django.utils import timezone

from events.services import event_emit
from wallets.models import Customer, WalletTotal
from wallets.selectors import wallet_summary


def emit(customer, brand, *, type="PURCHASE", value=None, purchase_id=None, redeem=None, fulfilled=True,
         reserve=None, issued_at=None, **extra):
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


def stored_total(customer, reward) -> WalletTotal | None:
    return WalletTotal.objects.filter(wallet__customer=customer, reward=reward).first()


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
