"""Any change to the programme moves its version, so every process's cache sees it next time.
(Signals only invalidate a cache here; no ledger or balance is ever written from a signal.)"""

from django.db.models.signals import post_delete, post_save

from campaigns.cache import bump_version
from campaigns.models import Brand, Campaign, EventType, Reward, Tier


def _changed(sender, **kwargs):
    if not kwargs.get("raw"):
        bump_version()


for _model in (Brand, Campaign, EventType, Reward, Tier):
    post_save.connect(_changed, sender=_model, dispatch_uid=f"programme-version-save-{_model.__name__}")
    post_delete.connect(_changed, sender=_model, dispatch_uid=f"programme-version-delete-{_model.__name__}")
