"""The API router: every endpoint under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from campaigns.api.authorize import AuthorizeView
from campaigns.api.brands import BrandViewSet
from campaigns.api.campaigns import CampaignViewSet
from campaigns.api.event_types import EventTypeViewSet
from campaigns.api.rewards import RewardViewSet
from campaigns.api.tiers import TierViewSet
from core.serializers import PATH_ID
from events.api import EventViewSet, RedeemPreviewView
from events.maintenance_api import FulfillExpiredEventsView
from wallets.api import CustomerTransactionViewSet, CustomerViewSet, TransactionViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # Masivo paths have no trailing slash; accept both
router.register("behavior/events", EventViewSet, basename="event")
router.register("brands", BrandViewSet, basename="brand")
router.register("rewards", RewardViewSet, basename="reward")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("tiers", TierViewSet, basename="tier")
router.register("event-types", EventTypeViewSet, basename="event-type")
router.register("customers", CustomerViewSet, basename="customer")
router.register(
    rf"customers/(?P<customer_id>{PATH_ID})/transactions", CustomerTransactionViewSet, basename="customer-transaction"
)
router.register("transactions", TransactionViewSet, basename="transaction")

urlpatterns = [
    path("auth/authorize", AuthorizeView.as_view(), name="authorize"),
    path("events/redeem/preview", RedeemPreviewView.as_view(), name="redeem-preview"),
    path("customers/fulfill_expired_events", FulfillExpiredEventsView.as_view(), name="fulfill-expired-events"),
    *router.urls,
]
