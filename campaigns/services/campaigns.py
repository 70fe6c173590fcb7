"""Writes to campaigns: create, update (frozen rules, budgets), copy, delete, and the budget
counters the engine keeps under the campaign rows' locks."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from campaigns.engine import validate_rules
from campaigns.models import Brand, Campaign, EventType, Reward, Tier
from campaigns.services.common import brand_or_none, delete_unless_used, get_or_404, save_fields
from campaigns.services.coupon_fields import coupon_errors
from campaigns.services.referral_fields import REFERRAL_FIELDS, referral_errors
from core.exceptions import Conflict, InvalidInput
from core.rows import rows_as
from core.unset import UNSET, given

LIMIT_PERIODS = ("lifetime", "day", "week", "month")


# ---- campaigns ----------------------------------------------------------------------------------------


def limit_errors(limit) -> dict[str, str]:
    if limit is None:
        return {}
    if (
        not isinstance(limit, dict)
        or set(limit) != {"count", "period"}
        or isinstance(limit["count"], bool)
        or not isinstance(limit["count"], int)
        or not 1 <= limit["count"] <= 1_000_000
        or limit["period"] not in LIMIT_PERIODS
    ):
        return {"limit": f'must be {{"count": 1..1000000, "period": one of {", ".join(LIMIT_PERIODS)}}} or null'}
    return {}


def rule_errors(rules, brand: Brand | None) -> dict[str, str]:
    rewards = Reward.objects.filter(brand__isnull=True)
    if brand is not None:
        rewards = rewards | Reward.objects.filter(brand=brand)
    return validate_rules(
        rules,
        {str(pk) for pk in rewards.values_list("pk", flat=True)},
        {str(pk) for pk in Tier.objects.values_list("pk", flat=True)},
    )


def with_rule_ids(rules: list) -> list:
    out = []
    for rule in rules:
        rule = {**rule, "id": str(rule.get("id") or uuid.uuid4().hex[:12])}
        rule["effects"] = [
            {**e, "reward_id": str(e["reward_id"]), **({"tier_id": str(e["tier_id"])} if e.get("tier_id") else {})}
            for e in rule["effects"]
        ]
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


def campaign_create(
    *,
    brand_id: str | None,
    name: str,
    trigger: str,
    start_date: datetime,
    end_date: datetime | None = None,
    rules: list,
    type: str = Campaign.Type.BEHAVIOR,
    status: str = Campaign.Status.ACTIVE,
    budget: Decimal | None = None,
    limit: dict | None = None,
    referee_rules: list | None = None,
    referral_max_uses: int | None = None,
) -> Campaign:
    """Validate the rules against the rewards this campaign may grant (its brand's and the
    global ones) and the tiers, give each rule an id, and save. Raises InvalidInput naming the
    rule, group and condition, NotFound for the brand. `referee_rules` and `referral_max_uses`:
    REFERRALS campaigns only (campaigns.services.referral_fields)."""
    brand = brand_or_none(brand_id)
    errors = {}
    errors.update(_trigger_errors(trigger))
    if end_date is not None and end_date < start_date:
        errors["end_date"] = "must not be before start_date"
    errors.update(limit_errors(limit))
    errors.update(rule_errors(rules, brand))
    errors.update(coupon_errors(type=type, trigger=trigger, rules=rules))
    errors.update(
        referral_errors(
            type=type, brand=brand, rules=rules, referee_rules=referee_rules, max_uses=referral_max_uses, limit=limit
        )
    )
    if errors:
        raise InvalidInput(errors)
    return Campaign.objects.create(
        brand=brand,
        name=name,
        type=type,
        status=status,
        trigger_id=trigger,
        start_date=start_date,
        end_date=end_date,
        budget=budget,
        limit=limit,
        rules=with_rule_ids(rules),
        referee_rules=with_rule_ids(referee_rules or []),
        referral_max_uses=referral_max_uses,
        was_active=status == Campaign.Status.ACTIVE,
    )


def campaign_update(
    *,
    campaign_id,
    name: str = UNSET,
    status: str = UNSET,
    type: str = UNSET,
    brand_id: str | None = UNSET,
    trigger: str = UNSET,
    start_date: datetime = UNSET,
    end_date: datetime | None = UNSET,
    budget: Decimal | None = UNSET,
    limit: dict | None = UNSET,
    rules: list = UNSET,
    referee_rules: list = UNSET,
    referral_max_uses: int | None = UNSET,
) -> Campaign:
    """Change a campaign. Takes its edit lock (`campaign_edit_lock`: serialised with the events
    that fire it) and its row's (the budget counter lives there). Raises Conflict
    `campaign_frozen` for rule, trigger, brand or start changes once it has started, InvalidInput."""
    fields = given(
        name=name,
        status=status,
        type=type,
        brand_id=brand_id,
        trigger=trigger,
        start_date=start_date,
        end_date=end_date,
        budget=budget,
        limit=limit,
        rules=rules,
        referee_rules=referee_rules,
        referral_max_uses=referral_max_uses,
    )
    with transaction.atomic():
        pk = get_or_404(Campaign, campaign_id, "campaign").pk
        campaign_edit_lock(pk)  # the events firing it in flight commit first; new ones wait
        campaign = Campaign.objects.select_for_update().filter(pk=pk).get()
        now = timezone.now()
        frozen_fields = {"rules", "trigger", "brand_id", "start_date", "type", *REFERRAL_FIELDS} & set(fields)
        if campaign.is_frozen(now) and any(fields[f] != _current(campaign, f) for f in frozen_fields):
            raise Conflict(
                "the campaign has started: its rules, trigger, brand and start are frozen; copy it to change them",
                code="campaign_frozen",
            )
        brand = brand_or_none(fields["brand_id"]) if "brand_id" in fields else campaign.brand
        errors = {}
        if "trigger" in fields:
            errors.update(_trigger_errors(fields["trigger"]))
        start, end = fields.get("start_date", campaign.start_date), fields.get("end_date", campaign.end_date)
        if end is not None and end < start:
            errors["end_date"] = "must not be before start_date"
        if "budget" in fields and fields["budget"] is not None and campaign.budget is None:
            # A budget caps everything the campaign grants: what it granted without one counts.
            campaign.budget_used = _past_grants(campaign)
            Campaign.objects.filter(pk=campaign.pk).update(budget_used=campaign.budget_used)
        if "budget" in fields and fields["budget"] is not None and fields["budget"] < campaign.budget_used:
            errors["budget"] = f"must not be below what was already granted ({campaign.budget_used})"
        errors.update(limit_errors(fields.get("limit")))
        if "rules" in fields or "brand_id" in fields:
            errors.update(rule_errors(fields.get("rules", campaign.rules), brand))
        if {"type", "trigger", "rules"} & set(fields):
            errors.update(
                coupon_errors(**{f: fields.get(f, _current(campaign, f)) for f in ("type", "trigger", "rules")})
            )
        if {"type", "rules", "brand_id", "limit", *REFERRAL_FIELDS} & set(fields):
            now_is = {f: fields.get(f, _current(campaign, f)) for f in ("type", "rules", "limit", *REFERRAL_FIELDS)}
            errors.update(
                referral_errors(
                    type=now_is["type"],
                    brand=brand,
                    rules=now_is["rules"],
                    referee_rules=now_is["referee_rules"],
                    max_uses=now_is["referral_max_uses"],
                    limit=now_is["limit"],
                )
            )
        if errors:
            raise InvalidInput(errors)
        if "rules" in fields:
            fields["rules"] = with_rule_ids(fields["rules"])
        if "referee_rules" in fields:
            fields["referee_rules"] = with_rule_ids(fields["referee_rules"] or [])
        if "brand_id" in fields:
            fields.pop("brand_id")
            fields["brand"] = brand
        if "trigger" in fields:
            fields["trigger_id"] = fields.pop("trigger")
        if fields.get("status") == Campaign.Status.ACTIVE:
            fields["was_active"] = True
        save_fields(campaign, fields)
    return campaign


# What a campaign granted before it had a budget lives in the apps built on this one (wallet
# lines of live events). The events app, which knows, registers the counter when Django starts
# (events.apps), so that this app imports none of the apps above it.
_past_grants_counter: Callable[[Campaign], Decimal] | None = None


def set_past_grants_counter(counter: Callable[[Campaign], Decimal]) -> None:
    """Register what counts (and marks as budgeted) a campaign's past grants to live events."""
    global _past_grants_counter
    _past_grants_counter = counter


def _past_grants(campaign: Campaign) -> Decimal:
    if _past_grants_counter is None:
        raise RuntimeError("no past-grants counter registered (is the events app installed?)")
    return _past_grants_counter(campaign)


def campaign_budgets_lock(campaign_ids) -> dict:
    """Lock the campaigns' rows in id order; {id: (budget, budget_used)}."""
    return {
        cid: (budget, used)
        for cid, budget, used in Campaign.objects.select_for_update()
        .filter(pk__in=list(campaign_ids))
        .order_by("pk")
        .values_list("pk", "budget", "budget_used")
    }


@dataclass(frozen=True)
class LockedCampaign:
    """A campaign's row as it stands under an event's lock."""

    budget: Decimal | None
    budget_used: Decimal
    revision: datetime  # its updated_at: compared with the compiled campaign's


# PostgreSQL advisory locks serialise an edit of a campaign with the events that fire it: an
# event holds its fired campaigns' locks shared (events share them), an edit holds its campaign's
# lock exclusively. Unlike row locks, PostgreSQL queues advisory locks fairly: an edit waiting
# for the events in flight holds off the events that arrive after it, so a stream of events
# cannot starve an operator's save. Keys: (namespace, the campaign id's first 32 bits); a
# collision only serialises two campaigns' edits and events a little more.
CAMPAIGN_LOCK_NAMESPACE = 0x4C4F59  # "LOY"


def _campaign_lock_key(campaign_id) -> int:
    return int.from_bytes(uuid.UUID(str(campaign_id)).bytes[:4], "big", signed=True)


def campaign_edit_lock(campaign_id) -> None:
    """Wait for the events firing the campaign to commit and hold off new ones until this
    transaction ends (no-op on SQLite, which has one writer at a time)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [CAMPAIGN_LOCK_NAMESPACE, _campaign_lock_key(campaign_id)]
            )


def campaigns_lock_for_event(*, budgeted, fired) -> dict:
    """Hold off any edit of the campaigns an event fires until the event commits, and read them
    as they stand now: {id: LockedCampaign}; a deleted campaign is missing.

    Takes every fired campaign's advisory lock shared (see CAMPAIGN_LOCK_NAMESPACE), then reads
    the rows in a new statement (under READ COMMITTED, a new snapshot: it sees every edit that
    committed before the lock was granted). The `budgeted` ones (the compiled programme says the
    event will add to their budget_used) are read FOR UPDATE, in id order like every budget
    lock, so that two events never count a budget at once. On SQLite the rows are only read."""
    budgeted = {str(c) for c in budgeted}
    fired = {str(c) for c in fired} | budgeted
    if not fired:
        return {}
    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock_shared(%s, k) FROM unnest(%s::int[]) AS k",
                [CAMPAIGN_LOCK_NAMESPACE, sorted({_campaign_lock_key(c) for c in fired})],
            )
    out = {}
    for ids, lock in ((sorted(budgeted), postgres), (sorted(fired - budgeted), False)):
        if not ids:
            continue
        rows = rows_as(
            Campaign,
            "SELECT id, budget, budget_used, updated_at FROM campaigns_campaign "
            f"WHERE id IN ({', '.join(['%s'] * len(ids))}) ORDER BY id{' FOR UPDATE' if lock else ''}",
            [Campaign._meta.pk.get_db_prep_value(uuid.UUID(cid), connection) for cid in ids],
        )
        for row in rows:  # the ORM's converters: Decimals and aware datetimes on every backend
            out[str(row.pk)] = LockedCampaign(budget=row.budget, budget_used=row.budget_used, revision=row.updated_at)
    return out


def campaign_budgets_add(deltas: dict) -> None:
    """Add each delta to its campaign's budget_used in one batched statement, under the rows'
    locks (`campaign_budgets_lock`). No signal: the programme's version does not move for a counter."""
    params = [
        (connection.ops.adapt_decimalfield_value(delta, 20, 4), Campaign._meta.pk.get_db_prep_value(cid, connection))
        for cid, delta in sorted(deltas.items(), key=lambda kv: str(kv[0]))
        if delta
    ]
    if not params:  # nothing to add (an event granting nothing from a budgeted campaign): no statement
        return
    with connection.cursor() as cursor:
        cursor.executemany("UPDATE campaigns_campaign SET budget_used = budget_used + %s WHERE id = %s", params)


def _current(campaign: Campaign, field: str):
    return {"trigger": campaign.trigger_id, "brand_id": campaign.brand_id}.get(field, getattr(campaign, field, None))


def campaign_copy(*, campaign_id, name: str | None = None, start_date: datetime | None = None) -> Campaign:
    """An INACTIVE, editable copy with the same definition and a fresh budget counter."""
    source = get_or_404(Campaign, campaign_id, "campaign")
    start = start_date or max(source.start_date, timezone.now())
    end = source.end_date if source.end_date is None or source.end_date >= start else None
    return Campaign.objects.create(
        brand=source.brand,
        name=name or f"Copy of {source.name}"[:255],
        type=source.type,
        status=Campaign.Status.INACTIVE,
        trigger_id=source.trigger_id,
        start_date=start,
        end_date=end,
        budget=source.budget,
        limit=source.limit,
        rules=source.rules,
        referee_rules=source.referee_rules,
        referral_max_uses=source.referral_max_uses,
    )


def campaign_delete(*, campaign_id) -> None:
    campaign = get_or_404(Campaign, campaign_id, "campaign")
    if campaign.is_frozen(timezone.now()):
        raise Conflict("the campaign has started; deactivate it instead", code="in_use")
    delete_unless_used(campaign, "the campaign")
