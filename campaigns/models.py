"""The programme's definition: brands, rewards, event types, campaigns, and the API keys that
may use them (keys live here because they are restricted to brands)."""

import hashlib
import secrets
import uuid
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

from core.json import DecimalJSONDecoder, ExactJSONEncoder
from core.models import TimeStampedModel

AMOUNT_DIGITS = 20
AMOUNT_PLACES = 4


def amount_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kwargs)


class Brand(TimeStampedModel):
    id = models.CharField(primary_key=True, max_length=255)
    name = models.CharField(max_length=255)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.id} {self.name}"


class Reward(TimeStampedModel):
    class Type(models.TextChoices):
        POINTS = "POINTS"
        DISCOUNT = "DISCOUNT"
        PRODUCT = "PRODUCT"
        GIFT_CARD = "GIFT_CARD"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.PROTECT, related_name="rewards")
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=16, choices=Type.choices)
    # conditions hold amounts (min_order_value, max_amount): exact decimals, like campaign rules
    conditions = models.JSONField(default=dict, blank=True, encoder=ExactJSONEncoder, decoder=DecimalJSONDecoder)
    attributes = models.JSONField(default=dict, blank=True)
    decimals = models.PositiveSmallIntegerField(default=2, validators=[MaxValueValidator(4)])

    class Meta:
        ordering = ["created_at"]
        constraints = [models.CheckConstraint(condition=Q(decimals__lte=4), name="reward_decimals_0_4")]

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"

    @property
    def conversion_factor(self) -> Decimal | None:
        raw = (self.attributes or {}).get("conversion_factor")
        return None if raw is None else Decimal(str(raw))


class EventType(TimeStampedModel):
    """PURCHASE, REGISTRATION, BIRTHDAY, ADD_TO_CART and TIER_ADJUSTMENT come with the
    migration; operators add their own. A tracking-only type is stored, never rewarded."""

    # the last, tracking-only, records operators' adjustments (created by events migration 0011)
    # REFERRAL, tracking-only too, records a referrer's reward (created by referrals migration 0002)
    # COUPON_REDEMPTION records a coupon's redemption, the trigger of COUPONS campaigns (coupons migration 0002)
    BUILT_IN = (
        "PURCHASE",
        "REGISTRATION",
        "BIRTHDAY",
        "ADD_TO_CART",
        "TIER_ADJUSTMENT",
        "ADJUSTMENT",
        "REFERRAL",
        "COUPON_REDEMPTION",
    )

    name = models.CharField(
        primary_key=True,
        max_length=64,
        validators=[RegexValidator(r"^[A-Z][A-Z0-9_]*$", "an upper-case identifier (A-Z, 0-9, _)")],
    )
    tracking_only = models.BooleanField(default=False)
    built_in = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tier(TimeStampedModel):
    """A level of membership. Every customer starts in the base tier (level 1, created by the
    migration). `entry_conditions` uses the rule condition format (groups of conditions on
    `customer.*` fields, read after the event); the highest level whose conditions hold is the
    customer's tier."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    level = models.PositiveSmallIntegerField(unique=True, validators=[MinValueValidator(1), MaxValueValidator(10)])
    entry_conditions = models.JSONField(default=list, blank=True, encoder=ExactJSONEncoder, decoder=DecimalJSONDecoder)

    class Meta:
        ordering = ["level"]
        constraints = [models.CheckConstraint(condition=Q(level__gte=1) & Q(level__lte=10), name="tier_level_1_10")]

    def __str__(self) -> str:
        return f"{self.level}. {self.name}"

    @property
    def is_base(self) -> bool:
        return self.level == 1


class ProgrammeVersion(models.Model):
    """One row whose number changes on every change to campaigns, rewards, tiers or event types:
    each process keeps its compiled programme until this number changes (campaigns.cache)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.BigIntegerField(default=0)


class Campaign(TimeStampedModel):
    class Type(models.TextChoices):
        BEHAVIOR = "BEHAVIOR"
        COUPONS = "COUPONS"
        REFERRALS = "REFERRALS"  # `rules` reward the referrer, `referee_rules` the referred (referrals app)

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE"
        INACTIVE = "INACTIVE"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.BEHAVIOR)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    trigger = models.ForeignKey(EventType, on_delete=models.PROTECT, related_name="campaigns")
    start_date = models.DateTimeField()
    end_date = models.DateTimeField(null=True, blank=True)
    budget = amount_field(null=True, blank=True)
    budget_used = amount_field(default=0, editable=False)  # granted, held grants included
    was_active = models.BooleanField(default=False, editable=False)  # has ever been ACTIVE
    # at most `count` rewarded events per customer per `period` (lifetime, day, week, month)
    limit = models.JSONField(null=True, blank=True)
    # [{"id": str, "conditions": [[{field, operator, value}, ...], ...], "effects": [{...}]}]
    # numbers stay exact decimals (an amount of 0.0001, a condition value of 16 digits), never floats
    rules = models.JSONField(default=list, encoder=ExactJSONEncoder, decoder=DecimalJSONDecoder)
    # REFERRALS only (campaigns.services.referral_fields): what the referred customer is granted
    # (the `rules` format), and how many referred customers one referral code may reward (null: any)
    referee_rules = models.JSONField(default=list, blank=True, encoder=ExactJSONEncoder, decoder=DecimalJSONDecoder)
    referral_max_uses = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["trigger", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="campaign_end_after_start",
            ),
            models.CheckConstraint(condition=Q(budget__isnull=True) | Q(budget__gte=0), name="campaign_budget_gte_0"),
            models.CheckConstraint(
                condition=Q(budget_used__gte=0) & (Q(budget__isnull=True) | Q(budget_used__lte=F("budget"))),
                name="campaign_budget_never_exceeded",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if self.status == self.Status.ACTIVE:
            self.was_active = True
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "was_active"}
        super().save(*args, **kwargs)

    @property
    def budget_remaining(self) -> Decimal | None:
        return None if self.budget is None else self.budget - self.budget_used

    def is_frozen(self, now) -> bool:
        """Started: it has been ACTIVE and its start has passed. Its rules are then frozen."""
        return (self.was_active or self.status == self.Status.ACTIVE) and self.start_date <= now

    def derived_status(self, now) -> str:
        """RUNNING, PAUSED, SCHEDULED or FINISHED from status and dates."""
        if self.end_date is not None and now >= self.end_date:
            return "FINISHED"
        if now < self.start_date:
            return "SCHEDULED"
        return "RUNNING" if self.status == self.Status.ACTIVE else "PAUSED"


def new_token_secret() -> str:
    return secrets.token_hex(32)


class ApiKey(TimeStampedModel):
    """A credential for the REST API. The key is shown once; only its SHA-256 is kept.

    Keys are long random strings, so a fast hash is safe here (no password stretching needed).
    A key restricted to some brands may use only those (enforced by the API layer).
    """

    SECRETS = ("key_hash", "token_secret")  # never written to the audit trail

    PREFIX = "lk_"  # keys made before keys were UUIDs: `lk_<lookup>.<secret>` (still accepted)

    name = models.CharField(max_length=255)
    lookup = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    brands = models.ManyToManyField(Brand, blank=True, related_name="api_keys")
    # Explicit: a restricted key that loses its last brand (deleted, or unticked) uses no brand.
    is_unrestricted = models.BooleanField(
        "unrestricted", default=False, help_text="May use every brand. Otherwise only the brands ticked below."
    )
    is_active = models.BooleanField(default=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Signs this key's tokens (GET /auth/authorize); never leaves the database, so nobody can
    # mint a token without it, whatever else they know (SECRET_KEY included).
    token_secret = models.CharField(max_length=64, default=new_token_secret, editable=False)

    is_authenticated = True  # it stands in for request.user in DRF

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.lookup[:8]}...)"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def generate(cls, *, name: str, unrestricted: bool) -> tuple["ApiKey", str]:
        """A new key in Masivo's form, a random (version 4) UUID, since Masivo clients check the
        format. Its first 12 hex digits find the row; the SHA-256 of the whole key proves it
        (the other 74 random bits are the secret; failed guesses are rate-limited)."""
        raw = str(uuid.uuid4())
        key = cls.objects.create(
            name=name, lookup=raw.replace("-", "")[:12], key_hash=cls.hash(raw), is_unrestricted=unrestricted
        )
        return key, raw

    @classmethod
    def canonical(cls, raw: str) -> tuple[str, str] | None:
        """(lookup, canonical form) of a credential that looks like a key: a UUID in any case is
        written in the form it was hashed in; None when it cannot be a key. The SHA-256 of the
        canonical form is the key's `key_hash` (the auth cache is keyed by it)."""
        if raw.startswith(cls.PREFIX) and "." in raw:
            return raw[len(cls.PREFIX) :].split(".", 1)[0], raw
        try:
            raw = str(uuid.UUID(raw))
        except ValueError:
            return None
        return raw.replace("-", "")[:12], raw

    @classmethod
    def find(cls, raw: str) -> "ApiKey | None":
        """The active key `raw` is: a UUID (any case), or a key of the former `lk_<lookup>.<secret>` form."""
        found = cls.canonical(raw)
        if found is None:
            return None
        lookup, raw = found
        key = cls.objects.filter(lookup=lookup, is_active=True).first()
        if key is None or not secrets.compare_digest(key.key_hash, cls.hash(raw)):
            return None
        return key
