"""The API router: every endpoint under /api/v1/."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from campaigns.api.authorize import AuthorizeView
from campaigns.api.brands import BrandViewSet
from campaigns.api.campaigns import CampaignViewSet
from campaigns.api.event_types import EventTypeViewSet
from campaigns.api.rewards import RewardViewSet
from campaigns.api.tiers import TierViewSet
from core.serializers import PATH_ID
from coupons.api import CampaignCodesView, CouponRedeemView, CouponReverseView
from events.api import EventViewSet, RedeemPreviewView
from events.codes_api import CodeIssueView, CodeVerifyView
from events.maintenance_api import FulfillExpiredEventsView
from giftcards.api import CustomerGiftCardsView, GiftCardRedeemView, GiftCardsLoadView
from importing.api import CustomersMigrateView, EventsMigrateView, MigrationJobView, TransactionsMigrateView
from referrals.api import RequestCodeView
from wallets.api import CustomerTransactionViewSet, CustomerViewSet, TransactionViewSet
from wallets.api_customers import CustomerConsentView, CustomerIdentifyView, CustomerTagsView
from webhooks.api import WebhookDeliveryViewSet, WebhookViewSet

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
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")

urlpatterns = [
    path("auth/authorize", AuthorizeView.as_view(), name="authorize"),
    path("events/redeem/preview", RedeemPreviewView.as_view(), name="redeem-preview"),
    path("auth/totp", CodeIssueView.as_view(), name="totp"),
    path("auth/totp/verify", CodeVerifyView.as_view(), name="totp-verify"),
    path("customers/fulfill_expired_events", FulfillExpiredEventsView.as_view(), name="fulfill-expired-events"),
    # before the customer routes, which would take `migrate` for a customer's id
    re_path(r"^customers/migrate/?$", CustomersMigrateView.as_view(), name="migrate-customers"),
    re_path(r"^customers/migrate/events/?$", EventsMigrateView.as_view(), name="migrate-events"),
    re_path(r"^customers/migrate/transactions/?$", TransactionsMigrateView.as_view(), name="migrate-transactions"),
    re_path(rf"^migrations/(?P<job_id>{PATH_ID})/?$", MigrationJobView.as_view(), name="migration-job"),
    re_path(rf"^campaigns/(?P<campaign_id>{PATH_ID})/codes/?$", CampaignCodesView.as_view(), name="campaign-codes"),
    re_path(r"^coupons/redeem/?$", CouponRedeemView.as_view(), name="coupon-redeem"),
    re_path(r"^coupons/reverse/?$", CouponReverseView.as_view(), name="coupon-reverse"),
    re_path(rf"^rewards/(?P<reward_id>{PATH_ID})/gift-cards/?$", GiftCardsLoadView.as_view(), name="gift-cards-load"),
    re_path(
        rf"^customers/(?P<customer_id>{PATH_ID})/rewards/gift-cards/?$",
        CustomerGiftCardsView.as_view(),
        name="customer-gift-cards",
    ),
    re_path(
        rf"^customers/(?P<customer_id>{PATH_ID})/rewards/gift-cards/(?P<code>{PATH_ID})/redeem/?$",
        GiftCardRedeemView.as_view(),
        name="gift-card-redeem",
    ),
    re_path(rf"^customers/(?P<customer_id>{PATH_ID})/tags/?$", CustomerTagsView.as_view(), name="customer-tags"),
    re_path(
        rf"^customers/(?P<customer_id>{PATH_ID})/consent/?$", CustomerConsentView.as_view(), name="customer-consent"
    ),
    re_path(
        rf"^customers/(?P<customer_id>{PATH_ID})/referrals/request-code/?$",
        RequestCodeView.as_view(),
        name="customer-referral-code",
    ),
    re_path(
        rf"^customers/(?P<customer_id>{PATH_ID})/identify/anonymous/?$",
        CustomerIdentifyView.as_view(),
        name="customer-identify",
    ),
    *router.urls,
]
