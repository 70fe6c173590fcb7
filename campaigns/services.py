"""Writes to the programme's definition: brands, rewards, tiers, event types, campaigns, API keys.

Campaign rules and tier entry conditions are validated here (SPEC section 4: a wrong field,
operator or value is refused at save time, never at event time); each rule gets a stable id
that grants cite. Every change moves the programme's version (campaigns.signals), so the next
event in every process sees it.

Decisions:
- A campaign's rules are frozen once it has started: it has been ACTIVE and its start_date has
  passed (`was_active`). Changing them then answers 409 `campaign_frozen`; `campaign_copy`
  makes an editable INACTIVE copy. Name, status, end_date and budget (never below what was
  already granted) stay editable.
- A budget caps everything a campaign grants: set on a campaign that already granted, it
  counts those grants (to live events) at once and may not be set below them.
- Deleting is refused with 409 `in_use` while anything refers to the object (events, lines,
  customers, campaigns); deactivate instead.
- A reward's `type` and `decimals` are fixed once it is created (amounts already issued depend
  on them).
"""
import uuid
from datetime import datetime
from decimal import Decimal

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, Sum
from django.utils import timezone

from campaigns.engine import validate_conditions, validate_rules
from campaigns.models import ApiKey, Brand, Campaign, EventType, Reward, Tier
from campaigns.redemption import conditions_problems
from core.exceptions import Conflict, InvalidInput, NotFound

LIMIT_PERIODS = ("lifetime", "day", "week", "month")


def _get(model, pk, what: str):
    try:
        obj = model.objects.filter(pk=pk).first()
    except (ValidationError, ValueError, TypeError):  # an id of the wrong form is simply unknown
        obj = None
    if obj is None:
        raise NotFound(f"{what} {pk!r} not found", code=f"{what.replace(' ', '_')}_not_found")
    return obj


def _delete(obj, what: str) -> None:
    try:
        with transaction.atomic():
            obj.delete()
    except ProtectedError as exc:
        raise Conflict(f"{what} is in use ({len(exc.protected_objects)} references); deactivate it instead",
                       code="in_use") from None


def _save(obj, fields: dict) -> None:
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.save(update_fields=[*fields, "updated_at"])


# ---- brands -------------------------------------------------------------------------------------


def _create_unique(model, conflict: str, code: str, **fields):
    """Insert; a uniqueness violation (the database decides, never a look-up first) is a Conflict."""
    try:
        with transaction.atomic():
            return model.objects.create(**fields)
    except IntegrityError as exc:
        raise Conflict(conflict, code=code) from exc


def brand_create(*, id: str, name: str) -> Brand:
    """Raises Conflict if the id is taken."""
    return _create_unique(Brand, f"brand {id!r} already exists", "brand_exists", id=id, name=name)


def brand_update(*, brand_id: str, name: str) -> Brand:
    brand = _get(Brand, brand_id, "brand")
    _save(brand, {"name": name})
    return brand


def brand_delete(*, brand_id: str) -> None:
    _delete(_get(Brand, brand_id, "brand"), "the brand")


def _brand(brand_id: str | None) -> Brand | None:
    return None if brand_id is None else _get(Brand, brand_id, "brand")


# ---- rewards ------------------------------------------------------------------------------------


def reward_create(*, brand_id: str | None, name: str, type: str, decimals: int = 2,
                  conditions: dict | None = None, attributes: dict | None = None) -> Reward:
    """Raises InvalidInput for conditions campaigns.redemption does not understand."""
    errors = conditions_problems(type, conditions or {})
    if errors:
        raise InvalidInput(errors)
    return Reward.objects.create(brand=_brand(brand_id), name=name, type=type, decimals=decimals,
                                 conditions=conditions or {}, attributes=attributes or {})


def reward_update(*, reward_id, **fields) -> Reward:
    """Name, conditions and attributes; type and decimals are fixed (InvalidInput)."""
    reward = _get(Reward, reward_id, "reward")
    fixed = {k for k in ("type", "decimals", "brand_id") if k in fields and fields[k] != getattr(reward, k)}
    if fixed:
        raise InvalidInput({k: "cannot change once the reward exists" for k in sorted(fixed)})
    if "conditions" in fields:
        errors = conditions_problems(reward.type, fields["conditions"])
        if errors:
            raise InvalidInput(errors)
    _save(reward, {k: v for k, v in fields.items() if k in ("name", "conditions", "attributes")})
    return reward


def reward_delete(*, reward_id) -> None:
    reward = _get(Reward, reward_id, "reward")
    if any(str(e.get("reward_id")) == str(reward.pk) for c in Campaign.objects.only("rules")
           for r in c.rules for e in r.get("effects", [])):
        raise Conflict("the reward is granted by a campaign", code="in_use")
    _delete(reward, "the reward")


# ---- tiers ----------------------------------------------------------------------------------------


def tier_condition_errors(conditions) -> dict[str, str]:
    """Tiers read the customer only (after the event), never their own tier."""
    return validate_conditions(
        conditions, "entry_conditions", scope=" (tiers use customer.* fields)",
        allowed=lambda name: str(name).startswith("customer.") and name != "customer.tier_level")


def tier_create(*, name: str, level: int, entry_conditions: list | None = None) -> Tier:
    """Raises InvalidInput (conditions), Conflict (level taken)."""
    entry_conditions = [] if entry_conditions is None else entry_conditions
    errors = tier_condition_errors(entry_conditions)
    if errors:
        raise InvalidInput(errors)
    return _create_unique(Tier, f"a tier of level {level} exists", "tier_level_taken", name=name, level=level,
                          entry_conditions=entry_conditions)


def tier_update(*, tier_id, **fields) -> Tier:
    tier = _get(Tier, tier_id, "tier")
    if "entry_conditions" in fields:
        errors = tier_condition_errors(fields["entry_conditions"])
        if errors:
            raise InvalidInput(errors)
    if "level" in fields and tier.level == 1 and fields["level"] != 1:
        raise InvalidInput({"level": "the base tier stays at level 1"})
    try:
        with transaction.atomic():
            _save(tier, fields)
    except IntegrityError as exc:
        raise Conflict(f"a tier of level {fields.get('level')} exists", code="tier_level_taken") from exc
    return tier


def tier_delete(*, tier_id) -> None:
    tier = _get(Tier, tier_id, "tier")
    if tier.level == 1:
        raise Conflict("the base tier cannot be deleted", code="in_use")
    if any(str(e.get("tier_id")) == str(tier.pk) for c in Campaign.objects.only("rules")
           for r in c.rules for e in r.get("effects", [])):
        raise Conflict("a campaign effect is limited to this tier", code="in_use")
    _delete(tier, "the tier")


# ---- event types ------------------------------------------------------------------------------------


def event_type_create(*, name: str, tracking_only: bool = False) -> EventType:
    return _create_unique(EventType, f"event type {name!r} exists", "event_type_exists", name=name,
                          tracking_only=tracking_only)


def event_type_update(*, name: str, tracking_only: bool) -> EventType:
    event_type = _get(EventType, name, "event type")
    if event_type.built_in and tracking_only:
        raise InvalidInput({"tracking_only": "built-in event types are loyalty types"})
    if tracking_only and Campaign.objects.filter(trigger=event_type).exists():
        raise Conflict(f"campaigns are triggered by {name}; it cannot become tracking-only", code="in_use")
    _save(event_type, {"tracking_only": tracking_only})
    return event_type


def event_type_delete(*, name: str) -> None:
    event_type = _get(EventType, name, "event type")
    if event_type.built_in:
        raise Conflict("built-in event types cannot be deleted", code="in_use")
    _delete(event_type, "the event type")


# ---- campaigns ----------------------------------------------------------------------------------------


def limit_errors(limit) -> dict[str, str]:
    if limit is None:
        return {}
    if (not isinstance(limit, dict) or set(limit) != {"count", "period"} or isinstance(limit["count"], bool)
            or not isinstance(limit["count"], int) or not 1 <= limit["count"] <= 1_000_000
            or limit["period"] not in LIMIT_PERIODS):
        return {"limit": f'must be {{"count": 1..1000000, "period": one of {", ".join(LIMIT_PERIODS)}}} or null'}
    return {}


def rule_errors(rules, brand: Brand | None) -> dict[str, str]:
    rewards = Reward.objects.filter(brand__isnull=True)
    if brand is not None:
        rewards = rewards | Reward.objects.filter(brand=brand)
    return validate_rules(rules, {str(pk) for pk in rewards.values_list("pk", flat=True)},
                          {str(pk) for pk in Tier.objects.values_list("pk", flat=True)})


def with_rule_ids(rules: list) -> list:
    out = []
    for rule in rules:
        rule = {**rule, "id": str(rule.get("id") or uuid.uuid4().hex[:12])}
        rule["effects"] = [{**e, "reward_id": str(e["reward_id"]),
                            **({"tier_id": str(e["tier_id"])} if e.get("tier_id") else {})} for e in rule["effects"]]
        out.append(rule)
    ids = [r["id"] for r in out]
    if len(set(ids)) != len(ids):
        raise InvalidInput({"rules": "rule ids must be unique within a campaign"})
    return out


def _trigger_errors(trigger: str) -> dict[str, str]:
    event_type = EventType.objects.filter(pk=trigger).first()
    if event_type is None:
        return {"trigger": f"unknown event type {trigger!r}"}
    if event_type.tracking_only:
        return {"trigger": f"{trigger} is a tracking-only event type: it never triggers campaigns"}
    return {}


def campaign_create(*, brand_id: str | None, name: str, trigger: str, start_date: datetime,
                    end_date: datetime | None = None, rules: list, type: str = Campaign.Type.BEHAVIOR,
                    status: str = Campaign.Status.ACTIVE, budget: Decimal | None = None,
                    limit: dict | None = None) -> Campaign:
    """Validate the rules against the rewards this campaign may grant (its brand's and the
    global ones) and the tiers, give each rule an id, and save. Raises InvalidInput naming the
    rule, group and condition, NotFound for the brand."""
    brand = _brand(brand_id)
    errors = {}
    errors.update(_trigger_errors(trigger))
    if end_date is not None and end_date < start_date:
        errors["end_date"] = "must not be before start_date"
    errors.update(limit_errors(limit))
    errors.update(rule_errors(rules, brand))
    if errors:
        raise InvalidInput(errors)
    return Campaign.objects.create(
        brand=brand, name=name, type=type, status=status, trigger_id=trigger, start_date=start_date,
        end_date=end_date, budget=budget, limit=limit, rules=with_rule_ids(rules),
        was_active=status == Campaign.Status.ACTIVE,
    )


def campaign_update(*, campaign_id, **fields) -> Campaign:
    """Change a campaign. Locks its row (the budget counter lives there). Raises Conflict
    `campaign_frozen` for rule, trigger, brand or start changes once it has started, InvalidInput."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=_get(Campaign, campaign_id, "campaign").pk).get()
        now = timezone.now()
        frozen_fields = {"rules", "trigger", "brand_id", "start_date", "type"} & set(fields)
        if campaign.is_frozen(now) and any(fields[f] != _current(campaign, f) for f in frozen_fields):
            raise Conflict("the campaign has started: its rules, trigger, brand and start are frozen; "
                           "copy it to change them", code="campaign_frozen")
        brand = _brand(fields["brand_id"]) if "brand_id" in fields else campaign.brand
        errors = {}
        if "trigger" in fields:
            errors.update(_trigger_errors(fields["trigger"]))
        start, end = fields.get("start_date", campaign.start_date), fields.get("end_date", campaign.end_date)
        if end is not None and end < start:
            errors["end_date"] = "must not be before start_date"
        if "budget" in fields and fields["budget"] is not None and campaign.budget is None:
            # A budget caps everything the campaign grants: what it granted without one counts.
            campaign.budget_used = _count_past_grants(campaign)
            Campaign.objects.filter(pk=campaign.pk).update(budget_used=campaign.budget_used)
        if "budget" in fields and fields["budget"] is not None and fields["budget"] < campaign.budget_used:
            errors["budget"] = f"must not be below what was already granted ({campaign.budget_used})"
        errors.update(limit_errors(fields.get("limit")))
        if "rules" in fields or "brand_id" in fields:
            errors.update(rule_errors(fields.get("rules", campaign.rules), brand))
        if errors:
            raise InvalidInput(errors)
        if "rules" in fields:
            fields["rules"] = with_rule_ids(fields["rules"])
        if "brand_id" in fields:
            fields.pop("brand_id")
            fields["brand"] = brand
        if "trigger" in fields:
            fields["trigger_id"] = fields.pop("trigger")
        if fields.get("status") == Campaign.Status.ACTIVE:
            fields["was_active"] = True
        _save(campaign, fields)
    return campaign


def _count_past_grants(campaign: Campaign) -> Decimal:
    """What a campaign without a budget has granted to live events, now marked as counted so
    that their undoing gives it back. The models are looked up by name: this app does not
    import the apps built on it (wallets, events), whose rows these are."""
    line_model, event_model = apps.get_model("wallets", "WalletLine"), apps.get_model("events", "Event")
    lines = line_model.objects.filter(
        campaign=campaign, event_id__in=event_model.objects.filter(status__in=event_model.LIVE).values("id"))
    lines.update(budgeted=True)
    total = lines.aggregate(total=Sum("amount"))["total"]  # SQLite sums as float: back to 4 places
    return Decimal(0) if total is None else Decimal(total).quantize(Decimal("0.0001"))


def _current(campaign: Campaign, field: str):
    return {"trigger": campaign.trigger_id, "brand_id": campaign.brand_id}.get(field, getattr(campaign, field, None))


def campaign_copy(*, campaign_id, name: str | None = None, start_date: datetime | None = None) -> Campaign:
    """An INACTIVE, editable copy with the same definition and a fresh budget counter."""
    source = _get(Campaign, campaign_id, "campaign")
    start = start_date or max(source.start_date, timezone.now())
    end = source.end_date if source.end_date is None or source.end_date >= start else None
    return Campaign.objects.create(
        brand=source.brand, name=name or f"Copy of {source.name}"[:255], type=source.type,
        status=Campaign.Status.INACTIVE, trigger_id=source.trigger_id, start_date=start, end_date=end,
        budget=source.budget, limit=source.limit, rules=source.rules,
    )


def campaign_delete(*, campaign_id) -> None:
    campaign = _get(Campaign, campaign_id, "campaign")
    if campaign.is_frozen(timezone.now()):
        raise Conflict("the campaign has started; deactivate it instead", code="in_use")
    _delete(campaign, "the campaign")


# ---- API keys -------------------------------------------------------------------------------------------


def api_key_create(*, name: str, brand_ids: list[str] | None = None) -> tuple[ApiKey, str]:
    """Create a key; the raw key is returned once and never stored."""
    with transaction.atomic():
        key, raw = ApiKey.generate(name=name)
        if brand_ids:
            key.brands.set([_brand(b) for b in brand_ids])
    return key, raw
