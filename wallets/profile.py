"""The customer's profile as Masivo has it: the rules of the fields beside name and email, and
of consent. Pure functions (no database), shared by the services, the API and the engine.

- `document_type` and `document_number` go together: a customer has both or neither.
- `platforms` are distinct strings (a repeat is dropped, the first place kept).
- Tags: at most MAX_TAGS keys a customer, each at most MAX_TAG_KEY characters.
- Consent: `None` (nothing recorded) allows every purpose. Recording one (registration, PATCH of
  the customer or of its consent) changes only what it names: a purpose left out keeps its value
  (true until set), `vendors` merge by name (null forgets one), `consent_string` and `version`
  are replaced when given, and `consent_timestamp` is the one sent or, without one, the moment
  it was recorded. `behavioral_campaigns: false` stops campaign evaluation for the customer's
  events (events.services.emit).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from core.exceptions import InvalidInput

PURPOSES = (
    "behavioral_campaigns",
    "coupon_campaigns",
    "punchcard_campaigns",
    "email_marketing",
    "push_notifications",
    "link_tracking",
)
BEHAVIORAL = "behavioral_campaigns"
MAX_VENDORS = 100  # vendors a customer's consent names
MAX_VENDOR_NAME = 100
MAX_TAGS = 500
MAX_TAG_KEY = 255
MAX_PLATFORMS = 20
# What customer_register and customer_update take beside id, name, email, status, tags, metadata
PROFILE_FIELDS = (
    "gender",
    "dob",
    "document_type",
    "document_number",
    "country",
    "platforms",
    "is_anonymous",
    "referral_code",
    "consent",
)
TEXT_FIELDS = ("gender", "document_type", "document_number", "country", "referral_code")


def profile_changes(customer, profile: dict, *, now: datetime | None = None) -> dict:
    """The model fields to set for the given profile fields on `customer` (the stored one, or
    None for one being registered): None clears a text field, platforms are kept once each,
    consent is merged over the stored one. Raises TypeError for a name that is no profile field,
    InvalidInput for a document half given (judged on the result)."""
    unknown = sorted(set(profile) - set(PROFILE_FIELDS))
    if unknown:
        raise TypeError(f"not profile fields: {', '.join(unknown)}")
    changes = {name: ("" if value is None and name in TEXT_FIELDS else value) for name, value in profile.items()}
    if "platforms" in changes:
        changes["platforms"] = list(dict.fromkeys(changes["platforms"] or []))
    if "consent" in changes:
        stored = customer.consent if customer is not None else None
        changes["consent"] = consent_merged(stored, changes["consent"] or {}, now=now or timezone.now())
    document = [changes.get(name, getattr(customer, name, "")) for name in ("document_type", "document_number")]
    problem = document_problem(*document)
    if problem:
        raise InvalidInput(problem)
    return changes


def document_problem(document_type: str, document_number: str) -> dict | None:
    """The refusal of a document half given, or None."""
    if bool(document_type) == bool(document_number):
        return None
    missing = "document_number" if document_type else "document_type"
    return {missing: "document_type and document_number go together: give both or neither"}


def tags_merged(current: dict | None, changes: dict) -> dict:
    """`changes` upserted into the tags (a key set to None is removed). Raises InvalidInput past
    MAX_TAGS."""
    merged = {**(current or {}), **changes}
    merged = {key: value for key, value in merged.items() if value is not None}
    if len(merged) > MAX_TAGS:
        raise InvalidInput({"tags": f"a customer holds at most {MAX_TAGS} tags ({len(merged)} asked)"})
    return merged


def consent_allows(consent: dict | None, purpose: str) -> bool:
    """Whether the stored consent (None: nothing recorded) allows the purpose."""
    return ((consent or {}).get("purposes") or {}).get(purpose, True) is not False


def consent_merged(stored: dict | None, given: dict, *, now: datetime) -> dict:
    """The consent to store once `given` (validated, as ConsentIn returns it) is recorded over
    `stored`. Raises InvalidInput past MAX_VENDORS."""
    stored = stored or {}
    purposes = {purpose: consent_allows(stored, purpose) for purpose in PURPOSES}
    purposes.update({key: value for key, value in (given.get("purposes") or {}).items() if key in PURPOSES})
    vendors = {**(stored.get("vendors") or {}), **(given.get("vendors") or {})}
    vendors = {name: value for name, value in vendors.items() if value is not None}
    if len(vendors) > MAX_VENDORS:
        raise InvalidInput({"consent.vendors": f"at most {MAX_VENDORS} vendors ({len(vendors)} asked)"})
    consent = {"purposes": purposes, "vendors": vendors}
    for name in ("consent_string", "version"):
        consent[name] = (given[name] or None) if name in given else stored.get(name)
    consent["consent_timestamp"] = (given.get("consent_timestamp") or now).isoformat()
    return consent


def consent_view(customer) -> dict:
    """A customer's consent as responses show it (wallets.serializers.ConsentOut): every purpose
    resolved, null text and timestamp while nothing is recorded."""
    stored = customer.consent or {}
    stamp = stored.get("consent_timestamp")
    return {
        "customer_id": customer.pk,
        "purposes": {purpose: consent_allows(stored, purpose) for purpose in PURPOSES},
        "vendors": dict(stored.get("vendors") or {}),
        "consent_string": stored.get("consent_string"),
        "version": stored.get("version"),
        "consent_timestamp": datetime.fromisoformat(stamp) if stamp else None,
    }
