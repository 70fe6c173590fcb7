"""Work with a bound (issue 15 item 7): one event carries at most MAX_REDEMPTIONS_PER_EVENT
redemptions, all levels together, refused at the edge (sync, async, preview, service) with
nothing stored; and consumption reads the wallet's lines only as far as the redemptions reach,
each redemption continuing where the previous one stopped, with the consumption order of SPEC
section 5 (earliest expiration first, never-expiring last, then oldest, then first created)."""

from collections import defaultdict
from decimal import Decimal

import pytest
from django.db.models.signals import post_init

from events.models import Event
from events.redemptions import MAX_REDEMPTIONS_PER_EVENT
from events.services import event_emit, event_fulfill, event_process_queued
from events.tasks import process_event
from tests.factories import CampaignFactory, RewardFactory, cond, fixed_rule
from tests.helpers import T4, assert_error, fresh, totals
from wallets.models import Transaction, WalletLine

pytestmark = pytest.mark.django_db

Q = Decimal("0.0001")


@pytest.fixture
def points(brand):
    """A POINTS reward of 4 decimals and no conditions: redeemable at every level."""
    return RewardFactory(brand=brand, name="Points", decimals=4, attributes={})


@pytest.fixture
def funded(api, customer, points):
    """cust-1 holds 1000 points (one line), granted by one purchase of value 1 over the API (the
    campaign pays orders of value 1 only: the emits under test grant nothing)."""
    rule = fixed_rule(points, amount=1000, conditions=[[cond("order.value", "eq", 1)]])
    CampaignFactory(brand=points.brand, rules=[rule], name="funding")
    r = api.post(
        "/behavior/events", {"customer_id": "cust-1", "brand_id": "0001", "type": "PURCHASE", "order": {"value": 1}}
    )
    assert r.status_code == 201, r.json()
    return points


def body(reward, *, top=0, order=0, shipping=0, products=(), amount="0.01", purchase_id=None):
    """An emit body with redemptions at every level: `products` gives how many each product asks."""
    item = {"id": str(reward.pk), "amount": amount}
    return {
        "customer_id": "cust-1",
        "brand_id": "0001",
        "type": "PURCHASE",
        "redeem": [item] * top,
        "order": {
            "value": 5000,
            **({"purchase_id": purchase_id} if purchase_id else {}),
            "redeem": [item] * order,
            "shipping": {"value": 5, "redeem": [item] * shipping},
            "products": [{"sku": f"SKU-{p}", "value": 10, "redeem": [item] * n} for p, n in enumerate(products)],
        },
    }


def over_the_bound(reward):
    """MAX + 1 redemptions, none of the levels over its own list limit (100)."""
    per_product = MAX_REDEMPTIONS_PER_EVENT // 4
    rest = MAX_REDEMPTIONS_PER_EVENT - 3 * per_product
    return body(reward, top=1, order=rest - 1, shipping=1, products=[per_product, per_product, per_product - 1, 1])


def redemptions_in(payload) -> int:
    order = payload["order"]
    return (
        len(payload["redeem"])
        + len(order["redeem"])
        + len(order["shipping"]["redeem"])
        + sum(len(p["redeem"]) for p in order["products"])
    )


def nothing_stored_since(events_before, rows_before, customer, reward, total):
    assert Event.objects.count() == events_before
    assert Transaction.objects.count() == rows_before
    assert totals(customer, reward)["total"] == total


def assert_names_the_bound(response):
    body = assert_error(response, 400, "validation_error", named="redeem")
    message = str(body["details"]["redeem"])
    assert str(MAX_REDEMPTIONS_PER_EVENT) in message and "all levels together" in message, message


# ---- the bound ----------------------------------------------------------------------------------


def test_the_bound_is_a_hundred_and_each_level_counts():
    assert MAX_REDEMPTIONS_PER_EVENT == 100
    assert redemptions_in(over_the_bound(RewardFactory.build())) == MAX_REDEMPTIONS_PER_EVENT + 1


def test_over_the_bound_is_refused_and_nothing_is_stored(api, customer, funded):
    events, rows = Event.objects.count(), Transaction.objects.count()
    assert_names_the_bound(api.post("/behavior/events", over_the_bound(funded)))
    nothing_stored_since(events, rows, customer, funded, Decimal(1000))


def test_over_the_bound_is_refused_before_queueing(api, customer, funded, django_capture_on_commit_callbacks):
    events, rows = Event.objects.count(), Transaction.objects.count()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert_names_the_bound(api.post("/behavior/events?async=true", over_the_bound(funded)))
    assert callbacks == []
    nothing_stored_since(events, rows, customer, funded, Decimal(1000))


def test_over_the_bound_is_refused_by_the_preview(api, customer, funded):
    payload = over_the_bound(funded)
    del payload["type"]
    assert_names_the_bound(api.put("/events/redeem/preview", payload))


def test_over_the_bound_is_refused_by_the_service(customer, funded):
    """Whoever calls the service (not only the API): InvalidInput, nothing stored."""
    from core.exceptions import InvalidInput

    payload = over_the_bound(funded)
    events, rows = Event.objects.count(), Transaction.objects.count()
    with pytest.raises(InvalidInput) as refused:
        event_emit(payload=payload)
    assert str(MAX_REDEMPTIONS_PER_EVENT) in str(refused.value.details["redeem"])
    nothing_stored_since(events, rows, customer, funded, Decimal(1000))


def test_one_list_far_past_the_bound_is_refused_naming_the_bound(api, customer, funded):
    """500 products of 20 redemptions each (10,000; each list's own limit, 100, let through up to
    50,000, but the 1 MB body limit stops that first): refused on the count, before any of them
    is validated."""
    payload = body(funded, products=[20] * 500)
    events = Event.objects.count()
    assert_names_the_bound(api.post("/behavior/events", payload))
    assert Event.objects.count() == events


@pytest.mark.parametrize("run_async", [False, True])
def test_the_bound_itself_is_accepted(api, customer, funded, run_async, monkeypatch):
    per_product = MAX_REDEMPTIONS_PER_EVENT // 4
    rest = MAX_REDEMPTIONS_PER_EVENT - 3 * per_product
    payload = body(funded, top=1, order=rest - 2, shipping=1, products=[per_product] * 3)
    assert redemptions_in(payload) == MAX_REDEMPTIONS_PER_EVENT
    if run_async:
        monkeypatch.setattr(process_event, "apply_async", lambda args, task_id: None)
        r = api.post("/behavior/events?async=true", payload)
        assert r.status_code == 202, r.json()
        event_process_queued(event_id=r.json()["data"]["id"])
        event = fresh(Event.objects.get(pk=r.json()["data"]["id"]))
        assert event.status == Event.Status.RESOLVED, (event.status, event.reason)
        assert len(event.result["redemptions"]) == MAX_REDEMPTIONS_PER_EVENT
    else:
        r = api.post("/behavior/events", payload)
        assert r.status_code == 201, r.json()
        assert len(r.json()["data"]["result"]["redemptions"]) == MAX_REDEMPTIONS_PER_EVENT
    assert totals(customer, funded)["total"] == 1000 - MAX_REDEMPTIONS_PER_EVENT * Decimal("0.01")


# ---- consumption against many lines ---------------------------------------------------------------


def many_lines(customer, brand, reward, events=2):
    """The wallet gets 1,000 lines an emit (one campaign of 100 rules x 10 FIXED effects, firing
    on orders of value 1 only: the emits under test grant nothing), of amounts 0.0001 to 0.0007
    and expirations from 1 to 9 months and never, so that consumption order interleaves lines of
    different events."""
    rules = []
    for j in range(100):
        rule = {"conditions": [[cond("order.value", "eq", 1)]]}
        rule["effects"] = [
            {
                "reward_id": str(reward.pk),
                "kind": "FIXED",
                "amount": str(Q * ((j * 10 + k) % 7 + 1)),
                "expiration": None if (j + k) % 10 == 9 else f"{(j * 3 + k) % 9 + 1}/months",
            }
            for k in range(10)
        ]
        rules.append(rule)
    CampaignFactory(brand=brand, rules=rules, name=f"many lines {WalletLine.objects.count()}")
    for _ in range(events):
        event_emit(
            payload={
                "customer_id": customer.pk,
                "brand_id": brand.pk,
                "type": "PURCHASE",
                "order": {"value": Decimal(1)},
            }
        )


def spendable_in_order(customer, reward):
    """The spendable lines as SPEC section 5 orders them, computed here independently of the engine."""
    lines = [
        line
        for line in WalletLine.objects.filter(wallet__customer=customer, reward=reward, state="AVAILABLE")
        if line.remaining > line.reserved
    ]
    never = [line for line in lines if line.expiration_date is None]
    dated = [line for line in lines if line.expiration_date is not None]
    dated.sort(key=lambda line: (line.expiration_date, line.issued_at, line.pk))
    never.sort(key=lambda line: (line.issued_at, line.pk))
    return dated + never


def expected_consumption(lines, asked):
    """[(place, line_id, amount)] and the free amount left on each line, consuming FIFO."""
    free = {line.pk: line.remaining - line.reserved for line in lines}
    taken = []
    for place, amount in asked:
        left = amount
        for line in lines:
            if left == 0:
                break
            part = min(free[line.pk], left)
            if part > 0:
                taken.append((place, line.pk, part))
                free[line.pk] -= part
                left -= part
    return taken, free


def ask_at_the_bound(reward, amounts):
    """The bound's worth of redemptions, spread over every level, with their places in order."""
    assert len(amounts) == MAX_REDEMPTIONS_PER_EVENT
    it = iter(amounts)
    top = [{"id": reward.pk, "amount": next(it)} for _ in range(10)]
    order_level = [{"id": reward.pk, "amount": next(it)} for _ in range(10)]
    shipping = [{"id": reward.pk, "amount": next(it)} for _ in range(10)]
    products = [
        {"sku": f"SKU-{p}", "value": Decimal(10), "redeem": [{"id": reward.pk, "amount": next(it)}]} for p in range(70)
    ]
    payload = {
        "customer_id": "cust-1",
        "brand_id": "0001",
        "type": "PURCHASE",
        "redeem": top,
        "order": {
            "value": Decimal(1000),
            "redeem": order_level,
            "shipping": {"value": Decimal(5), "redeem": shipping},
            "products": products,
        },
    }
    places = (
        [f"redeem[{i}]" for i in range(10)]
        + [f"order.redeem[{i}]" for i in range(10)]
        + [f"order.products[{p}].redeem[0]" for p in range(70)]
        + [f"order.shipping.redeem[{i}]" for i in range(10)]
    )
    by_place = {f"redeem[{i}]": top[i]["amount"] for i in range(10)}
    by_place |= {f"order.redeem[{i}]": order_level[i]["amount"] for i in range(10)}
    by_place |= {f"order.shipping.redeem[{i}]": shipping[i]["amount"] for i in range(10)}
    by_place |= {f"order.products[{p}].redeem[0]": products[p]["redeem"][0]["amount"] for p in range(70)}
    return payload, [(place, by_place[place]) for place in places]


AMOUNTS = [Q * ((i * 5) % 9 + 1) for i in range(MAX_REDEMPTIONS_PER_EVENT)]  # 0.0001 to 0.0009, each over several lines


@pytest.mark.parametrize("hold", [False, True])
def test_the_bound_against_many_lines_consumes_exactly_in_order(customer, brand, points, hold):
    many_lines(customer, brand, points)
    lines = spendable_in_order(customer, points)
    assert len(lines) == 2000
    before = totals(customer, points)["total"]
    payload, asked = ask_at_the_bound(points, AMOUNTS)
    if hold:
        payload["fulfilled"] = False
    want_taken, want_free = expected_consumption(lines, asked)
    assert len({line_id for _, line_id, _ in want_taken}) > MAX_REDEMPTIONS_PER_EVENT  # most span two lines

    event = event_emit(payload=payload)

    got = [(r["place"], r["line_id"], Decimal(str(r["amount"]))) for r in event.result["redemptions"]]
    assert sorted(got) == sorted(want_taken)
    spent = sum(AMOUNTS, Decimal(0))
    per_place = defaultdict(Decimal)
    for row in Transaction.objects.filter(event_id=event.pk, type="RESERVATION" if hold else "REDEMPTION"):
        per_place[row.details["place"]] += abs(row.amount)
    assert dict(per_place) == dict(asked)
    if hold:
        assert totals(customer, points) == T4(before - spent, reserved=spent)
        event_fulfill(event_id=event.pk)
    assert totals(customer, points) == T4(before - spent)
    stored = {line.pk: line.remaining - line.reserved for line in WalletLine.objects.filter(pk__in=want_free)}
    assert stored == want_free


def test_redemptions_of_one_quantum_each_take_one_line_each(customer, brand, points):
    """The issue's case at the bound: each 0.0001 takes the next line of 0.0001 in order."""
    reward = points
    CampaignFactory(
        brand=brand,
        name="quanta",
        rules=[
            {
                "conditions": [[cond("order.value", "eq", 1)]],
                "effects": [
                    {
                        "reward_id": str(reward.pk),
                        "kind": "FIXED",
                        "amount": "0.0001",
                        "expiration": f"{k % 9 + 1}/months",
                    }
                    for k in range(10)
                ],
            }
            for _ in range(30)
        ],
    )
    event_emit(
        payload={"customer_id": customer.pk, "brand_id": brand.pk, "type": "PURCHASE", "order": {"value": Decimal(1)}}
    )
    lines = spendable_in_order(customer, reward)
    assert len(lines) == 300
    payload = {
        "customer_id": customer.pk,
        "brand_id": brand.pk,
        "type": "PURCHASE",
        "order": {
            "value": Decimal(1000),
            "products": [{"sku": f"S{p}", "redeem": [{"id": reward.pk, "amount": Q}]} for p in range(100)],
        },
    }
    event = event_emit(payload=payload)
    got = [(r["place"], r["line_id"]) for r in event.result["redemptions"]]
    assert sorted(got) == sorted((f"order.products[{p}].redeem[0]", lines[p].pk) for p in range(100))
    assert totals(customer, reward)["total"] == Q * 200


def test_asking_one_quantum_more_than_spendable_fails_naming_the_spendable(api, customer, brand, points):
    many_lines(customer, brand, points, events=1)
    spendable = totals(customer, points)["total"]
    events = Event.objects.count()
    payload = body(points, top=1, amount=str(spendable + Q))
    r = api.post("/behavior/events", payload)
    assert r.status_code == 422 and r.json()["error"] == "insufficient_balance", r.json()
    assert r.json()["details"].endswith(f"asked {spendable + Q}, spendable {spendable}"), r.json()
    assert Event.objects.get(pk=r.json()["event_id"]).status == Event.Status.FAILED
    assert Event.objects.count() == events + 1
    r = api.post("/behavior/events", body(points, top=1, amount=str(spendable)))
    assert r.status_code == 201, r.json()
    assert totals(customer, points)["total"] == 0


def test_consumption_reads_lines_only_as_far_as_it_reaches(customer, brand, points):
    """The work of the bound's redemptions does not grow with the lines they do not reach: an
    emit loads (as WalletLines) only the lines its redemptions take from, whether the wallet
    holds 1,000 or 2,000. Before, every spendable line of the reward was loaded for every event
    that redeemed it."""

    def lines_loaded_and_taken():
        payload, _asked = ask_at_the_bound(points, [Q] * MAX_REDEMPTIONS_PER_EVENT)
        loaded = []

        def count(sender, instance, **kwargs):
            loaded.append(instance.pk)

        post_init.connect(count, sender=WalletLine)
        try:
            event = event_emit(payload=payload)
        finally:
            post_init.disconnect(count, sender=WalletLine)
        return set(loaded), {r["line_id"] for r in event.result["redemptions"]}

    many_lines(customer, brand, points, events=1)
    loaded, taken = lines_loaded_and_taken()
    assert taken and loaded == taken
    many_lines(customer, brand, points, events=1)
    assert WalletLine.objects.filter(wallet__customer=customer).count() > 2000
    loaded, taken = lines_loaded_and_taken()
    assert taken and loaded == taken


# ---- the lines one event may consume ------------------------------------------------------------


def spread_over_lines(api, reward, n):
    """cust-1 holds `n` lines of 1 point each (one purchase of value 1 granting them)."""
    rule = {
        "conditions": [[cond("order.value", "eq", 1)]],
        "effects": [{"reward_id": str(reward.pk), "kind": "FIXED", "amount": 1, "expiration": None}] * n,
    }
    CampaignFactory(brand=reward.brand, rules=[rule], name="spread")
    r = api.post(
        "/behavior/events", {"customer_id": "cust-1", "brand_id": "0001", "type": "PURCHASE", "order": {"value": 1}}
    )
    assert r.status_code == 201, r.json()


def test_consuming_more_lines_than_one_event_may_is_refused_and_nothing_is_stored(api, customer, points, settings):
    """Each line consumed is a ledger row and a line update under the wallet's lock: one event
    may consume LOYALTY_MAX_LINES_PER_EVENT lines (1,000 by default; bench/redeem_bench.py)."""
    settings.LOYALTY_MAX_LINES_PER_EVENT = 6
    spread_over_lines(api, points, 8)
    events, rows = Event.objects.count(), Transaction.objects.count()

    r = api.post("/behavior/events", body(points, top=2, amount="3.5"))  # 7 points: 7 lines

    assert r.status_code == 422, r.content
    error = r.json()
    assert error["error"] == "redemption_lines_limit"
    assert "at most 6 wallet lines" in error["details"] and "would consume 7" in error["details"], error
    assert error["limit"] == 6 and error["reward_id"] == str(points.pk)
    nothing_stored_since(events, rows, customer, points, Decimal(8))

    r = api.post("/behavior/events", body(points, top=2, amount="3"))  # 6 points: exactly the limit
    assert r.status_code == 201, r.json()
    assert len({x["line_id"] for x in r.json()["data"]["result"]["redemptions"]}) == 6
    assert totals(customer, points)["total"] == 2


def test_a_queued_event_past_the_lines_limit_ends_failed(api, customer, points, settings, monkeypatch):
    settings.LOYALTY_MAX_LINES_PER_EVENT = 3
    spread_over_lines(api, points, 5)
    monkeypatch.setattr(process_event, "apply_async", lambda args, task_id: None)

    r = api.post("/behavior/events?async=true", body(points, top=1, amount="4"))
    assert r.status_code == 202, r.json()
    event_process_queued(event_id=r.json()["data"]["id"])

    event = fresh(Event.objects.get(pk=r.json()["data"]["id"]))
    assert (event.status, event.error_code) == (Event.Status.FAILED, "redemption_lines_limit")
    assert totals(customer, points)["total"] == 5
