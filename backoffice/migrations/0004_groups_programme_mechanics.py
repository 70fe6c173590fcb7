"""The back-office groups see what came with issues 13 and 14, and the programme manager adds
codes: coupon codes and uses, gift card codes and pools, referral codes and referrals, import
jobs and imported history (views, for every group); adding coupon codes and loading gift card
codes (the programme manager). `create` is the data step on its own: tests put it back after a
flush (tests/conftest.py), after 0003's."""

from importlib import import_module

from django.db import migrations

VIEW = [
    "coupons.view_couponcode",
    "coupons.view_couponuse",
    "giftcards.view_giftcardcode",
    "giftcards.view_giftcardpool",
    "referrals.view_referralcode",
    "referrals.view_referral",
    "importing.view_importjob",
    "importing.view_historicaltransaction",
]
PROGRAMME = ["coupons.add_couponcode", "giftcards.add_giftcardcode"]
ADDED = {
    "Support (read-only)": VIEW,
    "Support (fulfil and reverse)": VIEW,
    "Programme manager": [*VIEW, *PROGRAMME],
}


def create(apps, schema_editor):
    import_module("backoffice.migrations.0003_groups").groups_grant(apps, ADDED, replace=False)


def remove(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, labels in ADDED.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            codenames = [label.split(".")[1] for label in labels]
            group.permissions.remove(*Permission.objects.filter(codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0003_groups"),
        ("coupons", "0002_coupon_redemption_type"),
        ("giftcards", "0001_initial"),
        ("referrals", "0002_referral_event_type"),
        ("importing", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, remove)]
