"""The expiry run releases a batch of held events together (events.services.housekeeping
.events_release): the same outcome as releasing them one by one with event_release, which it
replaced there, and a fixed number of queries whatever the batch's size."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Campaign
from events.announce import programme_version_column
from events.models import Event, EventTransition
from events.selectors import events_due
from events.services import event_expire_due, event_reverse
from events.services.transitions import event_release
from events.status import Source
from tests.factories import CampaignFactory, CustomerFactory, RewardFactory, fixed_rule, lot_rule, per_value_rule
from tests.helpers import emit
from tests.webhooks.announced import body, hook, queued  # noqa: F401
from wallets.locks import wallets_lock
from wallets.models import Transaction, WalletLine, WalletTotal
from wallets.selectors import ledger_drift
from wallets.services import wallet_expire_due
from webhooks.models import WebhookDelivery

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

D = Decimal
EXPIRED = Event.Status.EXPIRED


@pytest.fixture
def programme(brand, stars):
    """Stars per value (budgeted, expiring in 12 months), 2.5 miles on every purchase (never
    expiring), and whole-value stars on events tagged `short` that expire after a day."""
    miles = RewardFactory(brand=brand, name="Miles", decimals=2)
    budgeted = CampaignFactory(
        brand=brand, rules=[per_value_rule(stars, min_value=10, expiration="12/months")], budget=D(100_000)
    )
    CampaignFactory(brand=brand, rules=[fixed_rule(miles, amount=D("2.5"))])
    CampaignFactory(brand=brand, rules=[lot_rule(stars, "short", "1/days")])
    return stars, miles, budgeted


def held_batch(brand, stars, miles, now):
    """Held events of four customers, several per customer, due at `now + 3 days`: rewards held
    (pending stars and miles), redemptions reserved (stars, miles), one reservation on a line
    reversed meanwhile (its release pays the debt), one on a line that expired meanwhile (its
    release expires at once), one on a line past its date not swept yet."""
    a, b, c, d = (CustomerFactory(id=f"batch-{k}") for k in "abcd")
    emit(a, brand, value=200)  # 20 stars, 2.5 miles
    emit(a, brand, value=30, redeem=[(stars, 5)], fulfilled=False)
    emit(a, brand, value=50, fulfilled=False, reserve=2)
    emit(a, brand, value=5, redeem=[(miles, D("1.25"))], fulfilled=False)
    emit(b, brand, value=100)
    emit(b, brand, value=20, redeem=[(stars, 4), (miles, 1)], fulfilled=False, reserve=2)
    emit(b, brand, value=70, fulfilled=False)
    spent = emit(c, brand, value=100)  # 10 stars, reserved below, then the purchase reversed
    emit(c, brand, value=10, redeem=[(stars, 8)], fulfilled=False)
    event_reverse(event_id=spent.pk, reason="refund")
    emit(d, brand, value=40, tags={"lot": "short"}, issued_at=now - timedelta(hours=23))  # 40 expire in an hour
    emit(d, brand, value=30, redeem=[(stars, 30)], fulfilled=False, reserve=2)  # on that lot
    emit(d, brand, value=15, tags={"lot": "short"})  # 15 that expire in a day
    emit(d, brand, value=10, redeem=[(stars, 13)], fulfilled=False, reserve=2)  # 10 + 3 on the two lots
    # the first lot expires (its reserved part stays) before the events' deadline; the second
    # is past its date by then but not swept yet
    wallet_expire_due(now=now + timedelta(hours=2))
    return [a, b, c, d]


def one_by_one(run_at):
    """The expiry as it was: each due event released by event_release, in deadline order."""
    with transaction.atomic():
        due = list(
            events_due(now=run_at)
            .select_for_update()
            .annotate(programme_version=programme_version_column())
            .order_by("reservation_expires_at", "id")
        )
        wallets_lock(customer_ids={event.customer_id for event in due})
        for event in due:
            event_release(
                event,
                drop_state=WalletLine.State.EXPIRED,
                to=EXPIRED,
                at=run_at,
                source=Source.TASK,
                reason="reservation window ended",
            )
    return [event.pk for event in due]


def snapshot(before: dict) -> dict:
    """Everything an expiry writes, new rows keyed by content (their ids differ between two runs)."""

    def line_key(line_id):
        return line_id if line_id is None or line_id <= before["line"] else "new"

    return {
        "events": sorted((str(e.pk), e.status, e.expired_at, e.reason, e.result) for e in Event.objects.order_by("pk")),
        "lines": sorted(
            (
                line_key(line.pk),
                str(line.wallet_id),
                str(line.reward_id),
                line.event_id and str(line.event_id),
                line.amount,
                line.remaining,
                line.reserved,
                line.state,
                line.reservation_expires_at,
                line.expiration_date,
                line.updated_at,
            )
            for line in WalletLine.objects.all()
        ),
        "rows": sorted(
            (
                r.type,
                r.amount,
                str(r.wallet_id),
                str(r.reward_id),
                line_key(r.line_id),
                r.event_id and str(r.event_id),
                r.campaign_id and str(r.campaign_id),
                r.brand_id,
                r.cost,
                r.created_at,
                sorted(r.details.items()),
            )
            for r in Transaction.objects.filter(pk__gt=before["row"])
        ),
        "totals": sorted(
            (str(t.wallet_id), str(t.reward_id), t.balance, t.reserved, t.debt, t.pending)
            for t in WalletTotal.objects.all()
        ),
        "transitions": sorted(
            (str(t.event_id), t.from_status, t.to_status, t.at, t.source, t.reason)
            for t in EventTransition.objects.filter(pk__gt=before["transition"])
        ),
        "webhooks": sorted(
            (str(d.endpoint_id), d.event, d.brand_id, repr(body(d)))
            for d in WebhookDelivery.objects.exclude(pk__in=before["deliveries"])
        ),
        "budgets": sorted((str(c.pk), c.budget_used) for c in Campaign.objects.all()),
    }


def last_ids() -> dict:
    def last(model):
        return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    return {
        "line": last(WalletLine),
        "row": last(Transaction),
        "transition": last(EventTransition),
        "deliveries": set(WebhookDelivery.objects.values_list("pk", flat=True)),
    }


def test_a_batch_expires_exactly_as_one_by_one_did(brand, programme):
    stars, miles, _budgeted = programme
    now = timezone.now()
    held_batch(brand, stars, miles, now)
    hook()  # an endpoint of every name: the webhooks are compared too
    run_at = now + timedelta(days=3)
    due = list(events_due(now=run_at).order_by("reservation_expires_at", "id").values_list("pk", flat=True))
    assert len(due) == 8
    before = last_ids()

    point = transaction.savepoint()
    assert one_by_one(run_at) == due
    reference = snapshot(before)
    transaction.savepoint_rollback(point)

    assert event_expire_due(now=run_at, batch_size=100) == due
    batched = snapshot(before)

    assert batched["events"] == reference["events"]
    for part in ("lines", "rows", "totals", "transitions", "webhooks", "budgets"):
        assert batched[part] == reference[part], part
    assert ledger_drift() == []
    # the cases the batch holds, as the reference shows them
    rows = reference["rows"]
    assert {r[0] for r in rows} == {"RELEASE", "EXPIRATION", "REVERSAL"}
    assert [r[4] for r in rows if r[0] == "REVERSAL"].count("new") == 0  # the debt took it all
    assert not WalletLine.objects.filter(state=WalletLine.State.PENDING).exists()
    assert not WalletLine.objects.filter(reserved__gt=0).exists()
    lots = WalletLine.objects.filter(wallet__customer_id="batch-d", amount__in=[40, 15]).order_by("amount")
    assert [line.state for line in lots] == [WalletLine.State.AVAILABLE, WalletLine.State.EXPIRED]
    assert {e.status for e in Event.objects.filter(pk__in=due)} == {EXPIRED}
    names = sorted(w[1] for w in batched["webhooks"])
    assert names.count("BEHAVIOR_EVENT_EXPIRED") == 8 and names.count("REWARD_RESERVATION_CANCELLED") == 6


def test_batches_split_by_size_expire_the_same_as_one_batch(brand, programme):
    stars, miles, _budgeted = programme
    now = timezone.now()
    held_batch(brand, stars, miles, now)
    run_at = now + timedelta(days=3)
    due = list(events_due(now=run_at).order_by("reservation_expires_at", "id").values_list("pk", flat=True))
    before = last_ids()

    point = transaction.savepoint()
    assert event_expire_due(now=run_at, batch_size=100) == due
    whole = snapshot(before)
    transaction.savepoint_rollback(point)

    assert event_expire_due(now=run_at, batch_size=3) == due
    assert snapshot(before) == whole


def queries(call, **kwargs) -> int:
    with CaptureQueriesContext(connection) as ctx:
        call(**kwargs)
    return len(ctx.captured_queries)


# Measured on SQLite, savepoints included: 19 for a batch with no endpoint, 21 with one (the
# columns the claim left unread, read once for all, then the deliveries' insert): the claim,
# the wallets' lock (the run's, then the Ledgers' own), totals, rewards, the events' lines, their
# reservation rows, the lines those reserve, the budget rows' lock and update, the wallets' other
# lines (grouped), metric buckets, then one write per table: lines, ledger rows, totals, events,
# transitions (COPY on PostgreSQL, counted: core.bulk logs them). Ceiling = measure + 1.
BATCH_QUERIES_MAX = 21 + 1


@pytest.mark.parametrize("endpoint", [False, True], ids=["no endpoint", "an endpoint"])
def test_a_batch_costs_the_same_queries_whatever_its_size(brand, programme, endpoint):
    stars, miles, _budgeted = programme
    if endpoint:
        hook()
    counts = {}
    for n in (2, 10):
        now = timezone.now()
        for k in range(n):
            customer = CustomerFactory(id=f"q{n}-{k}")
            emit(customer, brand, value=100)
            emit(customer, brand, value=30, redeem=[(stars, 3)], fulfilled=False)
            emit(customer, brand, value=20, fulfilled=False)
        counts[n] = queries(event_expire_due, now=now + timedelta(days=2), batch_size=1000)
        assert Event.objects.filter(status=EXPIRED).count() == {2: 4, 10: 24}[n]

    assert counts[2] == counts[10], counts
    assert counts[10] <= BATCH_QUERIES_MAX, counts
