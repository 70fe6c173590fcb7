"""Any change to the programme moves its version, so every process's cache sees it next time.
(Signals only invalidate a cache here; no ledger or balance is ever written from a signal.)"""

from django.db.models.signals import m2m_changed, post_delete, post_save

from campaigns.cache import bump_version
from campaigns.key_cache import forget_key
from campaigns.models import ApiKey, Brand, Campaign, EventType, Reward, Tier


def _changed(sender, **kwargs):
    if not kwargs.get("raw"):
        bump_version()


for _model in (Brand, Campaign, EventType, Reward, Tier):
    post_save.connect(_changed, sender=_model, dispatch_uid=f"programme-version-save-{_model.__name__}")
    post_delete.connect(_changed, sender=_model, dispatch_uid=f"programme-version-delete-{_model.__name__}")


def _key_changed(sender, instance, created=False, raw=False, **kwargs):
    """A key saved (revoked, renamed) or re-branded: its cached entry goes (campaigns.key_cache)."""
    if not raw and not created and isinstance(instance, ApiKey):
        forget_key(instance)


post_save.connect(_key_changed, sender=ApiKey, dispatch_uid="api-key-cache-save")
m2m_changed.connect(_key_changed, sender=ApiKey.brands.through, dispatch_uid="api-key-cache-brands")
