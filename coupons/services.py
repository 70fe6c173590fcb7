"""Every write of coupons: adding codes to a COUPONS campaign, redeeming a code, reversing a use.

Lifecycle of a use: `coupon_redeem` records a COUPON_REDEMPTION event through the one emit
(events.services.event_emit); the hooks of coupons.hooks make that event evaluate the code's
campaign alone, refuse it when the code may not be used, and record the use when it is applied
(RESOLVED: it has its ledger rows, metrics and webhooks like any event). `coupon_reverse`
reverses that event (events.services.event_reverse: debts included) and the undone hook frees
the use; reversing the event by `POST /behavior/events/{id}/reverse` frees it the same way.

Invariants: a code's live uses never pass `max_uses` (a conditional UPDATE under the code row's
lock, and a check constraint), nor a customer's `max_uses_per_customer` (counted under that
customer's wallet lock, which serialises the customer's events); a refused redemption of a
known code is stored as a FAILED event with its machine code (nothing moved); an unknown code
stores nothing.

Lock order (the events' own, then ours last): wallet, the campaign's edit lock (shared) and
budget row, then the code row (the UPDATE of its uses_count); a reversal: event, wallet,
campaign budget row, code row.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.db import transaction

from campaigns.models import Brand, Campaign
from core.exceptions import BusinessRuleError, Conflict, InvalidInput, InvalidTransition, NotFound
from coupons import codes as codegen
from coupons.models import CouponCode, CouponUse
from events.models import Event
from events.services import event_emit, event_reverse
from events.status import Source
from wallets.models import Customer
from wallets.profile import BEHAVIORAL, consent_allows

COUPON_REDEMPTION = "COUPON_REDEMPTION"  # the event type a redemption is recorded as
COUPON_CONSENT = "coupon_campaigns"  # Masivo's consent purpose for coupons
# The code the running coupon_redeem is redeeming: the hooks act on COUPON_REDEMPTION events
# only when it is set (nobody else records one: events.api refuses the type at the edge).
REDEEMING: ContextVar[int | None] = ContextVar("coupon_redeeming", default=None)


def _coupon_campaign(campaign_id) -> Campaign:
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} not found", code="campaign_not_found")
    if campaign.type != Campaign.Type.COUPONS:
        raise InvalidInput(
            {"campaign_id": f"campaign {campaign_id} is a {campaign.type} campaign: codes belong to COUPONS campaigns"}
        )
    return campaign


def coupon_codes_add(
    *,
    campaign_id,
    quantity: int | None = None,
    length: int = codegen.DEFAULT_LENGTH,
    prefix: str = "",
    codes: list[str] | None = None,
    max_uses: int = 1,
    max_uses_per_customer: int = 1,
) -> int:
    """Add `quantity` generated codes, or the supplied `codes`, to a COUPONS campaign, all in
    one transaction; returns how many were added. Raises NotFound, InvalidInput (not a COUPONS
    campaign, a bound, both or neither of quantity and codes), Conflict `code_exists` (a
    supplied code the programme holds already: none is added) or `code_space_exhausted`."""
    if (quantity is None) == (codes is None):
        raise InvalidInput({"quantity": "give either quantity (generated codes) or codes (supplied ones)"})
    if max_uses_per_customer > max_uses:
        raise InvalidInput({"max_uses_per_customer": "must not be above max_uses"})
    prefix = codegen.normalize(prefix or "")
    with transaction.atomic():
        campaign = _coupon_campaign(campaign_id)
        if quantity is not None:
            return codegen.codes_generate(
                campaign_id=campaign.pk,
                quantity=quantity,
                length=length,
                prefix=prefix,
                max_uses=max_uses,
                per_customer=max_uses_per_customer,
            )
        wanted = list(dict.fromkeys(codegen.normalize(c) for c in codes))
        bad = [c for c in wanted if not codegen.CODE_RE.match(c)]
        if bad:
            raise InvalidInput({"codes": f"3 to 64 characters of A-Z, 0-9, - and _ (not: {', '.join(bad[:10])})"})
        taken = sorted(CouponCode.objects.filter(code__in=wanted).values_list("code", flat=True)[:10])
        added = 0
        if not taken:
            added = codegen.codes_insert(
                campaign_id=campaign.pk, codes=wanted, max_uses=max_uses, max_uses_per_customer=max_uses_per_customer
            )
        if taken or added != len(wanted):  # (or one was added meanwhile by another call)
            raise Conflict(
                f"code(s) exist already in the programme ({', '.join(taken) or 'added meanwhile'}); no code was added",
                code="code_exists",
            )
        return added


def code_find(*, code: str, brand_id: str | None = None, brands: set[str] | None = None) -> CouponCode:
    """The code (with its campaign) as the caller may see it: one of another brand than
    `brand_id`, or than the key's `brands`, answers exactly like an unknown code (422
    `coupon_not_found`), never confirming that it exists."""
    found = CouponCode.objects.select_related("campaign").filter(code=codegen.normalize(code or "")).first()
    campaign_brand = found.campaign.brand_id if found else None
    if (
        found is None
        or (brands is not None and campaign_brand is not None and campaign_brand not in brands)
        or (brand_id is not None and campaign_brand is not None and campaign_brand != brand_id)
    ):
        raise BusinessRuleError("unknown coupon code", code="coupon_not_found")
    return found


def coupon_redeem(
    *,
    customer_id: str,
    code: str,
    brand_id: str | None = None,
    platform: str | None = None,
    store_id: str | None = None,
    channel_id: str | None = None,
    brands: set[str] | None = None,
    source: Source = Source.API,
) -> Event:
    """Redeem a code for a customer: a COUPON_REDEMPTION event (RESOLVED) granting what the code's
    campaign grants. Raises NotFound (customer, brand), BusinessRuleError `coupon_not_found`
    (nothing stored), `no_consent` (nothing stored), and after storing the event FAILED (its id in
    `event_id`): `coupon_campaign_not_running`, `coupon_used_up`, `coupon_customer_limit`,
    `coupon_campaign_limit`, `coupon_requirement_not_met` (with `requirement`),
    `coupon_budget_exhausted`."""
    found = code_find(code=code, brand_id=brand_id, brands=brands)
    brand_id = brand_id or found.campaign.brand_id
    if brand_id is None:
        raise InvalidInput({"brand_id": "required for a code of a global campaign (the brand it is redeemed at)"})
    if not Brand.objects.filter(pk=brand_id).exists():
        raise NotFound(f"brand {brand_id!r} not found", code="brand_not_found")
    consent = Customer.objects.filter(pk=customer_id).values_list("consent", flat=True).first()
    if consent is None and not Customer.objects.filter(pk=customer_id).exists():
        raise NotFound(f"customer {customer_id!r} not found", code="customer_not_found")
    for purpose in (COUPON_CONSENT, BEHAVIORAL):
        if not consent_allows(consent, purpose):
            raise BusinessRuleError(f"the customer's consent has {purpose}: false", code="no_consent", purpose=purpose)
    order = {k: v for k, v in (("store_id", store_id), ("channel_id", channel_id)) if v}
    payload = {
        "customer_id": customer_id,
        "brand_id": brand_id,
        "type": COUPON_REDEMPTION,
        **({"platform": platform} if platform else {}),
        **({"order": order} if order else {}),
        "coupon": {"code": found.code, "code_id": found.pk, "campaign_id": str(found.campaign_id)},
    }
    token = REDEEMING.set(found.pk)
    try:
        return event_emit(payload=payload, source=source)
    finally:
        REDEEMING.reset(token)


def coupon_reverse(
    *, customer_id: str, code: str, reason: str = "", brands: set[str] | None = None, source: Source = Source.API
) -> Event:
    """Reverse the customer's latest live use of the code: its event is reversed (what it granted
    taken back, a debt if it was spent) and the use freed (coupons.hooks). Raises NotFound
    (customer), BusinessRuleError `coupon_not_found` / `coupon_not_redeemed` (the customer never
    used it), Conflict `coupon_already_reversed` (every use of it by the customer is reversed,
    or a concurrent reversal won)."""
    found = code_find(code=code, brands=brands)
    if not Customer.objects.filter(pk=customer_id).exists():
        raise NotFound(f"customer {customer_id!r} not found", code="customer_not_found")
    uses = CouponUse.objects.filter(code=found, customer_id=customer_id)
    if brands is not None:  # a brand-restricted key reverses the uses recorded at its brands only
        uses = uses.filter(event__brand_id__in=brands)
    use = uses.filter(reversed_at__isnull=True).order_by("-used_at", "-id").first()
    if use is None:
        if uses.exists():
            raise Conflict("every use of this code by the customer is reversed already", code="coupon_already_reversed")
        raise BusinessRuleError("the customer has not redeemed this code", code="coupon_not_redeemed")
    try:
        return event_reverse(event_id=use.event_id, reason=reason or f"coupon {found.code} reversed", source=source)
    except InvalidTransition:
        raise Conflict("this use of the code is reversed already", code="coupon_already_reversed") from None
