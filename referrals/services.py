"""Referral codes and links (docs/referrals.md): `referral_code_request` (a customer's code for
a REFERRALS campaign, created once), `referral_link` (a referred customer joined to the code's
owner, from the event that carried the code). Rewarding is referrals.rewarding.

Decisions:
- A code is 8 characters of an alphabet without look-alikes (no 0/O, 1/I/L), unique in the
  programme (a constraint; a clash draws again). A customer has one code per campaign (a
  constraint: two requests racing get the same code).
- A code is requested for a RUNNING REFERRALS campaign of the request's brand (or a global one);
  its `max_uses` is the campaign's (frozen once it started, so they never disagree).
- A referral code the referred customer brings is never a reason to refuse their registration
  or their event (Masivo clients send `referral_code` casually): a code that cannot link is
  ignored and the event's `result.referral` says why (`unknown_code`, another brand's code
  included; `campaign_not_running`; `self_referral`; `already_referred`, a referrer already
  linked in that campaign; `code_used_up`; `cycle`, the referrer is, through any chain of
  referrals of any campaign, referred by this customer).
- No cycles: with them, two customers' events could each hold their own wallet and wait for
  the other's (a referrer's reward locks the referrer's wallet after the referred customer's).
  Without them, wallets are always locked referred-before-referrer along an acyclic graph, which
  cannot deadlock. Links are serialised (one advisory lock on PostgreSQL, REFERRAL_LINK_LOCK), so
  two links racing to close a cycle see each other; it is waited for at most
  LINK_WAIT_MS, after which the event is refused as Busy (503, nothing stored: send it again),
  so that a link waiting for it while holding a wallet another linker needs cannot deadlock.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from campaigns import cache as programme_cache
from campaigns.models import Brand, Campaign
from core.exceptions import BusinessRuleError, Busy, NotFound
from core.ids import is_uuid
from referrals.models import Referral, ReferralCode
from wallets.models import Customer

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
CODE_LENGTH = 8
CODE_MAX = 32  # longest code looked up (the column)
REFERRAL_LINK_LOCK = (0x524546, 0)  # "REF": one key for every link
LINK_WAIT_MS = 2000
MAX_CHAIN = 10_000  # referrers visited looking for a cycle before the link is refused as one


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def referral_code_request(
    *, customer_id: str, campaign_id, brand_id: str, brands: set[str] | None = None, metadata: dict | None = None
) -> tuple[ReferralCode, bool]:
    """The customer's code for the campaign, created if it has none: (code, created). `brands`:
    the brands the asking key may use (None: any); another brand's campaign is unknown to it.
    Raises NotFound (customer, brand, campaign: unknown, not REFERRALS, or of another brand),
    BusinessRuleError `campaign_not_running`."""
    if not Brand.objects.filter(pk=brand_id).exists():
        raise NotFound(f"brand {brand_id!r} not found", code="brand_not_found")
    if not Customer.objects.filter(pk=customer_id).exists():
        raise NotFound(f"customer {customer_id!r} not found", code="customer_not_found")
    campaign = (
        Campaign.objects.filter(pk=campaign_id, type=Campaign.Type.REFERRALS).first() if is_uuid(campaign_id) else None
    )
    if (
        campaign is None
        or campaign.brand_id not in (None, brand_id)
        or (brands is not None and campaign.brand_id is not None and campaign.brand_id not in brands)
    ):
        raise NotFound(f"referral campaign {campaign_id} not found", code="campaign_not_found")
    existing = ReferralCode.objects.filter(customer_id=customer_id, campaign=campaign).first()
    if existing is not None:
        return existing, False
    if campaign.derived_status(timezone.now()) != "RUNNING":
        raise BusinessRuleError(f"campaign {campaign.pk} is not running", code="campaign_not_running")
    for _ in range(20):  # a clash of 8 characters of 31 is rare; 20 in a row is a broken generator
        try:
            with transaction.atomic():
                code = ReferralCode.objects.create(
                    customer_id=customer_id,
                    campaign=campaign,
                    code=new_code(),
                    max_uses=campaign.referral_max_uses,
                    metadata=metadata or {},
                )
            return code, True
        except IntegrityError:
            existing = ReferralCode.objects.filter(customer_id=customer_id, campaign=campaign).first()
            if existing is not None:  # a request racing this one created it
                return existing, False
    raise RuntimeError("could not draw a free referral code")


# ---- linking (called by referrals.hooks inside the event's transaction) ---------------------------------


def referral_link(*, event, code: str, now: datetime) -> dict:
    """Link the event's customer to the owner of `code` (the event carried it): the note kept in
    the event's `result.referral` (`linked`, or `ignored` with why). The caller holds the
    customer's wallet lock; the link lock is taken here (module docstring)."""
    note = {"code": code, "linked": False}
    found = (
        ReferralCode.objects.filter(code=code.strip().upper()).select_related("campaign").first()
        if isinstance(code, str) and 0 < len(code.strip()) <= CODE_MAX
        else None
    )
    compiled = programme_cache.referral_campaigns(version=getattr(event, "programme_version", None))[0]
    campaign = compiled.get(str(found.campaign_id)) if found else None
    if found is None or found.campaign.brand_id not in (None, event.brand_id):
        return note | {"ignored": "unknown_code"}
    if campaign is None or not campaign.referrer.runs_at(event.issued_at):
        return note | {"ignored": "campaign_not_running"}
    if found.customer_id == event.customer_id:
        return note | {"ignored": "self_referral"}
    if found.max_uses is not None and found.uses_count >= found.max_uses:
        return note | {"ignored": "code_used_up"}
    _link_lock()
    if Referral.objects.filter(campaign_id=found.campaign_id, referee_id=event.customer_id).exists():
        return note | {"ignored": "already_referred"}
    if _referred_by(found.customer_id, event.customer_id):
        return note | {"ignored": "cycle"}
    referral = Referral.objects.create(
        campaign_id=found.campaign_id,
        code=found,
        referrer_id=found.customer_id,
        referee_id=event.customer_id,
        linked_at=now,
        linked_event_id=event.pk,
    )
    return note | {"linked": True, "referral_id": referral.pk, "campaign_id": str(found.campaign_id)}


def _referred_by(customer_id: str, ancestor: str) -> bool:
    """Whether `ancestor` referred `customer_id`, through any chain of referrals (any campaign):
    one query per generation, at most MAX_CHAIN customers (past that: treated as a cycle)."""
    seen, frontier = {customer_id}, {customer_id}
    while frontier:
        referrers = set(Referral.objects.filter(referee_id__in=frontier).values_list("referrer_id", flat=True))
        if ancestor in referrers:
            return True
        frontier = referrers - seen
        seen |= frontier
        if len(seen) > MAX_CHAIN:
            return True
    return False


def _link_lock() -> None:
    """Serialise links (PostgreSQL: an advisory lock held to the transaction's end, waited for at
    most LINK_WAIT_MS, else Busy). SQLite has one writer at a time already."""
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:  # a timeout rolls back to here, SET LOCAL too
            cursor.execute("SELECT current_setting('lock_timeout')")
            previous = cursor.fetchone()[0]
            cursor.execute(f"SET LOCAL lock_timeout = '{int(LINK_WAIT_MS)}ms'")
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(REFERRAL_LINK_LOCK))
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
    except OperationalError:
        raise Busy("referral links are being recorded; send the event again", code="referrals_busy") from None
