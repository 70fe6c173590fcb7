"""The back office's permission groups (staff users only: a user needs `is_staff` to log in at
all; a user may belong to several groups):

- "Support (read-only)": views customers, wallets, lines, ledger rows, metrics, events, the
  programme (brands, rewards, tiers, event types, campaigns), webhook endpoints and deliveries,
  and the audit trail. Not API keys, users or schedules.
- "Support (fulfil and reverse)": the same, and the Fulfill and Reverse actions.
- "Programme manager": the same views, and adds, changes and deletes the programme (brands,
  rewards, tiers, event types, campaigns, webhook endpoints), creates and revokes API keys,
  adds and edits customers, and adjusts balances by hand (Adjust balance, adjust_balance).
  Fulfil and reverse stay with support: give a manager both groups to do both.

`create` is the data step on its own: tests put the groups back after a flush."""

from django.db import migrations

VIEW = [
    "audit.view_auditentry",
    *(f"campaigns.view_{m}" for m in ("brand", "reward", "tier", "eventtype", "campaign")),
    *(f"wallets.view_{m}" for m in ("customer", "wallet", "walletline", "transaction", "metricbucket")),
    "events.view_event",
    "webhooks.view_webhookendpoint",
    "webhooks.view_webhookdelivery",
]
PROGRAMME = [
    *(
        f"campaigns.{verb}_{m}"
        for m in ("brand", "reward", "tier", "eventtype", "campaign")
        for verb in ("add", "change", "delete")
    ),
    "campaigns.view_apikey",
    "campaigns.add_apikey",
    "campaigns.change_apikey",
    "webhooks.add_webhookendpoint",
    "webhooks.change_webhookendpoint",
    "webhooks.delete_webhookendpoint",
    "wallets.add_customer",
    "wallets.change_customer",
    "events.adjust_balance",
]
GROUPS = {
    "Support (read-only)": VIEW,
    "Support (fulfil and reverse)": [*VIEW, "events.fulfill_event", "events.reverse_event"],
    "Programme manager": [*VIEW, *PROGRAMME],
}


def create(apps, schema_editor):
    groups_grant(apps, GROUPS)


def groups_grant(apps, groups: dict, *, replace: bool = True) -> None:
    """Give each group its permissions (`replace`: exactly those; else added to what it has),
    creating the permissions first (Django makes them after migrate; these need them now).
    Later migrations of the groups (0004) call it too."""
    from django.contrib.auth.management import create_permissions

    for config in apps.get_app_configs():
        stub = getattr(config, "models_module", None) is None  # a migration's app state (not the real registry)
        if stub:
            config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        if stub:
            config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in groups.items():
        found = []
        for label in wanted:
            app_label, codename = label.split(".")
            found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group, _ = Group.objects.get_or_create(name=name)
        if replace:
            group.permissions.set(found)
        else:
            group.permissions.add(*found)


def remove(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0002_rollup_schedule"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("audit", "0001_initial"),
        ("campaigns", "0008_exact_decimal_rules"),
        ("wallets", "0009_customer_profile"),
        ("events", "0012_transition_at_index"),
        ("webhooks", "0002_sweep_schedule"),
    ]

    operations = [migrations.RunPython(create, remove)]
