"""What every programme service shares: look-ups that answer NotFound, saves of named fields,
inserts whose uniqueness the database decides, deletes refused while referenced."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from campaigns.models import Brand
from core.exceptions import Conflict, NotFound


def get_or_404(model, pk, what: str):
    """The row of `model` (a model, or a queryset of the rows that may be found) with this pk;
    NotFound `<what>_not_found` for an unknown one or an id of the wrong form."""
    rows = model.objects.all() if isinstance(model, type) else model
    try:
        obj = rows.filter(pk=pk).first()
    except (ValidationError, ValueError, TypeError):  # an id of the wrong form is simply unknown
        obj = None
    if obj is None:
        raise NotFound(f"{what} {pk!r} not found", code=f"{what.replace(' ', '_')}_not_found")
    return obj


def delete_unless_used(obj, what: str) -> None:
    try:
        with transaction.atomic():
            obj.delete()
    except ProtectedError as exc:
        raise Conflict(
            f"{what} is in use ({len(exc.protected_objects)} references); deactivate it instead", code="in_use"
        ) from None


def save_fields(obj, fields: dict) -> None:
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.save(update_fields=[*fields, "updated_at"])


def create_unique(model, conflict: str, code: str, **fields):
    """Insert; a uniqueness violation (the database decides, never a look-up first) is a Conflict."""
    try:
        with transaction.atomic():
            return model.objects.create(**fields)
    except IntegrityError as exc:
        raise Conflict(conflict, code=code) from exc


def brand_or_none(brand_id: str | None) -> Brand | None:
    return None if brand_id is None else get_or_404(Brand, brand_id, "brand")
