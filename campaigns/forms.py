"""Admin forms and the admin's one way to write: `ServiceAdmin`.

An admin page re-implements no rule of the programme. `ServiceAdmin.save_model` and
`delete_model` call a service (campaigns.services, wallets.services) inside
`audit.services.audited(...)`, so each manual save or delete is one audit entry committed with
the change, and a refusal records nothing. A refusal (core.exceptions.DomainError) rolls the
whole request back and the page is shown again with the service's details as errors on the
fields they name (`rules[0].effects[0].amount` goes on `rules`; a field the form lacks goes on
top), and for a delete as an error message. Bulk "Delete selected" deletes one object at a time
through the same path and says which ones were refused.

What may not change once an object exists is read-only on its change page (`fixed_fields`),
and only the fields the operator changed are sent to an update service, so an update that
leaves a frozen field alone is not refused for it.

(This module holds the mixin beside the forms so that the wallets admin, a layer up, shares it.)
"""

import re
from contextlib import contextmanager

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect

from audit.admin import audit_trail_field
from audit.services import Source, audited
from core.exceptions import DomainError


class ServiceRefused(Exception):
    """save_model's service refused: changeform_view shows the form again with the refusal."""

    def __init__(self, error: DomainError):
        super().__init__(str(error.details))
        self.error = error


def _field_of(where: str, form, aliases: dict) -> str | None:
    name = aliases.get(where) or aliases.get(re.match(r"[A-Za-z_]*", where).group(0))
    name = name or re.match(r"[A-Za-z_]*", where).group(0)
    return name if name in form.fields else None


def refusal_to_form(form, error: DomainError, aliases: dict) -> None:
    """Put a service's refusal on the form: each `{where: problem}` on the field it names (the
    path is kept in the text when it says more than the field), a text on the field its code
    names (`aliases`, e.g. {"customer_exists": "id"}) or on top."""
    details = error.details
    if isinstance(details, dict):
        for where, problem in details.items():
            field = _field_of(str(where), form, aliases)
            text = str(problem) if field == where else f"{where}: {problem}"
            form.add_error(field, text)
    else:
        field = aliases.get(error.code)
        form.add_error(field if field in form.fields else None, str(details))


class ServiceAdmin(admin.ModelAdmin):
    """A ModelAdmin whose writes are the services' (module docstring). Subclasses set
    `audit_name` ("reward": actions reward.create, reward.update, reward.delete), `fixed_fields`
    (read-only once the object exists), `error_fields` ({service field or error code: form
    field}) and implement `create(request, data)`, `update(request, obj, data)` (data: the
    changed fields' cleaned values) and `remove(request, obj)`."""

    audit_name = ""
    audit_hidden: tuple = ()  # fields never written to the audit trail (secrets)
    fixed_fields: tuple = ()
    error_fields: dict = {}
    audit_trail = audit_trail_field()

    def create(self, request, data: dict):
        raise NotImplementedError

    def update(self, request, obj, data: dict):
        raise NotImplementedError

    def remove(self, request, obj) -> None:
        raise NotImplementedError

    def get_readonly_fields(self, request, obj=None):
        ro = tuple(super().get_readonly_fields(request, obj))
        if obj is None:
            return tuple(f for f in ro if f not in self.fixed_fields and f != "audit_trail")
        return (*ro, *(f for f in self.fixed_fields if f not in ro), "audit_trail")

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if obj is None and "audit_trail" in fields:
            fields.remove("audit_trail")
        elif obj is not None and "audit_trail" not in fields:
            fields.append("audit_trail")
        return fields

    @contextmanager
    def audit(self, request, action: str, obj):
        """`audited(...)` by this request's user from the admin, `audit_hidden` left out."""
        with audited(
            actor=request.user, source=Source.ADMIN, action=action, obj=obj, hidden=self.audit_hidden
        ) as entry:
            yield entry

    # ---- saving ----------------------------------------------------------------------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:  # everything was rolled back: show the form again, with why
            request._service_refusal = refused.error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, "_service_refusal", None)
        if refusal is None:
            return form
        aliases = self.error_fields

        class Refused(form):
            def clean(self):
                data = super().clean()
                refusal_to_form(self, refusal, aliases)
                return data

        return Refused

    def save_model(self, request, obj, form, change):
        """Create, or update with the changed fields (nothing changed: nothing saved, nothing
        recorded)."""
        names = form.changed_data if change else list(form.cleaned_data)
        data = {name: form.cleaned_data[name] for name in names if name in form.cleaned_data}
        if change and not data:
            return
        action = f"{self.audit_name}.{'update' if change else 'create'}"
        try:
            with self.audit(request, action, obj if change else None) as entry:
                saved = self.update(request, obj, data) if change else self.create(request, data)
                entry.obj = saved
        except DomainError as error:
            raise ServiceRefused(error) from error
        for field in saved._meta.concrete_fields:  # the page goes on with the object as stored
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        """Many-to-many fields are the services' too (none is saved from the form)."""
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    # ---- deleting -----------------------------------------------------------------------------------

    def _remove_audited(self, request, obj) -> None:
        with self.audit(request, f"{self.audit_name}.delete", obj):
            self.remove(request, obj)

    def delete_model(self, request, obj):
        try:
            self._remove_audited(request, obj)
        except DomainError as error:
            raise ServiceRefused(error) from error

    def delete_queryset(self, request, queryset):
        """All or nothing: the first refusal rolls back every delete (ServiceRefused)."""
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceRefused as refused:  # nothing deleted, nothing logged
            self.message_user(request, f"Not deleted: {refused.error.details}", messages.ERROR)
            return HttpResponseRedirect(request.path.rsplit("/delete/", 1)[0] + "/change/")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            description = actions["delete_selected"][2]
            actions["delete_selected"] = (type(self).delete_one_by_one, "delete_selected", description)
        return actions

    def delete_one_by_one(self, request, queryset):
        """The site's "Delete selected": its confirmation page, then each object through the
        service in its own transaction; the refused ones stay and are named."""
        if not request.POST.get("post"):
            return django_delete_selected(self, request, queryset)
        if not self.has_delete_permission(request):
            raise PermissionDenied
        done = 0
        for obj in queryset:
            try:
                with transaction.atomic():
                    self.log_deletions(request, [obj])
                    self._remove_audited(request, obj)
                done += 1
            except DomainError as error:
                self.message_user(request, f"{obj} not deleted: {error.details}", messages.ERROR)
        if done:
            name = self.opts.verbose_name if done == 1 else self.opts.verbose_name_plural
            self.message_user(request, f"{done} {name} deleted.", messages.SUCCESS)
        return None
