"""Factories build the programme's definitions, and customers through the registration service.
States of events and wallets are built through the services (tests/helpers.py), never by setting
a status by hand."""

from datetime import datetime, timezone

import factory

from campaigns.models import Brand, Campaign, EventType, Reward
from wallets.models import Customer
from wallets.services import customer_register


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand
        django_get_or_create = ("id",)

    id = factory.Sequence(lambda n: f"{n:04d}")
    name = factory.Sequence(lambda n: f"Brand {n}")


class RewardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reward

    brand = factory.SubFactory(BrandFactory)
    name = factory.Sequence(lambda n: f"Points {n}")
    type = Reward.Type.POINTS
    decimals = 0
    attributes = factory.LazyFunction(lambda: {"conversion_factor": 0.1})


class CustomerFactory(factory.django.DjangoModelFactory):
    """A customer registered through the service, as the API registers one: with its wallet, in the
    base tier. Takes what `customer_register` takes (id, name, email, status, tags, metadata,
    registration_date, and the profile fields of wallets.profile.PROFILE_FIELDS: dob, gender,
    is_anonymous, consent, ...); anything else is refused with a TypeError."""

    class Meta:
        model = Customer

    # not "cust-N": the `customer` fixture and several tests register "cust-1" and "cust-2" by hand
    id = factory.Sequence(lambda n: f"customer-{n}")
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"c{n}@example.com")

    @classmethod
    def _create(cls, model_class, **kwargs):
        # Like any registration, this records the customer's REGISTRATION event when the programme
        # has a brand (tests/masivo/test_lifecycle_events.py); tests/helpers.py has helpers that
        # count only the events a test is about.
        return customer_register(**kwargs)


def cond(field, operator, value) -> dict:
    """One rule condition: `cond("order.value", "gte", 10)`."""
    return {"field": field, "operator": operator, "value": value}


def per_value_rule(reward, *, amount=1, per=10, min_value=None, expiration=None, basis="order.value"):
    conditions = [[{"field": "order.value", "operator": "gte", "value": min_value}]] if min_value is not None else []
    return {
        "conditions": conditions,
        "effects": [
            {
                "reward_id": str(reward.pk),
                "kind": "PER_VALUE",
                "amount": amount,
                "per": per,
                "basis": basis,
                "expiration": expiration,
            }
        ],
    }


def fixed_rule(reward, *, amount=10, conditions=None, expiration=None):
    return {
        "conditions": conditions or [],
        "effects": [{"reward_id": str(reward.pk), "kind": "FIXED", "amount": amount, "expiration": expiration}],
    }


def lot_rule(reward, lot: str, expiration: str | None) -> dict:
    """Grants exactly the order value of events tagged `lot` (`tags: {"lot": lot}`), expiring after `expiration`."""
    return {
        "conditions": [[{"field": "event.tags.lot", "operator": "eq", "value": lot}]],
        "effects": [
            {
                "reward_id": str(reward.pk),
                "kind": "PER_VALUE",
                "amount": 1,
                "per": 1,
                "basis": "order.value",
                "expiration": expiration,
            }
        ],
    }


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    brand = factory.SubFactory(BrandFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    type = Campaign.Type.BEHAVIOR
    status = Campaign.Status.ACTIVE
    trigger = factory.LazyFunction(lambda: EventType.objects.get(pk="PURCHASE"))
    start_date = datetime(2020, 1, 1, tzinfo=timezone.utc)
    end_date = None
    rules = factory.LazyFunction(list)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        rules = kwargs.get("rules") or []
        kwargs["rules"] = [{"id": f"rule-{i + 1}", **rule} for i, rule in enumerate(rules)]
        return super()._create(model_class, *args, **kwargs)
