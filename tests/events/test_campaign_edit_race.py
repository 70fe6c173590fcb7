"""An operator editing a campaign while events fire it (issue 15, items 1 and 2), on PostgreSQL
with real threads, one connection each.

An edit of a campaign and an event that fires it are serialised: the event holds the edit lock
of every campaign that fired (a shared advisory lock, which emits share among themselves and an
edit takes exclusively; PostgreSQL queues it fairly, so emits cannot starve the edit), locks the
budgeted ones' rows, and uses the campaign as it stands under those locks; a campaign the compiled
programme had in an older form makes the event evaluate again with the programme as it stands
now (events.rewarding.grants_under_campaign_locks). So every grant of a campaign with a budget
is counted in `budget_used`, `budget_used` never exceeds the budget, and no emit fails because of
an edit.

The first two tests hold the edit's transaction open at a chosen moment (a threading.Event) so
that the interleaving the issue reports happens every run; the third is the issue's own probe:
8 clients emitting while an operator toggles the budget through the API.
"""

import json
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.test import Client

from campaigns.models import Campaign
from campaigns.services import api_key_create, campaign_update
from events.models import Event
from tests.factories import CampaignFactory, CustomerFactory, fixed_rule
from tests.helpers import budget_used, emit, granted, live_granted
from wallets.models import WalletLine

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row or advisory locks"),
]

D = Decimal


def budgeted_live(campaign) -> Decimal:
    """What the campaign's lines marked as counted against its budget hold, for live events."""
    live = Event.objects.filter(status__in=Event.LIVE).values("id")
    lines = WalletLine.objects.filter(campaign=campaign, budgeted=True, event_id__in=live)
    return lines.aggregate(s=Sum("amount"))["s"] or D(0)


def lock_waiters() -> int:
    """Backends of this database waiting for a lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


class Thread(threading.Thread):
    """A thread with its own connection that keeps what its call returned or raised."""

    def __init__(self, call):
        super().__init__(daemon=True)
        self.call, self.value, self.error = call, None, None

    def run(self):
        try:
            self.value = self.call()
        except BaseException as exc:  # handed back to the test
            self.error = exc
        finally:
            connection.close()


def edit_held_open(campaign, **changes):
    """Start a thread that edits the campaign through the service and keeps its transaction
    (and so the campaign's row lock) open until the returned `commit` event is set."""
    edited, commit = threading.Event(), threading.Event()

    def edit():
        with transaction.atomic():
            campaign_update(campaign_id=campaign.pk, **changes)
            edited.set()
            assert commit.wait(20), "the test never let the edit commit"

    thread = Thread(edit)
    thread.start()
    assert edited.wait(20), thread.error
    return thread, commit


def wait_until_blocked_or_done(thread, seconds=5.0) -> bool:
    """True once another backend waits for a lock (the emit behind the edit); False when the
    thread finished without waiting (today's code: the emit never looks at the edited row)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not thread.is_alive():
            return False
        if lock_waiters():
            return True
        time.sleep(0.01)
    raise AssertionError("the emit neither finished nor waited for the edit")


def test_a_budget_given_while_an_event_is_applied_counts_that_events_grant(brand, stars):
    campaign = CampaignFactory(brand=brand, rules=[fixed_rule(stars, amount=10)])  # no budget yet
    for _ in range(2):
        emit(CustomerFactory(), brand)  # 20 granted without a budget; the compiled programme is warm
    buyer = CustomerFactory()

    editor, commit = edit_held_open(campaign, budget=D(25))  # counts the 20 at once, under the row lock
    emitter = Thread(lambda: emit(buyer, brand))
    emitter.start()
    wait_until_blocked_or_done(emitter)
    commit.set()
    editor.join(20)
    emitter.join(20)

    assert editor.error is None, editor.error
    assert emitter.error is None, emitter.error
    assert emitter.value.status == Event.Status.RESOLVED
    # the emit ran after the edit: it saw the budget and got what was left of it
    assert granted(emitter.value, campaign) == 5
    assert live_granted(campaign) == budget_used(campaign) == budgeted_live(campaign) == 25


def test_a_budget_removed_while_an_event_is_applied_never_fails_the_event(brand, stars):
    campaign = CampaignFactory(brand=brand, budget=D(100), rules=[fixed_rule(stars, amount=10)])
    emit(CustomerFactory(), brand)  # the compiled programme now says "budget 100"
    buyer = CustomerFactory()

    editor, commit = edit_held_open(campaign, budget=None)
    emitter = Thread(lambda: emit(buyer, brand))
    emitter.start()
    assert wait_until_blocked_or_done(emitter)  # a budgeted campaign's row is locked by every emit
    commit.set()
    editor.join(20)
    emitter.join(20)

    assert editor.error is None, editor.error
    assert emitter.error is None, emitter.error  # today: TypeError (budget None under the lock)
    event = emitter.value
    assert event.status == Event.Status.RESOLVED
    assert granted(event, campaign) == 10
    assert not WalletLine.objects.get(event_id=event.pk).budgeted  # granted while the campaign had no budget
    assert budget_used(campaign) == budgeted_live(campaign) == 10


def test_emits_while_an_operator_toggles_the_budget_through_the_api(brand, stars):
    """The issue's probe: 8 clients emit events that fire a campaign while an operator sets its
    budget to none and back with PATCH /campaigns/{id}. No emit fails, and with the budget set
    at the end every grant of the campaign is counted in budget_used."""
    campaign = CampaignFactory(brand=brand, budget=D(1_000_000), rules=[fixed_rule(stars, amount=10)])
    buyers = [[CustomerFactory() for _ in range(10)] for _ in range(8)]
    _key, raw = api_key_create(name="operator")
    done = threading.Event()

    def operator():
        client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        answers = []
        while not done.is_set():
            for budget in (None, "1000000"):
                response = client.patch(
                    f"/api/v1/campaigns/{campaign.pk}", json.dumps({"budget": budget}), content_type="application/json"
                )
                answers.append(response.status_code)
                time.sleep(0.005)
        return answers

    def client_emits(customers):
        return [emit(c, brand).status for c in customers]

    toggler = Thread(operator)
    emitters = [Thread(lambda group=group: client_emits(group)) for group in buyers]
    toggler.start()
    for thread in emitters:
        thread.start()
    for thread in emitters:
        thread.join(120)
    done.set()
    toggler.join(30)

    assert [t.error for t in emitters] == [None] * 8, [t.error for t in emitters if t.error]
    assert all(status == Event.Status.RESOLVED for t in emitters for status in t.value)
    assert toggler.error is None, toggler.error
    assert set(toggler.value) == {200}, toggler.value
    assert len(toggler.value) >= 4  # the budget really moved while the events were applied
    assert Campaign.objects.get(pk=campaign.pk).budget == D(1_000_000)  # the toggler ends on "set"
    assert live_granted(campaign) == 80 * 10
    assert budget_used(campaign) == budgeted_live(campaign) == live_granted(campaign)
