from functools import wraps

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from backoffice.views import liability_view
from core.api import not_found_view


def api_docs(view):
    """The API docs and schema: for anyone while LOYALTY_PUBLIC_API_DOCS is true (read at each
    request), otherwise only for a staff user logged into the admin; anyone else is redirected
    to the admin login (which comes back here)."""
    staff_only = staff_member_required(view)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if settings.LOYALTY_PUBLIC_API_DOCS:
            return view(request, *args, **kwargs)
        return staff_only(request, *args, **kwargs)

    return wrapped


# The back office is branded (LOYALTY_BACKOFFICE_NAME), not "Django administration".
admin.site.site_header = settings.LOYALTY_BACKOFFICE_NAME
admin.site.site_title = settings.LOYALTY_BACKOFFICE_NAME
admin.site.index_title = "Programme overview"

urlpatterns = [
    path("", TemplateView.as_view(template_name="landing.html"), name="landing"),
    # the back office's own page (backoffice.views), with the admin's login and staff checks
    path("admin/backoffice/liability/", admin.site.admin_view(liability_view), name="backoffice-liability"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api")),
    # Masivo's base path, the same API: an integration that only swaps the host works as it is
    # (namespaced, so reverse() names the /api/v1/ paths; left out of the schema, core.schema).
    path("api/storefront/v1/", include(("config.api", "storefront"), namespace="storefront")),
    path("api/schema/", api_docs(SpectacularAPIView.as_view()), name="schema"),
    path("api/docs/", api_docs(SpectacularSwaggerView.as_view(url_name="schema")), name="docs"),
    path(
        "api/redoc/",
        api_docs(SpectacularRedocView.as_view(url_name="schema", template_name="api_docs/redoc.html")),
        name="redoc",
    ),
    # Anything else under /api/ is the API's JSON 404, with DEBUG on too (Django's debug 404
    # page would answer HTML to a client that expects JSON).
    re_path(r"^api/", csrf_exempt(not_found_view)),  # any method: a JSON 404, never a CSRF page
]

handler404 = "core.api.not_found_view"
handler500 = "core.api.server_error_view"
