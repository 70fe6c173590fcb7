"""`{% backoffice_dashboard %}`: the dashboard above the admin index's app list
(templates/admin/index.html), for staff users only (the admin index is staff-only already;
the tag checks again so that no other template can show it to anyone else)."""

from decimal import Decimal

from django import template

from backoffice.charts import bar_chart
from backoffice.selectors import FIGURES, STATUSES, dashboard

register = template.Library()
PCT = Decimal("0.1")


@register.inclusion_tag("backoffice/dashboard.html", takes_context=True)
def backoffice_dashboard(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if not (user and user.is_active and user.is_staff):
        return {"shown": False}
    data = dashboard()
    days = data["days"]
    rewards = []
    for reward_id, figures in sorted(data["per_reward"].items(), key=lambda item: str(data["rewards"].get(item[0]))):
        reward = data["rewards"].get(reward_id)
        series = [(label, figures[key]) for key, label, *_rest in FIGURES]
        rewards.append(
            {
                "reward": reward,
                "reward_id": reward_id,
                "chart": bar_chart(days=days, series=series, stacked=False, label=f"{reward}: rewards per day"),
                "labels": [label for _k, label, *_r in FIGURES],
                "rows": [(day, [figures[key].get(day, 0) for key, *_r in FIGURES]) for day in reversed(days)],
                "totals": [sum(figures[key].values(), 0) for key, *_r in FIGURES],
            }
        )
    events = data["events"]
    statuses = [s for s in STATUSES if events.get(s)] or STATUSES[:3]
    return {
        "shown": True,
        "run": data["run"],
        "days": days,
        "rewards": rewards,
        "events_chart": bar_chart(
            days=days, series=[(s, events.get(s, {})) for s in statuses], stacked=True, label="status changes per day"
        ),
        "statuses": statuses,
        "event_rows": [(day, [events.get(s, {}).get(day, 0) for s in statuses]) for day in reversed(days)],
        "event_totals": [sum(events.get(s, {}).values()) for s in statuses],
        "liability": data["liability"],
        "by_granted": data["by_granted"],
        "by_budget": [
            {
                "name": c.name,
                "used": c.budget_used,
                "budget": c.budget,
                "pct": (c.budget_used * 100 / c.budget).quantize(PCT),
            }
            for c in data["by_budget"]
        ],
    }
