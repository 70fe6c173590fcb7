"""Reads of events worth naming."""
from django.db.models import Sum

from events.models import Event
from wallets.models import Transaction
from wallets.selectors import exact, ledger_drift

UNDONE = (Event.Status.REVERSED, Event.Status.CANCELLED, Event.Status.EXPIRED, Event.Status.FAILED)


def ledger_problems() -> list[str]:
    """Every drift between totals, lines and ledger rows, plus every undone event (reversed,
    cancelled, expired, failed) whose rows do not net to zero."""
    problems = ledger_drift()
    undone = Event.objects.filter(status__in=UNDONE).values("id")
    sums = Transaction.objects.filter(event_id__in=undone).values_list("event_id", "reward_id").annotate(s=Sum("amount"))
    for event_id, reward_id, total in sums:
        if exact(total) != 0:
            problems.append(f"event {event_id} is undone but nets {total} of reward {reward_id}")
    return problems
