"""How referrals join an event's lifecycle (events.extensions), registered by ReferralsConfig.

Every hook decides from what is in memory whether the event concerns referrals at all, so an
event that does not costs no query: the event's own `referral_code` (its payload; a
registration's carries the customer's, events.lifecycle), the compiled programme's REFERRALS
campaigns for its trigger (campaigns.cache.running_referrals), and later the stored
`result.referral` it was given.

- grants: link the customer when the event carries a code (referrals.services.referral_link),
  then qualify its linked referrals (referrals.rewarding.referrals_qualify); the referee's
  grants join the event's, and `result.referral` records the link and the qualifications.
- applied (RESOLVED) and resolved (a held event fulfilled): reward the referrers.
- undoing (reversed, cancelled, expired): give back the uses and reverse the referrers' rewards.
"""

from __future__ import annotations

from campaigns import cache as programme_cache
from referrals.rewarding import REFERRAL, qualified_of, referrals_qualify, referrals_undoing, referrer_reward
from referrals.services import referral_link

PART = "referral"  # the key of the event's result this app adds


def on_grants(event, grants, ledger, hold):
    code = (event.data or {}).get("referral_code")
    running, decimals = programme_cache.running_referrals(
        brand_id=event.brand_id,
        trigger=event.type_id,
        at=event.issued_at,
        version=getattr(event, "programme_version", None),
    )
    if not code and not running:
        return grants, {}
    note = referral_link(event=event, code=code, now=ledger.now) if code else {}
    if running:
        qualified, extra = referrals_qualify(event=event, running=running, decimals=decimals, hold=hold, now=ledger.now)
        if qualified:
            note["qualified"] = qualified
            grants = [*grants, *extra]
    return grants, ({PART: note} if note else {})


def on_applied(event, customer, payload, hold, now):
    if not hold:
        _reward(event, now)


def on_resolved(event, now):
    _reward(event, now)


def _reward(event, now):
    for entry in qualified_of(event):
        referrer_reward(event=event, entry=entry, now=now)


def on_undoing(event, now):
    if event.type_id == REFERRAL:
        return  # a referrer's reward reversed on its own: the referral keeps its use (docs/referrals.md)
    entries = qualified_of(event)
    if entries:
        referrals_undoing(event=event, entries=entries, now=now)
