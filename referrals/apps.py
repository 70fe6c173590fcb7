from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals"

    def ready(self) -> None:
        # a referral joins the referred customer's event lifecycle at its extension points (referrals.hooks)
        from events import extensions
        from referrals import hooks

        extensions.grants_hook(hooks.on_grants, result_parts=(hooks.PART,))
        extensions.applied_hook(hooks.on_applied)
        extensions.resolved_hook(hooks.on_resolved)
        extensions.undoing_hook(hooks.on_undoing)
