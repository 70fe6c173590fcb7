"""Writes to the programme's definition other than campaigns: brands, rewards, tiers, event
types and API keys."""

from django.db import IntegrityError, transaction

from campaigns.engine import validate_conditions
from campaigns.models import ApiKey, Brand, Campaign, EventType, Reward, Tier
from campaigns.redemption import conditions_problems
from campaigns.services.common import brand_or_none, create_unique, delete_unless_used, get_or_404, save_fields
from core.amounts import MAX_CONVERSION_FACTOR, PLACES, parse_decimal
from core.exceptions import Conflict, InvalidInput
from core.unset import UNSET, given

# ---- brands -------------------------------------------------------------------------------------


def brand_create(*, id: str, name: str) -> Brand:
    """Raises Conflict if the id is taken."""
    return create_unique(Brand, f"brand {id!r} already exists", "brand_exists", id=id, name=name)


def brand_update(*, brand_id: str, name: str) -> Brand:
    brand = get_or_404(Brand, brand_id, "brand")
    save_fields(brand, {"name": name})
    return brand


def brand_delete(*, brand_id: str) -> None:
    delete_unless_used(get_or_404(Brand, brand_id, "brand"), "the brand")


# ---- rewards ------------------------------------------------------------------------------------


def attributes_problems(attributes) -> dict[str, str]:
    """Problems with a reward's `attributes` as {"attributes.conversion_factor": "..."}; {} if
    none. The conversion factor is bounded (core.amounts.MAX_CONVERSION_FACTOR) so that the cost
    of any ledger row (amount x factor) fits the cost column: refused here, never at event time."""
    if not isinstance(attributes, dict):
        return {"attributes": "must be an object"}
    factor = attributes.get("conversion_factor")
    if factor is None:
        return {}
    number = None if isinstance(factor, bool) else parse_decimal(factor)
    if number is None or number < 0 or number > MAX_CONVERSION_FACTOR or number.as_tuple().exponent < -PLACES:
        return {
            "attributes.conversion_factor": (
                f"must be a number >= 0, at most {MAX_CONVERSION_FACTOR}, with at most {PLACES} decimals"
            )
        }
    return {}


def reward_create(
    *,
    brand_id: str | None,
    name: str,
    type: str,
    decimals: int = 2,
    conditions: dict | None = None,
    attributes: dict | None = None,
) -> Reward:
    """Raises InvalidInput for conditions campaigns.redemption does not understand, or a
    conversion factor out of its bounds (attributes_problems)."""
    errors = {**conditions_problems(type, conditions or {}), **attributes_problems(attributes or {})}
    if errors:
        raise InvalidInput(errors)
    return Reward.objects.create(
        brand=brand_or_none(brand_id),
        name=name,
        type=type,
        decimals=decimals,
        conditions=conditions or {},
        attributes=attributes or {},
    )


def reward_update(
    *,
    reward_id,
    name: str = UNSET,
    conditions: dict = UNSET,
    attributes: dict = UNSET,
    type: str = UNSET,
    decimals: int = UNSET,
    brand_id: str | None = UNSET,
) -> Reward:
    """Name, conditions and attributes; type, decimals and brand are fixed (InvalidInput if
    they are sent with another value, or for conditions or attributes reward_create refuses)."""
    fields = given(
        name=name, conditions=conditions, attributes=attributes, type=type, decimals=decimals, brand_id=brand_id
    )
    reward = get_or_404(Reward, reward_id, "reward")
    fixed = {k for k in ("type", "decimals", "brand_id") if k in fields and fields[k] != getattr(reward, k)}
    if fixed:
        raise InvalidInput({k: "cannot change once the reward exists" for k in sorted(fixed)})
    errors = {}
    if "conditions" in fields:
        errors.update(conditions_problems(reward.type, fields["conditions"]))
    if "attributes" in fields:
        errors.update(attributes_problems(fields["attributes"]))
    if errors:
        raise InvalidInput(errors)
    save_fields(reward, {k: v for k, v in fields.items() if k in ("name", "conditions", "attributes")})
    return reward


def _an_effect_names(key: str, pk) -> bool:
    """Whether some campaign effect names this object (`reward_id` or `tier_id`)."""
    return any(
        str(e.get(key)) == str(pk)
        for c in Campaign.objects.only("rules")
        for r in c.rules
        for e in r.get("effects", [])
    )


def reward_delete(*, reward_id) -> None:
    reward = get_or_404(Reward, reward_id, "reward")
    if _an_effect_names("reward_id", reward.pk):
        raise Conflict("the reward is granted by a campaign", code="in_use")
    delete_unless_used(reward, "the reward")


# ---- tiers ----------------------------------------------------------------------------------------


def tier_condition_errors(conditions) -> dict[str, str]:
    """Tiers read the customer only (after the event), never their own tier."""
    return validate_conditions(
        conditions,
        "entry_conditions",
        scope=" (tiers use customer.* fields)",
        allowed=lambda name: str(name).startswith("customer.") and name != "customer.tier_level",
    )


def tier_create(*, name: str, level: int, entry_conditions: list | None = None) -> Tier:
    """Raises InvalidInput (conditions), Conflict (level taken)."""
    entry_conditions = [] if entry_conditions is None else entry_conditions
    errors = tier_condition_errors(entry_conditions)
    if errors:
        raise InvalidInput(errors)
    return create_unique(
        Tier,
        f"a tier of level {level} exists",
        "tier_level_taken",
        name=name,
        level=level,
        entry_conditions=entry_conditions,
    )


def tier_update(*, tier_id, name: str = UNSET, level: int = UNSET, entry_conditions: list = UNSET) -> Tier:
    """Edit a tier (not a customer's tier: that is the engine's). Raises InvalidInput, Conflict."""
    fields = given(name=name, level=level, entry_conditions=entry_conditions)
    tier = get_or_404(Tier, tier_id, "tier")
    if "entry_conditions" in fields:
        errors = tier_condition_errors(fields["entry_conditions"])
        if errors:
            raise InvalidInput(errors)
    if "level" in fields and tier.level == 1 and fields["level"] != 1:
        raise InvalidInput({"level": "the base tier stays at level 1"})
    try:
        with transaction.atomic():
            save_fields(tier, fields)
    except IntegrityError as exc:
        raise Conflict(f"a tier of level {fields.get('level')} exists", code="tier_level_taken") from exc
    return tier


def tier_delete(*, tier_id) -> None:
    tier = get_or_404(Tier, tier_id, "tier")
    if tier.level == 1:
        raise Conflict("the base tier cannot be deleted", code="in_use")
    if _an_effect_names("tier_id", tier.pk):
        raise Conflict("a campaign effect is limited to this tier", code="in_use")
    delete_unless_used(tier, "the tier")


# ---- event types ------------------------------------------------------------------------------------


def event_type_create(*, name: str, tracking_only: bool = False) -> EventType:
    return create_unique(
        EventType, f"event type {name!r} exists", "event_type_exists", name=name, tracking_only=tracking_only
    )


def event_type_update(*, name: str, tracking_only: bool) -> EventType:
    event_type = get_or_404(EventType, name, "event type")
    if event_type.built_in and tracking_only != event_type.tracking_only:  # a built-in keeps its kind
        if tracking_only:
            raise InvalidInput({"tracking_only": "built-in event types are loyalty types"})
        raise InvalidInput({"tracking_only": f"{name} is recorded by hand only: it stays tracking-only"})
    if tracking_only and Campaign.objects.filter(trigger=event_type).exists():
        raise Conflict(f"campaigns are triggered by {name}; it cannot become tracking-only", code="in_use")
    save_fields(event_type, {"tracking_only": tracking_only})
    return event_type


def event_type_delete(*, name: str) -> None:
    event_type = get_or_404(EventType, name, "event type")
    if event_type.built_in:
        raise Conflict("built-in event types cannot be deleted", code="in_use")
    delete_unless_used(event_type, "the event type")


# ---- API keys -------------------------------------------------------------------------------------------


def api_key_create(*, name: str, brand_ids: list[str] | None = None) -> tuple[ApiKey, str]:
    """Create a key: unrestricted without `brand_ids`, else restricted to those brands (for good:
    losing them leaves it able to use none). The raw key is returned once and never stored."""
    with transaction.atomic():
        key, raw = ApiKey.generate(name=name, unrestricted=not brand_ids)
        if brand_ids:
            key.brands.set([brand_or_none(b) for b in brand_ids])
    return key, raw


def api_key_update(*, key_id, name: str = UNSET, brand_ids: list[str] = UNSET) -> ApiKey:
    """Rename a key, or set the brands a restricted key may use (maybe none: it then uses no
    brand). Whether a key is unrestricted is fixed when it is made: widening a key's reach is a
    new key. Raises NotFound, InvalidInput (brands for an unrestricted key)."""
    with transaction.atomic():
        key = get_or_404(ApiKey.objects.select_for_update(), key_id, "API key")
        if brand_ids is not UNSET:
            if key.is_unrestricted:
                raise InvalidInput({"brands": "an unrestricted key uses every brand: tick no brand"})
            key.brands.set([brand_or_none(b) for b in brand_ids])
        if name is not UNSET:
            save_fields(key, {"name": name})
    return key


def api_key_revoke(*, key_id) -> ApiKey:
    """Deactivate a key for good: the API finds keys (and the keys behind tokens) among active
    ones only (ApiKey.find, campaigns.auth.key_from_token), and the save replaces the key's
    cached entry on commit (campaigns.key_cache), so the next request with it, in any process,
    or with a token it issued, answers 401. Revoking twice is no error."""
    with transaction.atomic():
        key = get_or_404(ApiKey.objects.select_for_update(), key_id, "API key")
        if key.is_active:
            save_fields(key, {"is_active": False})
    return key
