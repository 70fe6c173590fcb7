"""Local development (`make run`, manage.py). Debug on unless DJANGO_DEBUG says otherwise.

The secret key is DJANGO_SECRET_KEY or, when that is unset, this installation's own: a random
key kept in var/secret_key (mode 0600), created on first use (`make run` creates it before
anything else starts), so no two installations share one."""

import os
import secrets
from pathlib import Path

from .base import *  # noqa: F403
from .base import SECRET_KEY, VAR_DIR, env


def installation_secret_key(path: Path) -> str:
    """The key stored at `path`, created (random, readable by the owner only) if there is none.
    Safe when several processes start at once: the file appears whole or not at all."""
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if key:
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_urlsafe(50) + "\n")
    try:
        os.link(draft, path)  # fails if another process got there first: then use its key
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()


DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = SECRET_KEY or installation_secret_key(VAR_DIR / "secret_key")
