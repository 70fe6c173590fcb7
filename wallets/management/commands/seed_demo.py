"""The demo programme of SPEC section 7, created idempotently with fixed ids so that the
README's curl walk-through can name them."""

import uuid
from datetime import UTC, datetime

from django.core.management.base import BaseCommand
from django.db import transaction

from campaigns.models import Brand, Campaign, EventType, Reward
from wallets.models import Customer
from wallets.services import customer_register

DEMO_REWARD_ID = uuid.UUID("5f1c6b2e-0000-4000-8000-000000000001")
DEMO_CAMPAIGN_ID = uuid.UUID("5f1c6b2e-0000-4000-8000-000000000002")


class Command(BaseCommand):
    help = "Create the demo programme (brand 0001, reward Stars, a campaign, customer cust-1). Idempotent."

    @transaction.atomic
    def handle(self, *args, **options):
        brand, _ = Brand.objects.get_or_create(id="0001", defaults={"name": "Cafe Central"})
        reward, _ = Reward.objects.get_or_create(
            id=DEMO_REWARD_ID,
            defaults={
                "brand": brand,
                "name": "Stars",
                "type": Reward.Type.POINTS,
                "decimals": 0,
                "attributes": {"conversion_factor": 0.10},
            },
        )
        Campaign.objects.get_or_create(
            id=DEMO_CAMPAIGN_ID,
            defaults={
                "brand": brand,
                "name": "1 star per 10 spent",
                "type": Campaign.Type.BEHAVIOR,
                "trigger": EventType.objects.get(pk="PURCHASE"),
                "status": Campaign.Status.ACTIVE,
                "start_date": datetime(2026, 1, 1, tzinfo=UTC),
                "end_date": None,
                "budget": None,
                "rules": [
                    {
                        "id": "demo-rule-1",
                        "conditions": [[{"field": "order.value", "operator": "gte", "value": 10}]],
                        "effects": [
                            {
                                "reward_id": str(reward.pk),
                                "kind": "PER_VALUE",
                                "amount": 1,
                                "per": 10,
                                "basis": "order.value",
                                "expiration": "12/months",
                            }
                        ],
                    }
                ],
            },
        )
        if not Customer.objects.filter(pk="cust-1").exists():
            customer_register(id="cust-1", name="Ana Diaz", email="ana@example.com")
        self.stdout.write(
            f"Demo programme ready: brand 0001, reward Stars {reward.pk}, campaign {DEMO_CAMPAIGN_ID}, customer cust-1"
        )
