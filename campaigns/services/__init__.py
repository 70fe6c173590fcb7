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
- An API key is revoked for good (`api_key_revoke`: inactive, refused by the API on its next
  request, its tokens too); whether it is unrestricted is fixed when it is made, its name and a
  restricted key's brands change (`api_key_update`).
"""

from campaigns.services.campaigns import (
    LIMIT_PERIODS,
    campaign_budgets_add,
    campaign_budgets_lock,
    campaign_copy,
    campaign_create,
    campaign_delete,
    campaign_update,
    campaigns_lock_for_event,
    limit_errors,
    rule_errors,
    set_past_grants_counter,
    with_rule_ids,
)
from campaigns.services.programme import (
    api_key_create,
    api_key_revoke,
    api_key_update,
    attributes_problems,
    brand_create,
    brand_delete,
    brand_update,
    event_type_create,
    event_type_delete,
    event_type_update,
    reward_create,
    reward_delete,
    reward_update,
    tier_condition_errors,
    tier_create,
    tier_delete,
    tier_update,
)

__all__ = [
    "LIMIT_PERIODS",
    "api_key_create",
    "api_key_revoke",
    "api_key_update",
    "attributes_problems",
    "brand_create",
    "brand_delete",
    "brand_update",
    "campaign_budgets_add",
    "campaign_budgets_lock",
    "campaigns_lock_for_event",
    "campaign_copy",
    "campaign_create",
    "campaign_delete",
    "campaign_update",
    "event_type_create",
    "event_type_delete",
    "event_type_update",
    "limit_errors",
    "reward_create",
    "reward_delete",
    "reward_update",
    "rule_errors",
    "set_past_grants_counter",
    "tier_condition_errors",
    "tier_create",
    "tier_delete",
    "tier_update",
    "with_rule_ids",
]
