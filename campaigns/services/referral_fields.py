"""What a REFERRALS campaign adds to a campaign (issue 13, item 3; the referrals app runs it):
`referee_rules`, the rules that reward the referred customer, in the `rules` format and checked
by the same validation (campaigns.engine.validate_rules, paths `referee_rules[0]...`), and
`referral_max_uses` (`max_uses` in the API), how many referred customers one referral code may
reward (1..MAX_USES, null: no limit). The campaign's own `rules` reward the referrer.

Decisions where the issue is silent:
- Both fields belong to REFERRALS campaigns: given (non-empty) for another type, or a campaign
  changed away from REFERRALS while it has them, they are refused (400 naming the field).
- A REFERRALS campaign takes no `limit`: `max_uses` bounds what one code rewards, and "once per
  referred customer" is the campaign's own rule (400 on `limit`).
- No GIFT_CARD reward in either rule set: the gift-card pool hands codes out to the grants of
  behaviour campaigns (giftcards), which a referral's grants do not pass through (400 naming the
  effect's `reward_id`).
- `max_uses` is frozen with the rules once the campaign has started (campaign_update): a code's
  `max_uses` is the campaign's when the code was requested, so the two never disagree.
"""

from __future__ import annotations

from django.db.models import Q

from campaigns.engine import validate_rules
from campaigns.models import Brand, Campaign, Reward, Tier

MAX_USES = 1_000_000
REFERRALS = Campaign.Type.REFERRALS
REFERRAL_FIELDS = ("referee_rules", "referral_max_uses")  # frozen with the rules once started


def referral_errors(*, type: str, brand: Brand | None, rules, referee_rules, max_uses, limit) -> dict[str, str]:
    """Problems with a campaign's referral fields as {"referee_rules[0].effects[0].amount": ...};
    {} if none. Rules may name the rewards of the campaign's brand and the global ones."""
    referee_rules = [] if referee_rules is None else referee_rules
    if type != REFERRALS:
        errors = {}
        if referee_rules:
            errors["referee_rules"] = "only a REFERRALS campaign has referee_rules"
        if max_uses is not None:
            errors["max_uses"] = "only a REFERRALS campaign has max_uses"
        return errors
    rewards = (
        Reward.objects.filter(Q(brand__isnull=True) | Q(brand=brand))
        if brand
        else Reward.objects.filter(brand__isnull=True)
    )
    reward_ids = {str(pk) for pk in rewards.values_list("pk", flat=True)}
    tier_ids = {str(pk) for pk in Tier.objects.values_list("pk", flat=True)}
    errors = {
        f"referee_{where}": problem for where, problem in validate_rules(referee_rules, reward_ids, tier_ids).items()
    }
    if max_uses is not None and (
        isinstance(max_uses, bool) or not isinstance(max_uses, int) or not 1 <= max_uses <= MAX_USES
    ):
        errors["max_uses"] = f"must be a whole number from 1 to {MAX_USES}, or null (no limit)"
    if limit is not None:
        errors["limit"] = "a REFERRALS campaign takes no limit: max_uses bounds what one referral code rewards"
    if not errors and isinstance(rules, list):
        ids = [str(r["id"]) for r in [*rules, *referee_rules] if isinstance(r, dict) and r.get("id")]
        if len(ids) != len(set(ids)):
            errors["referee_rules"] = "rule ids must be unique across rules and referee_rules"
    if not errors:
        gift_cards = _gift_cards(reward_ids, rules, referee_rules)
        for name, rule_set in (("rules", rules), ("referee_rules", referee_rules)):
            for r_index, e_index, effect in _effects(rule_set):
                if str(effect.get("reward_id")) in gift_cards:
                    errors[f"{name}[{r_index}].effects[{e_index}].reward_id"] = (
                        "a REFERRALS campaign cannot grant a GIFT_CARD reward"
                    )
    return errors


def _effects(rule_set):
    """(rule index, effect index, effect) of every well-formed effect of a rule set."""
    for r_index, rule in enumerate(rule_set if isinstance(rule_set, list) else []):
        effects = rule.get("effects") if isinstance(rule, dict) else None
        for e_index, effect in enumerate(effects if isinstance(effects, list) else []):
            if isinstance(effect, dict):
                yield r_index, e_index, effect


def _gift_cards(known: set[str], *rule_sets) -> set[str]:
    """The GIFT_CARD rewards among the known rewards the rule sets name (one query, none if none)."""
    named = known & {str(effect.get("reward_id")) for rule_set in rule_sets for _r, _e, effect in _effects(rule_set)}
    if not named:
        return set()
    return {
        str(pk) for pk in Reward.objects.filter(pk__in=named, type=Reward.Type.GIFT_CARD).values_list("pk", flat=True)
    }
