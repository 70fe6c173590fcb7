from django.apps import AppConfig


class CouponsConfig(AppConfig):
    name = "coupons"
    verbose_name = "Coupons"

    def ready(self) -> None:
        # a coupon redemption joins the event lifecycle at its extension points (coupons.hooks)
        from campaigns.api.includes import campaign_include
        from coupons import hooks
        from coupons.api import CUSTOMER_PARAMETER, codes_summary_field
        from coupons.services import COUPON_REDEMPTION
        from events import extensions

        extensions.campaign_source(hooks.campaign_source)
        extensions.grants_hook(hooks.grants)
        extensions.applied_hook(hooks.applied)
        extensions.undone_hook(hooks.undone)
        extensions.recorded_by_app(COUPON_REDEMPTION, "POST /coupons/redeem")
        # GET /campaigns/{id}?includes=CODES_SUMMARY (campaigns.api.includes)
        campaign_include(
            "CODES_SUMMARY", key="codes_summary", field=codes_summary_field, parameters=(CUSTOMER_PARAMETER,)
        )
