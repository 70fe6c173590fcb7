"""The compiled programme, cached per process between requests.

Every change to a brand, reward, tier, event type or campaign (API, admin or shell: a post_save /
post_delete signal) gives `ProgrammeVersion.version` a new value in the same transaction. Each emit reads
that number (one indexed query) and recompiles only when it moved, so an edit is seen by the
very next event in every process, and an unchanged programme costs no compilation.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from campaigns.engine import CompiledCampaign, compile_campaign, compile_condition
from campaigns.models import Brand, Campaign, EventType, ProgrammeVersion, Reward, Tier

_lock = threading.Lock()
_campaigns: dict[tuple, tuple[int, list[CompiledCampaign], dict[str, int]]] = {}
_tiers: dict[str, tuple[int, list]] = {}
_referrals: dict[str, tuple[int, dict, dict[str, int]]] = {}


def current_version() -> int:
    return ProgrammeVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0


def bump_version() -> None:
    """Called on every change to the programme, inside the changing transaction. The new
    version is random rather than +1, so a rolled-back change can never be mistaken for a later
    one that happens to reach the same number."""
    new = secrets.randbits(62) + 1
    if not ProgrammeVersion.objects.filter(pk=1).update(version=new):
        ProgrammeVersion.objects.update_or_create(pk=1, defaults={"version": new})


def running_campaigns(
    *, brand_id: str, trigger: str, at: datetime, version: int | None = None
) -> tuple[list[CompiledCampaign], dict[str, int]]:
    """The ACTIVE behaviour campaigns of this brand (or global) for this trigger whose window
    holds `at`, compiled, and the decimals of every reward they grant."""
    version = current_version() if version is None else version
    key = (brand_id, trigger)
    entry = _campaigns.get(key)
    if entry is None or entry[0] != version:
        entry = (version, *_load_campaigns(brand_id, trigger))
        with _lock:
            _campaigns[key] = entry
    return [c for c in entry[1] if c.runs_at(at)], entry[2]


def _load_campaigns(brand_id: str, trigger: str) -> tuple[list[CompiledCampaign], dict[str, int]]:
    rows = list(
        Campaign.objects.filter(
            Q(brand_id=brand_id) | Q(brand__isnull=True),
            trigger_id=trigger,
            status=Campaign.Status.ACTIVE,
            type=Campaign.Type.BEHAVIOR,
        )
        .order_by("created_at", "id")
        .values("id", "brand_id", "rules", "budget", "limit", "start_date", "end_date", "updated_at")
    )
    reward_ids = {str(e["reward_id"]) for c in rows for r in c["rules"] for e in r.get("effects", [])}
    decimals = (
        {str(pk): d for pk, d in Reward.objects.filter(pk__in=reward_ids).values_list("pk", "decimals")}
        if reward_ids
        else {}
    )
    return [compile_campaign(**row) for row in rows], decimals


@dataclass(frozen=True)
class CompiledReferral:
    """A REFERRALS campaign (never among the behaviour campaigns above): `referrer` holds its
    `rules` (what the referrer is granted), `referee` its `referee_rules`; both share the
    campaign's id, budget, window and revision (the referrals app evaluates them)."""

    referrer: CompiledCampaign
    referee: CompiledCampaign
    trigger: str
    max_uses: int | None


def referral_campaigns(*, version: int | None = None) -> tuple[dict[str, CompiledReferral], dict[str, int]]:
    """Every ACTIVE REFERRALS campaign compiled, by id, and the decimals of every reward they
    grant: one query per programme version (and one for the decimals), none while it holds."""
    version = current_version() if version is None else version
    entry = _referrals.get("all")
    if entry is None or entry[0] != version:
        rows = list(
            Campaign.objects.filter(status=Campaign.Status.ACTIVE, type=Campaign.Type.REFERRALS)
            .order_by("created_at", "id")
            .values(
                "id", "brand_id", "trigger_id", "rules", "referee_rules", "referral_max_uses", "budget",
                "start_date", "end_date", "updated_at",
            )
        )  # fmt: skip
        reward_ids = {
            str(e["reward_id"]) for c in rows for r in [*c["rules"], *c["referee_rules"]] for e in r.get("effects", [])
        }
        decimals = (
            {str(pk): d for pk, d in Reward.objects.filter(pk__in=reward_ids).values_list("pk", "decimals")}
            if reward_ids
            else {}
        )
        compiled = {}
        for row in rows:
            common = {k: row[k] for k in ("id", "brand_id", "budget", "start_date", "end_date", "updated_at")}
            compiled[str(row["id"])] = CompiledReferral(
                referrer=compile_campaign(**common, rules=row["rules"]),
                referee=compile_campaign(**common, rules=row["referee_rules"]),
                trigger=row["trigger_id"],
                max_uses=row["referral_max_uses"],
            )
        entry = (version, compiled, decimals)
        with _lock:
            _referrals["all"] = entry
    return entry[1], entry[2]


def running_referrals(
    *, brand_id: str, trigger: str, at: datetime, version: int | None = None
) -> tuple[list[CompiledReferral], dict[str, int]]:
    """The REFERRALS campaigns of this brand (or global) for this trigger whose window holds
    `at`, from the compiled programme (no query while it holds)."""
    campaigns, decimals = referral_campaigns(version=version)
    return [
        c
        for c in campaigns.values()
        if c.trigger == trigger and c.referrer.brand_id in (None, brand_id) and c.referrer.runs_at(at)
    ], decimals


@dataclass(frozen=True)
class CompiledTier:
    id: str
    level: int
    groups: tuple

    def qualifies(self, facts) -> bool:
        return not self.groups or any(all(check(facts) for check in group) for group in self.groups)


def tiers(*, version: int | None = None) -> list[CompiledTier]:
    """Every tier, highest level first, with compiled entry conditions."""
    version = current_version() if version is None else version
    entry = _tiers.get("all")
    if entry is None or entry[0] != version:
        compiled = [
            CompiledTier(
                str(t.pk),
                t.level,
                tuple(tuple(compile_condition(c) for c in group) for group in t.entry_conditions or []),
            )
            for t in Tier.objects.order_by("-level")
        ]
        entry = (version, compiled)
        with _lock:
            _tiers["all"] = entry
    return entry[1]


# ---- the programme's rows an emit names (issue 11: no query for them while the version holds) ----
# One generation per programme version: {"version", Brand, EventType and Reward rows by key}.
# Only rows that exist are kept (an unknown id costs its query each time, so input cannot grow
# the cache), a new version starts an empty generation, and a generation holds at most
# MAX_CACHED_ROWS rows: past that, rows are read but no longer kept. The rows are shared between
# requests and threads: read them, never change or save them.
MAX_CACHED_ROWS = 10_000
_rows: dict = {"version": None}


def _generation(version: int) -> dict:
    generation = _rows
    if generation["version"] != version:
        generation = {"version": version, Brand: {}, EventType: {}, Reward: {}, "size": 0}
        with _lock:
            globals()["_rows"] = generation
    return generation


def _cached(model, keys, version: int) -> dict:
    generation = _generation(version)
    found = generation[model]
    missing = [key for key in keys if key not in found]
    if not missing:
        return {key: found[key] for key in keys}
    loaded = {str(pk): row for pk, row in model.objects.in_bulk(missing).items()}
    if generation["size"] + len(loaded) <= MAX_CACHED_ROWS:
        with _lock:
            found.update(loaded)
            generation["size"] += len(loaded)
    return {key: found.get(key) or loaded.get(key) for key in keys if key in found or key in loaded}


def known_version() -> int | None:
    """The programme version this process last cached rows for (None before any): an emit
    resolves its references at it without a query, and checks them again if the version it
    reads under the wallet lock has moved on (events.services.emit)."""
    return _rows["version"]


def brand(brand_id: str, *, version: int) -> Brand | None:
    """The brand at this programme version (None if there is none by that id)."""
    return _cached(Brand, [str(brand_id)], version).get(str(brand_id))


def event_type(name: str, *, version: int) -> EventType | None:
    """The event type at this programme version (None if there is none by that name)."""
    return _cached(EventType, [str(name)], version).get(str(name))


def rewards(reward_ids, *, version: int) -> dict[str, Reward]:
    """The rewards at this programme version that exist among `reward_ids`, by id as a string."""
    keys = []
    for pk in reward_ids:
        try:
            keys.append(str(uuid.UUID(str(pk))))
        except ValueError:
            continue  # not a reward id: no reward
    return _cached(Reward, list(dict.fromkeys(keys)), version)


def clear() -> None:
    with _lock:
        _campaigns.clear()
        _tiers.clear()
        _referrals.clear()
        globals()["_rows"] = {"version": None}
