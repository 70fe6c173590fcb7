from functools import wraps

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView


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


urlpatterns = [
    path("", TemplateView.as_view(template_name="landing.html"), name="landing"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api")),
    path("api/schema/", api_docs(SpectacularAPIView.as_view()), name="schema"),
    path("api/docs/", api_docs(SpectacularSwaggerView.as_view(url_name="schema")), name="docs"),
    path(
        "api/redoc/",
        api_docs(SpectacularRedocView.as_view(url_name="schema", template_name="api_docs/redoc.html")),
        name="redoc",
    ),
]

handler404 = "core.api.not_found_view"
handler500 = "core.api.server_error_view"
