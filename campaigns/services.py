"""Writes to the programme's definition: brands, rewards, event types, campaigns, API keys.

Campaign rules are validated here (SPEC section 4: a wrong field, operator or value is refused
at save time, never at event time) and each rule gets a stable id that grants cite.
"""
import uuid
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction

from campaigns.engine import validate_rules
from campaigns.models import ApiKey, Brand, Campaign, EventType, Reward
from core.exceptions import Conflict, InvalidInput, NotFound


def brand_create(*, id: str, name: str) -> Brand:
    """Raises Conflict if the id is taken."""
    try:
        with transaction.atomic():
            return Brand.objects.create(id=id, name=name)
    except IntegrityError as exc:
        raise Conflict(f"brand {id!r} already exists", code="brand_exists") from exc


def _brand(brand_id: str | None) -> Brand | None:
    if brand_id is None:
        return None
    brand = Brand.objects.filter(pk=brand_id).first()
    if brand is None:
        raise NotFound(f"brand {brand_id!r} not found", code="brand_not_found")
    return brand


def reward_create(*, brand_id: str | None, name: str, type: str, decimals: int = 2,
                  conditions: dict | None = None, attributes: dict | None = None) -> Reward:
    return Reward.objects.create(brand=_brand(brand_id), name=name, type=type, decimals=decimals,
                                 conditions=conditions or {}, attributes=attributes or {})


def campaign_create(*, brand_id: str | None, name: str, trigger: str, start_date: datetime,
                    end_date: datetime | None = None, rules: list, type: str = Campaign.Type.BEHAVIOR,
                    status: str = Campaign.Status.ACTIVE, budget: Decimal | None = None) -> Campaign:
    """Validate the rules against the rewards this campaign may grant (its brand's and the
    global ones), give each rule an id, and save. Raises InvalidInput naming the rule, group
    and condition, NotFound for the brand."""
    brand = _brand(brand_id)
    trigger_type = EventType.objects.filter(pk=trigger).first()
    errors = {}
    if trigger_type is None:
        errors["trigger"] = f"unknown event type {trigger!r}"
    if end_date is not None and end_date < start_date:
        errors["end_date"] = "must not be before start_date"
    rewards = Reward.objects.filter(brand__isnull=True)
    if brand is not None:
        rewards = rewards | Reward.objects.filter(brand=brand)
    errors.update(validate_rules(rules, {str(pk) for pk in rewards.values_list("pk", flat=True)}))
    if errors:
        raise InvalidInput(errors)
    rules = [{**rule, "id": str(rule.get("id") or uuid.uuid4().hex[:12])} for rule in rules]
    for rule in rules:
        for effect in rule["effects"]:
            effect["reward_id"] = str(effect["reward_id"])
    return Campaign.objects.create(brand=brand, name=name, type=type, status=status, trigger=trigger_type,
                                   start_date=start_date, end_date=end_date, budget=budget, rules=rules)


def api_key_create(*, name: str, brand_ids: list[str] | None = None) -> tuple[ApiKey, str]:
    """Create a key; the raw key is returned once and never stored."""
    with transaction.atomic():
        key, raw = ApiKey.generate(name=name)
        if brand_ids:
            key.brands.set([_brand(b) for b in brand_ids])
    return key, raw
