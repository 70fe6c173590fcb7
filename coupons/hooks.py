"""How a coupon redemption joins the event lifecycle (events.extensions), registered by
coupons.apps. Each hook first looks at the event's type, in memory: an event of any other type
costs no query here (tests/events/test_query_count.py).

- `campaign_source`: a COUPON_REDEMPTION event evaluates its code's campaign only (compiled here:
  COUPONS campaigns are never in the running programme, so they never fire on other events).
  The code's state is checked first, without a lock (a fast refusal): the campaign running at
  the event's `issued_at`, uses left, the customer's own uses under its limit (exact: the wallet
  lock serialises the customer's events).
- `grants`: a redemption that would grant nothing is refused, saying why (the campaign's
  per-customer limit, a condition not met with the rule's `requirement` text, the budget).
- `applied`: the use is taken under the code row's lock (a conditional UPDATE: of two customers
  racing for the last use, the second waits, then finds none left and is refused, its event
  rolled back to FAILED), recorded, and announced (COUPON_REDEMPTION).
- `undone`: a reversed redemption frees its use (COUPON_REVERSAL).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F

from campaigns.engine import CompiledCampaign, compile_campaign
from campaigns.models import Campaign, Reward
from core.exceptions import BusinessRuleError, InvalidInput
from coupons.announce import coupon_announce
from coupons.models import CouponCode, CouponUse
from coupons.services import COUPON_REDEMPTION, REDEEMING
from events.rewarding import campaigns_within_limits, event_facts
from wallets.models import Customer

NOT_MET = "Condition was not met"


@dataclass
class Redemption:
    """What the first hook found, for the later ones (kept on the event object, in memory)."""

    code: CouponCode
    campaign: Campaign
    compiled: CompiledCampaign
    payload: dict
    version: int


def campaign_source(event, payload, version):
    if event.type_id != COUPON_REDEMPTION:
        return None
    code_id = REDEEMING.get()
    if code_id is None or (payload.get("coupon") or {}).get("code_id") != code_id:
        raise InvalidInput({"type": f"{COUPON_REDEMPTION} events are recorded by POST /coupons/redeem"})
    code = CouponCode.objects.select_related("campaign").get(pk=code_id)
    campaign = code.campaign
    if not (
        campaign.status == Campaign.Status.ACTIVE
        and campaign.start_date <= event.issued_at
        and (campaign.end_date is None or event.issued_at < campaign.end_date)
    ):
        raise BusinessRuleError(
            f"the campaign of this code is {campaign.derived_status(event.issued_at)}",
            code="coupon_campaign_not_running",
        )
    if code.uses_count >= code.max_uses:
        raise BusinessRuleError("this code has no use left", code="coupon_used_up")
    mine = CouponUse.objects.filter(code=code, customer_id=event.customer_id, reversed_at__isnull=True).count()
    if mine >= code.max_uses_per_customer:
        raise BusinessRuleError(
            f"the customer used this code {mine} time(s), its limit per customer",
            code="coupon_customer_limit",
            limit=code.max_uses_per_customer,
        )
    compiled = compile_campaign(
        id=campaign.pk,
        brand_id=campaign.brand_id,
        rules=campaign.rules,
        budget=campaign.budget,
        limit=campaign.limit,
        start_date=campaign.start_date,
        end_date=campaign.end_date,
        updated_at=campaign.updated_at,
    )
    reward_ids = {str(e["reward_id"]) for r in campaign.rules for e in r.get("effects", [])}
    decimals = {str(pk): d for pk, d in Reward.objects.filter(pk__in=reward_ids).values_list("pk", "decimals")}
    event.coupon_redemption = Redemption(code, campaign, compiled, payload, version)
    return [compiled], decimals


def grants(event, granted, ledger, hold):
    if event.type_id != COUPON_REDEMPTION:
        return granted, {}
    found = getattr(event, "coupon_redemption", None)
    if found is None:  # no campaign was evaluated (the customer's consent): coupon_redeem checks it first
        raise BusinessRuleError("no campaign may reward this customer (consent)", code="no_consent")
    if not granted:
        raise _why_nothing(event, found, ledger)
    return granted, {}


def _why_nothing(event, found: Redemption, ledger) -> BusinessRuleError:
    """Why the code's campaign grants nothing: its per-customer limit, a condition not met, or
    its budget (in that order)."""
    if not campaigns_within_limits(
        [found.compiled], wallet=ledger.wallet, customer_id=event.customer_id, at=event.issued_at
    ):
        return BusinessRuleError(
            "the customer reached the campaign's limit", code="coupon_campaign_limit", limit=found.campaign.limit
        )
    customer = Customer.objects.only("id", "tags", "registration_date", "tier_id").get(pk=event.customer_id)
    facts = event_facts(
        event_type=COUPON_REDEMPTION,
        payload=found.payload,
        customer=customer,
        version=found.version,
        at=event.issued_at,
    )
    matched = [
        rule
        for rule in found.compiled.rules
        if not rule.groups or any(all(check(facts) for check in group) for group in rule.groups)
    ]
    budget = found.campaign.budget
    if matched and budget is not None and not _budget_left(found.campaign):
        return BusinessRuleError("the campaign's budget is spent", code="coupon_budget_exhausted")
    requirement = next((r["requirement"] for r in found.campaign.rules if r.get("requirement")), None) or NOT_MET
    return BusinessRuleError(requirement, code="coupon_requirement_not_met", requirement=requirement)


def _budget_left(campaign: Campaign) -> bool:
    budget, used = Campaign.objects.values_list("budget", "budget_used").get(pk=campaign.pk)
    return budget is None or used < budget


def applied(event, customer, payload, hold, now):
    if event.type_id != COUPON_REDEMPTION:
        return
    found: Redemption = event.coupon_redemption
    code = found.code
    if not CouponCode.objects.filter(pk=code.pk, uses_count__lt=F("max_uses")).update(uses_count=F("uses_count") + 1):
        raise BusinessRuleError("this code has no use left", code="coupon_used_up")
    use = CouponUse.objects.create(code=code, customer_id=event.customer_id, event=event, used_at=now)
    coupon_announce("COUPON_REDEMPTION", event=event, use=use, campaign=found.campaign)


def undone(event, status, now):
    if event.type_id != COUPON_REDEMPTION:
        return
    use = CouponUse.objects.select_related("code__campaign").filter(event_id=event.pk, reversed_at__isnull=True).first()
    if use is None:
        return
    CouponUse.objects.filter(pk=use.pk).update(reversed_at=now)
    use.reversed_at = now
    CouponCode.objects.filter(pk=use.code_id, uses_count__gt=0).update(uses_count=F("uses_count") - 1)
    coupon_announce("COUPON_REVERSAL", event=event, use=use, campaign=use.code.campaign)
