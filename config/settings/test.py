"""The test suite: PostgreSQL when DATABASE_URL is set (CI), SQLite otherwise."""

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS

SECRET_KEY = "tests-only-this-key-protects-nothing-" + "0123456789abcdef" * 2
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # the Django test client's host
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

# The ledger refuses TRUNCATE on PostgreSQL (wallets migration 0006) unless the session says
# `loyalty.allow_truncate = on`; the test runner's flush between transactional tests needs it.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c loyalty.allow_truncate=on"  # noqa: F405
