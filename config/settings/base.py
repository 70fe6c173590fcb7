"""Settings shared by every environment. Everything that varies comes from the environment
(django-environ); `.env.example` lists every variable with a safe local value."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# No default key: production refuses to start without a real one (production.py), local
# settings keep this installation's own random key under var/ (local.py), tests use a fixed one.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc as static files: the docs load nothing from elsewhere
    "django_celery_beat",
    "core",
    "audit",
    "campaigns",
    "wallets",
    "events",
    "webhooks",
    "giftcards",
    "coupons",
    "referrals",
    "importing",
    "backoffice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "events.idempotency.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite by default (embedded, zero set-up); DATABASE_URL=postgres://... for PostgreSQL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: wait for the write lock instead of failing, take it
    # at BEGIN so a transaction never upgrades a read lock (the classic SQLite deadlock), WAL so
    # readers never block the writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # Connection reuse: persistent connections (CONN_MAX_AGE, checked before reuse so a restarted
    # PostgreSQL costs no failed request) or, with DATABASE_POOL=true, psycopg's pool (Django 5.2;
    # CONN_MAX_AGE must then be 0; psycopg[pool] in requirements.in).
    # DATABASE_PREPARE_THRESHOLD: psycopg prepares a statement after that many runs on one
    # connection; unset or "off" never prepares (Django's default, as before): keep it so behind
    # PgBouncer in transaction pooling, where prepared statements break (README, "Operating it").
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    if env.bool("DATABASE_POOL", default=False):
        # Django checks each pooled connection as it hands it out (CONN_HEALTH_CHECKS: psycopg's
        # check_connection, an empty query): after PostgreSQL restarts, a request gets a new one.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        _options["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", default=2),
            "max_size": env.int("DATABASE_POOL_MAX", default=8),
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    _prepare = env("DATABASE_PREPARE_THRESHOLD", default="")
    if _prepare:
        _options["prepare_threshold"] = None if _prepare.lower() == "off" else int(_prepare)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
# The programme's time zone: monthly metric buckets and the "this month" periods use it.
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request without it
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# A request body over 1 MiB is refused (SPEC section 3) before it is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["campaigns.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.DecimalJSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.RangePagination",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.schema.ApiSchema",
    "COERCE_DECIMAL_TO_STRING": False,
    "UNAUTHENTICATED_USER": None,
    # core/throttling.py: counters in the Django cache, shared by every process (Redis in production).
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.WriteRateThrottle"],
    # Client addresses for the failed-authentication limit: REMOTE_ADDR, or behind this many
    # trusted proxies the address that many hops from the right of X-Forwarded-For.
    "NUM_PROXIES": env.int("LOYALTY_NUM_PROXIES", default=0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Loyalty engine API",
    "DESCRIPTION": (
        "Storefront-shaped loyalty API: events, wallets, campaigns. See README.md.\n\n"
        'JSON in and out. Success bodies are `{"data": ...}`; lists add `from`, `to`, `count` (0-based, '
        "inclusive; `?from=&to=`, at most 500 rows) or, for the ledger, `cursor` and `previous_cursor`. "
        'Errors are `{"error": "<code>", "details": <text or {field path: message}>}`. Amounts are '
        "accepted as JSON numbers or decimal strings and answered as JSON numbers. Every POST accepts an "
        "`Idempotency-Key` header. String fields are trimmed of surrounding whitespace before they are "
        "checked; an empty query parameter is the same as leaving it out. Authenticate with "
        "`Authorization: Bearer <key>` or `x-api-key: <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/docs/ and /api/redoc/ are served from the app's own static files (no CDN, work offline);
    # Swagger UI never sends the schema to the public online validator. Who may read them:
    # LOYALTY_PUBLIC_API_DOCS (config/urls.py).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # core/schema.py: tags and operation ids without the
    # /api/v1 prefix, Masivo's paths without a trailing slash, the patch serializers as declared.
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_PATCH": False,
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "PREPROCESSING_HOOKS": ["core.schema.without_aliases"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.strip_trailing_slashes",
        "core.schema.empty_query_values",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ActiveStatusEnum": "campaigns.models.Campaign.Status",  # customers have the same two
        "RewardTypeEnum": "campaigns.models.Reward.Type",
        "CampaignTypeEnum": "campaigns.models.Campaign.Type",
        "EventStatusEnum": "events.models.Event.Status",
        "TransactionTypeEnum": "wallets.models.Transaction.Type",
        "WalletLineStateEnum": "wallets.models.WalletLine.State",
        "WebhookEventEnum": "webhooks.serializers.EVENT_NAMES",
        "WebhookDeliveryStatusEnum": "webhooks.models.WebhookDelivery.Status",
    },
}

# The rate-limit counters live here: the local memory cache by default (each `make run` web
# worker process then counts on its own), Redis in production (CACHE_URL=redis://127.0.0.1:6379/1),
# shared by every worker on every node.


def cache_settings(env) -> dict:
    """CACHE_URL as a cache's settings; a redis:// one is served by django-redis, whose
    connection pools are per process (Django's own Redis backend keeps them per backend, i.e. per
    thread: a new connection for every request under the ASGI server; tests/test_cache_connections.py)."""
    config = env.cache("CACHE_URL", default="locmemcache://")
    if config["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        config["BACKEND"] = "django_redis.cache.RedisCache"
    return config


CACHES = {"default": cache_settings(env)}

# Celery: an embedded filesystem broker under var/ by default, Redis (or any kombu URL) in
# production. Results are not kept: every task records its outcome in the database.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Tasks run at once in the process that sends them, with no broker or worker involved (Celery's
# `task_always_eager`): for tooling, scripts and demos that have no worker. An `?async=true` event
# is then applied right after its request commits, still answering 202 with the event as it was
# queued. Off by default; leave it off in production, where workers apply queued events. A task
# that raises is not re-raised to the sender (CELERY_TASK_EAGER_PROPAGATES stays off): the event
# stays queued and the periodic housekeeping, when it runs, sends it again, as when a task is lost.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# The engine's own knobs.
LOYALTY_EXPIRY_BATCH_SIZE = env.int("LOYALTY_EXPIRY_BATCH_SIZE", default=200)
# Held events expired per transaction by the periodic run, which takes up to 100 batches
# (events.services.housekeeping: each batch is a fixed number of statements; bench/expiry_bench.py).
LOYALTY_EVENT_EXPIRY_BATCH_SIZE = env.int("LOYALTY_EVENT_EXPIRY_BATCH_SIZE", default=1000)
# The wallet lines one event may consume (its redemptions, all rewards together): each is a
# ledger row and a line update written under the wallet's lock, so this bounds how long one
# request holds it (bench/redeem_bench.py). Past it: 422 `redemption_lines_limit`.
LOYALTY_MAX_LINES_PER_EVENT = env.int("LOYALTY_MAX_LINES_PER_EVENT", default=1000)
LOYALTY_API_TOKEN_MAX_AGE = 3600  # seconds a token from GET /auth/authorize stays valid
# Seconds a resolved API key stays in the shared cache (campaigns.key_cache; 0: looked up every
# request). A revocation is seen at once whatever the value: it replaces the entry on commit.
LOYALTY_API_KEY_CACHE_SECONDS = env.int("LOYALTY_API_KEY_CACHE_SECONDS", default=30)
# /api/docs/, /api/redoc/ and /api/schema/ for anyone (true), or only for staff users logged into
# the admin (false: others are sent to the admin login). Read at each request.
LOYALTY_PUBLIC_API_DOCS = env.bool("LOYALTY_PUBLIC_API_DOCS", default=True)
# The back office's name: the admin's header, page titles and login page (config/urls.py).
LOYALTY_BACKOFFICE_NAME = env.str("LOYALTY_BACKOFFICE_NAME", default="Loyalty back office")
# The web server (config/asgi.py, config/gunicorn.conf.py, docs/deployment.md): request bodies are
# read in full on the event loop before a request gets a thread; at most WEB_THREADS requests of
# one worker process run at once; a body that has not arrived after WEB_BODY_TIMEOUT seconds is
# answered 408.
WEB_THREADS = env.int("WEB_THREADS", default=4)
WEB_BODY_TIMEOUT = env.float("WEB_BODY_TIMEOUT", default=30)
# Rate limits (core/throttling.py): writes per API key, GET /auth/authorize per API key, failed
# authentications per client address. "N/s", "N/min", "N/hour" or "N/day"; empty for none.
LOYALTY_API_RATE = env("LOYALTY_API_RATE", default="6000/min")
LOYALTY_AUTHORIZE_RATE = env("LOYALTY_AUTHORIZE_RATE", default="60/min")
LOYALTY_AUTH_FAILURE_RATE = env("LOYALTY_AUTH_FAILURE_RATE", default="30/min")
# Customer one-time codes (POST /auth/totp, events/codes.py): digits, seconds a code lives, and
# wrong guesses allowed per customer (or per API key when the verify names no customer).
LOYALTY_TOTP_DIGITS = env.int("LOYALTY_TOTP_DIGITS", default=6)
LOYALTY_TOTP_TTL = env.int("LOYALTY_TOTP_TTL", default=300)
LOYALTY_TOTP_GUESS_RATE = env("LOYALTY_TOTP_GUESS_RATE", default="10/min")
# The brand of the engine's own REGISTRATION and BIRTHDAY events when a registration names none
# (events/lifecycle.py); unset: the programme's first brand.
LOYALTY_DEFAULT_BRAND = env("LOYALTY_DEFAULT_BRAND", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# Webhooks (webhooks/, README "Webhooks"): endpoint URLs must be https unless this is true
# (local work); each attempt's timeout (seconds); the delays before each retry (seconds,
# comma-separated; then FAILED); an endpoint failing every attempt this many days is disabled;
# lines expiring within this many days are announced (REWARDS_EXPIRING, once per line).
LOYALTY_WEBHOOKS_ALLOW_HTTP = env.bool("LOYALTY_WEBHOOKS_ALLOW_HTTP", default=False)
LOYALTY_WEBHOOK_TIMEOUT = env.float("LOYALTY_WEBHOOK_TIMEOUT", default=10.0)
# Seconds a claim on a delivery outlasts its longest attempt (3 x the timeout): a killed worker's
# delivery is sent again once that lease ran out (webhooks.delivery).
LOYALTY_WEBHOOK_LEASE_MARGIN = env.float("LOYALTY_WEBHOOK_LEASE_MARGIN", default=30.0)
LOYALTY_WEBHOOK_RETRY_SCHEDULE = [
    int(seconds)
    for seconds in env.list("LOYALTY_WEBHOOK_RETRY_SCHEDULE", default=["30", "120", "600", "3600", "21600", "86400"])
]
LOYALTY_WEBHOOK_DISABLE_AFTER_DAYS = env.int("LOYALTY_WEBHOOK_DISABLE_AFTER_DAYS", default=3)
LOYALTY_EXPIRING_NOTICE_DAYS = env.int("LOYALTY_EXPIRING_NOTICE_DAYS", default=7)
# Days a DELIVERED delivery is kept (then the periodic task deletes it; FAILED ones are kept).
LOYALTY_WEBHOOK_RETENTION_DAYS = env.int("LOYALTY_WEBHOOK_RETENTION_DAYS", default=30)
