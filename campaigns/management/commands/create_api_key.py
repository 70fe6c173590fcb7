from django.core.management.base import BaseCommand, CommandError

from audit.services import Source, audited, command_actor
from campaigns.models import ApiKey
from campaigns.services import api_key_create
from core.exceptions import DomainError


class Command(BaseCommand):
    help = "Create an API key. The key is printed once, alone on the last line; only its hash is kept."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--brand", action="append", dest="brands", default=[], help="restrict the key to this brand id (repeatable)"
        )

    def handle(self, *args, name, brands, **options):
        try:
            with audited(
                actor_name=command_actor("create_api_key"),
                source=Source.COMMAND,
                action="api_key.create",
                hidden=ApiKey.SECRETS,
            ) as entry:
                key, raw = api_key_create(name=name, brand_ids=brands)
                entry.obj = key
        except DomainError as exc:
            raise CommandError(str(exc.details)) from exc
        scope = f"brands {', '.join(brands)}" if brands else "all brands"
        self.stdout.write(f"Created API key {key.name!r} (id {key.pk}, {scope}). It is shown once:")
        self.stdout.write(raw)
