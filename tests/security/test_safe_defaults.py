"""Safe defaults (issue "Brand isolation and production hardening", item 10): the server entry
points start on the production settings unless told otherwise, and production refuses to start
with a missing or example secret key, keeps DEBUG off, trusts X-Forwarded-Proto only when told
to, and passes `manage.py check --deploy`.

Every check runs Python in a subprocess with a controlled environment (no DJANGO_* variable
but those given). The settings also read a `.env` beside manage.py: these tests assume there is
none (CI has none)."""

import os
import secrets
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
PRODUCTION = "config.settings.production"
EXAMPLE_KEY = "insecure-local-key-change-me"  # the key .env.example and base.py used to carry


def _real_key() -> str:
    return secrets.token_urlsafe(50)


def _env(settings: str | None = PRODUCTION, **extra: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "PYTHONPATH"}
    env.update(DATABASE_URL="sqlite://:memory:", CELERY_BROKER_URL="memory://")
    if settings:
        env["DJANGO_SETTINGS_MODULE"] = settings
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _python(code: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _setting(expression: str, env: dict[str, str]) -> str:
    """repr() of a settings expression (e.g. `settings.DEBUG`) as the given environment loads it."""
    result = _python(f"import django; django.setup(); from django.conf import settings; print(repr({expression}))", env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


# ---- the entry points -------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry_point", ["wsgi", "asgi", "celery_app"])
def test_server_entry_points_default_to_production_settings(entry_point):
    # each file run on its own: importing `config` would run celery_app.py's default first
    env = _env(settings=None, DJANGO_SECRET_KEY=_real_key())
    code = (
        f"import runpy; runpy.run_path('config/{entry_point}.py')\n"
        "from django.conf import settings\n"
        "print(settings.SETTINGS_MODULE)"
    )
    result = _python(code, env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == PRODUCTION


def test_a_server_entry_point_without_a_secret_key_does_not_start():
    result = _python("import runpy; runpy.run_path('config/wsgi.py')", _env(settings=None, DJANGO_SECRET_KEY=None))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DJANGO_SECRET_KEY" in result.stderr


def test_manage_py_stays_on_the_local_settings():
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; print(settings.SETTINGS_MODULE)",
        ],
        cwd=ROOT,
        env=_env(settings=None, DJANGO_SECRET_KEY="a local key"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "config.settings.local"


def test_make_run_names_the_settings_of_every_process():
    """`make run` is a local development run: every manage.py step and the Procfile's web,
    worker and beat get DJANGO_SETTINGS_MODULE=config.settings.local explicitly."""
    result = subprocess.run(
        ["make", "-n", "-B", "run"], cwd=ROOT, env=_env(settings=None), capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    steps = [
        line
        for line in result.stdout.splitlines()
        if ("manage.py" in line or "honcho" in line) and not line.startswith("echo ")
    ]
    assert any("honcho" in line for line in steps) and any("migrate" in line for line in steps)
    for line in steps:
        assert "DJANGO_SETTINGS_MODULE=config.settings.local" in line, line


# ---- the secret key ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, ""], ids=["unset", "empty"])
def test_production_refuses_to_start_without_a_secret_key(key):
    result = _python("import django; django.setup()", _env(DJANGO_SECRET_KEY=key))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "key",
    [EXAMPLE_KEY, "django-insecure-" + "x1y2z3" * 10, "change-me", "ab" * 40],
    ids=["example", "django-insecure", "short", "few-characters"],
)
def test_production_refuses_an_example_or_weak_secret_key(key):
    result = _python("import django; django.setup()", _env(DJANGO_SECRET_KEY=key))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DJANGO_SECRET_KEY" in result.stderr


def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def test_env_example_carries_no_usable_secret_and_no_debug():
    example = _env_example()
    assert example.get("DJANGO_SECRET_KEY", "") == ""
    assert example.get("DJANGO_DEBUG", "false").lower() not in {"true", "on", "yes", "1", "y"}
    # copied as it is, it cannot start production
    env = _env(**{name: value for name, value in example.items() if name != "DJANGO_SETTINGS_MODULE"})
    result = _python("import django; django.setup()", env)
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr


def test_local_settings_keep_a_random_secret_per_installation_under_var(tmp_path):
    """Without DJANGO_SECRET_KEY the local settings use var/secret_key (mode 0600), creating it
    with a random key on first use: two installations never share a key."""
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    env = _env(settings="config.settings.local", DJANGO_SECRET_KEY=None)
    keys = []
    for name in ("one", "two"):
        tree = tmp_path / name
        shutil.copytree(ROOT / "config", tree / "config", ignore=shutil.ignore_patterns("__pycache__"))
        first = _python(code, env, cwd=tree)
        assert first.returncode == 0, first.stderr[-3000:]
        key_file = tree / "var" / "secret_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert key_file.read_text().strip() == first.stdout.strip()
        assert len(first.stdout.strip()) >= 50
        again = _python(code, env, cwd=tree)
        assert again.stdout == first.stdout  # kept, not regenerated
        keys.append(first.stdout)
        given = _python(code, {**env, "DJANGO_SECRET_KEY": "from the environment"}, cwd=tree)
        assert given.stdout.strip() == "from the environment"
    assert keys[0] != keys[1]
    assert EXAMPLE_KEY not in keys[0]


# ---- DEBUG, hosts, proxy header, HSTS ---------------------------------------------------------------------


def test_debug_is_off_unless_set():
    key = _real_key()
    assert _setting("settings.DEBUG", _env(DJANGO_SECRET_KEY=key)) == "False"
    assert _setting("settings.DEBUG", _env(settings="config.settings.base", DJANGO_SECRET_KEY=key)) == "False"
    assert _setting("settings.DEBUG", _env(DJANGO_SECRET_KEY=key, DJANGO_DEBUG="true")) == "True"


@pytest.mark.parametrize("settings", ["config.settings.base", PRODUCTION, "config.settings.local"])
def test_allowed_hosts_hold_no_test_host(settings):
    hosts = _setting("settings.ALLOWED_HOSTS", _env(settings=settings, DJANGO_SECRET_KEY=_real_key()))
    assert "testserver" not in hosts
    assert "localhost" in hosts


_IS_SECURE = (
    "import django; django.setup()\n"
    "from django.conf import settings\n"
    "from django.test import RequestFactory\n"
    "request = RequestFactory().get('/', HTTP_X_FORWARDED_PROTO='https')\n"
    "print(settings.SECURE_PROXY_SSL_HEADER, request.is_secure())"
)


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        (None, "None False"),
        ("false", "None False"),
        ("true", "('HTTP_X_FORWARDED_PROTO', 'https') True"),
    ],
)
def test_x_forwarded_proto_is_trusted_only_when_the_flag_is_set(flag, expected):
    env = _env(DJANGO_SECRET_KEY=_real_key(), DJANGO_TRUST_X_FORWARDED_PROTO=flag)
    result = _python(_IS_SECURE, env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == expected


def test_hsts_comes_from_the_environment():
    key = _real_key()
    off = "(settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD)"
    assert _setting(off, _env(DJANGO_SECRET_KEY=key)) == "(0, False, False)"
    env = _env(
        DJANGO_SECRET_KEY=key,
        DJANGO_SECURE_HSTS_SECONDS="31536000",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        DJANGO_SECURE_HSTS_PRELOAD="true",
    )
    assert _setting(off, env) == "(31536000, True, True)"


def test_check_deploy_is_clean_with_a_real_secret_and_a_sensible_environment():
    env = _env(
        settings=None,
        DJANGO_SECRET_KEY=_real_key(),
        DJANGO_ALLOWED_HOSTS="loyalty.example.com",
        DJANGO_TRUST_X_FORWARDED_PROTO="true",
        DJANGO_SECURE_SSL_REDIRECT="true",
        DJANGO_SECURE_HSTS_SECONDS="31536000",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        DJANGO_SECURE_HSTS_PRELOAD="true",
        CACHE_URL="redis://127.0.0.1:6379/14",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", f"--settings={PRODUCTION}", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
