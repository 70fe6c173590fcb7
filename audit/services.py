"""Recording manual actions. The admin and the management commands wrap each service call in
`audited(...)`: the object is read before, the service runs, the object is read again, and the
entry is written in the same transaction as the change (both commit, or neither).

    with audited(actor=request.user, source=AuditEntry.Source.ADMIN, action="campaign.update",
                 obj=campaign, reason=reason) as entry:
        campaign = campaign_update(...)
        entry.obj = campaign          # what to read "after" (a create sets the new object here)

An action that fails (the service raises) records nothing: the transaction rolls back with it.
"""

from __future__ import annotations

import getpass
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import models, transaction
from django.forms.models import model_to_dict

from audit.models import AuditEntry
from core.json import jsonable

Source = AuditEntry.Source


def snapshot(obj: models.Model | None) -> dict | None:
    """The object's concrete fields as JSON-safe values (decimals exact), as stored now."""
    if obj is None or obj.pk is None:
        return None
    fresh = type(obj)._base_manager.filter(pk=obj.pk).first()
    if fresh is None:
        return None
    data = model_to_dict(fresh, fields=[f.name for f in fresh._meta.concrete_fields])
    for f in fresh._meta.concrete_fields:  # model_to_dict skips non-editable fields
        if f.name not in data:
            data[f.name] = f.value_from_object(fresh)
    for f in fresh._meta.many_to_many:
        data[f.name] = sorted(str(o.pk) for o in getattr(fresh, f.name).all())
    return jsonable(data, exact=True)


def command_actor(command: str) -> str:
    """The name a management command's entries carry: the command and the system user running it."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a container without a passwd entry)
        user = "unknown"
    return f"{command} ({user})"


def audit_record(
    *,
    actor=None,
    actor_name: str = "",
    source: str,
    action: str,
    object_type: str,
    object_id,
    object_repr: str = "",
    reason: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    """Add one entry. `actor` is a user (the admin) or None with `actor_name` (a command)."""
    if actor is not None and not actor_name:
        actor_name = actor.get_username()
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_name=(actor_name or "unknown")[:150],
        source=source,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_repr=str(object_repr)[:200],
        reason=reason or "",
        before=before,
        after=after,
    )


@dataclass
class Audited:
    obj: models.Model | None = None
    reason: str = ""
    extra_after: dict = field(default_factory=dict)


@contextmanager
def audited(
    *, actor=None, actor_name: str = "", source: str, action: str, obj=None, reason: str = "", hidden: tuple = ()
):
    """Run the body (a service call) and record it, in one transaction; see the module docstring.
    Set `entry.obj` to the object changed or created, `entry.extra_after` to add facts (e.g. the
    event an adjustment created) to the after snapshot. `hidden` fields are left out of both
    snapshots (secrets; bulky payloads)."""

    def hide(snap):
        return snap and {k: v for k, v in snap.items() if k not in hidden}

    with transaction.atomic():
        before = hide(snapshot(obj))
        ident = _ident(obj)  # read now: a delete may clear the instance's pk
        entry = Audited(obj=obj, reason=reason)
        yield entry
        target = entry.obj if entry.obj is not None else obj
        if target is not obj:
            ident = _ident(target)
        after = hide(snapshot(target))
        if entry.extra_after:
            after = {**(after or {}), **jsonable(entry.extra_after, exact=True)}
        audit_record(
            actor=actor,
            actor_name=actor_name,
            source=source,
            action=action,
            object_type=ident[0],
            object_id=ident[1],
            object_repr=ident[2],
            reason=entry.reason,
            before=before,
            after=after,
        )


def _ident(obj) -> tuple[str, str, str]:
    if obj is None:
        return ("", "", "")
    return (obj._meta.label_lower, "" if obj.pk is None else str(obj.pk), str(obj))


def entries_for(obj: models.Model, limit: int = 50):
    """The newest entries about one object."""
    return AuditEntry.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))[:limit]
