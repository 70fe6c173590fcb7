"""The back office's own admin page: the liability report (backoffice.selectors.liability_report),
read-only, at /admin/backoffice/liability/ (name `backoffice-liability`), with a CSV
download (`?format=csv`) and a brand filter (`?brand=ID`).

Who sees it: staff with `wallets.view_transaction`, the permission to read the ledger rows (every
back-office group has it: backoffice migration 0003). The report is a sum of what those pages
already show one row at a time, so it needs no permission of its own, and the dashboard above the
admin index already shows every staff user the per-reward liability. Others get a 403.

The backoffice app has no model to hang a ModelAdmin on, so config/urls.py routes the page under
/admin/ (before the admin's own URLs), wrapped in `admin.site.admin_view`, which gives it the
admin's login and staff checks like every other admin page.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse

from backoffice.liability import write_csv
from backoffice.selectors import liability_report
from campaigns.models import Brand

PERMISSION = "wallets.view_transaction"


def liability_view(request):
    """The report as a page, or as CSV with `?format=csv`; `?brand=ID` keeps one brand's rows."""
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    brand_id = request.GET.get("brand") or None
    brands = list(Brand.objects.order_by("pk"))
    if brand_id is not None and brand_id not in {b.pk for b in brands}:
        raise Http404("unknown brand")
    report = liability_report(brand_id=brand_id)
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = report["as_of"].strftime("%Y%m%dT%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="liability-{brand_id or "all"}-{stamp}.csv"'
        write_csv(report, response)
        return response
    context = {
        **admin.site.each_context(request),
        "title": "Outstanding liability",
        "report": report,
        "brands": brands,
        "brand_id": brand_id,
        "spanning": [r for r in report["rewards"] if r["brands"] > 1],
    }
    return TemplateResponse(request, "admin/backoffice/liability.html", context)
