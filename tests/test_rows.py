"""core.rows.rows_as gives what `list(Model.objects.raw(...))` gives (the hot paths' reads,
issue 11): fields converted as the ORM converts them, other columns as attributes, fields not
selected deferred, a LEFT JOIN's missing row an instance without a primary key."""

from decimal import Decimal

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from core.rows import rows_as
from tests.factories import BrandFactory, CampaignFactory, CustomerFactory, RewardFactory, fixed_rule
from tests.helpers import emit
from wallets.models import Customer, MetricBucket, WalletLine, WalletTotal

pytestmark = pytest.mark.django_db


def _same(ours, theirs, extras=()):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert type(a) is type(b) and a.pk == b.pk
        assert a.get_deferred_fields() == b.get_deferred_fields()
        loaded = set(f.attname for f in type(a)._meta.concrete_fields) - a.get_deferred_fields()
        assert {k: getattr(a, k) for k in loaded} == {k: getattr(b, k) for k in loaded}
        for name in extras:
            assert getattr(a, name) == getattr(b, name)


def test_rows_as_reads_what_a_raw_queryset_reads():
    brand = BrandFactory()
    CampaignFactory(brand=brand, rules=[fixed_rule(RewardFactory(brand=brand), amount=10)])
    customer = CustomerFactory()
    emit(customer, brand, value="25.5")
    emit(customer, brand, value=3)
    wallet = customer.wallet.pk
    wallet_param = WalletLine._meta.get_field("wallet").get_db_prep_value(wallet, connection)

    for model, sql, params, extras in [
        (WalletLine, "SELECT * FROM wallets_walletline WHERE wallet_id = %s ORDER BY id", [wallet_param], ()),
        (MetricBucket, "SELECT * FROM wallets_metricbucket WHERE customer_id = %s ORDER BY id", [customer.pk], ()),
        (Customer, "SELECT c.id, c.tags, w.id AS wallet_pk FROM wallets_customer c "
                   "JOIN wallets_wallet w ON w.customer_id = c.id WHERE c.id = %s", [customer.pk], ("wallet_pk",)),
        (WalletTotal, "SELECT t.*, 7 AS seven FROM (SELECT 1 AS one) o "
                      "LEFT JOIN wallets_wallettotal t ON t.wallet_id = %s", [wallet_param], ("seven",)),
        (WalletTotal, "SELECT t.*, 7 AS seven FROM (SELECT 1 AS one) o "
                      "LEFT JOIN wallets_wallettotal t ON t.wallet_id = %s", ["0" * 32], ("seven",)),
    ]:  # fmt: skip
        ours = rows_as(model, sql, params)
        ours_again = rows_as(model, sql, params)  # the second read takes the kept plan
        theirs = list(model.objects.raw(sql, params))
        _same(ours, theirs, extras)
        _same(ours_again, theirs, extras)
        assert ours, sql

    lines = rows_as(WalletLine, "SELECT * FROM wallets_walletline WHERE wallet_id = %s", [wallet_param])
    assert [line.amount for line in lines] == [Decimal(10), Decimal(10)]
    bucket = rows_as(MetricBucket, "SELECT * FROM wallets_metricbucket WHERE customer_id = %s", [customer.pk])
    assert any(b.events.get("PURCHASE") == 2 for b in bucket)  # JSON decoded
    missing = rows_as(WalletTotal, "SELECT t.*, 7 AS seven FROM (SELECT 1 AS one) o "
                                   "LEFT JOIN wallets_wallettotal t ON t.wallet_id = %s", ["0" * 32])  # fmt: skip
    assert missing[0].pk is None and missing[0].seven == 7
    assert model_to_dict(lines[0])["wallet"] == wallet
