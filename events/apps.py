from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Events"

    def ready(self) -> None:
        # campaigns (below events) asks this app what a campaign granted before it had a budget.
        from campaigns.services import set_past_grants_counter
        from events.rewarding import campaign_past_grants

        set_past_grants_counter(campaign_past_grants)

        # wallets (below events) records each new customer's REGISTRATION event through this app.
        from events.lifecycle import registration_record
        from wallets.hooks import set_registration_hook

        set_registration_hook(registration_record)
