"""Production: behind a buffering reverse proxy that terminates TLS (docs/deployment.md). The
servers (config/wsgi.py, config/asgi.py, config/celery_app.py) use these settings unless
DJANGO_SETTINGS_MODULE says otherwise.

Refuses to start without a real DJANGO_SECRET_KEY (unset, empty, an example key or one Django
calls weak). DEBUG is off unless DJANGO_DEBUG=true. Never redirects to HTTPS on its own unless
DJANGO_SECURE_SSL_REDIRECT=true, trusts X-Forwarded-Proto only with
DJANGO_TRUST_X_FORWARDED_PROTO=true, sends HSTS only with DJANGO_SECURE_HSTS_SECONDS."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

# Keys that were published (the old .env.example and base.py default) or are placeholders.
EXAMPLE_SECRET_KEYS = frozenset({"insecure-local-key-change-me", "change-me", "changeme", "secret"})
GENERATE_A_KEY = "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"


def checked_secret_key(key: str) -> str:
    """The key, if it is fit for production: set, not an example, and strong by Django's own
    measure (security.W009: 50 characters or more, 5 distinct or more, no django-insecure- prefix)."""
    if not key:
        raise ImproperlyConfigured(f"DJANGO_SECRET_KEY is not set; {GENERATE_A_KEY}")
    if key in EXAMPLE_SECRET_KEYS or key.startswith("django-insecure-") or len(key) < 50 or len(set(key)) < 5:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is an example or weak key (at least 50 random characters); {GENERATE_A_KEY}"
        )
    return key


DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = checked_secret_key(env("DJANGO_SECRET_KEY", default=""))
if env.bool("DJANGO_TRUST_X_FORWARDED_PROTO", default=False):
    # Only behind a proxy that sets X-Forwarded-Proto itself on every request (overwriting what a
    # client sent): otherwise any client could claim its plain-HTTP request was HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
