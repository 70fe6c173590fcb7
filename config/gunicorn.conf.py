"""gunicorn's settings for the web process. The Procfile (`make run`), production and
tests/security/test_slow_clients.py all start gunicorn with this file:

    gunicorn --config config/gunicorn.conf.py [--bind HOST:PORT]

uvicorn workers serve config/asgi.py: each worker reads request bodies on its event loop and
hands a request to one of its WEB_THREADS threads only once the body is in, so clients that
trickle their bodies do not hold up the others. See docs/deployment.md."""

import os

wsgi_app = "config.asgi:application"
worker_class = "uvicorn_worker.UvicornWorker"

# Explicit, so that a PORT in the environment never makes gunicorn listen on every interface.
bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))  # processes; WEB_THREADS requests each

timeout = 30  # a worker whose event loop has not checked in for this long is restarted
graceful_timeout = 30  # on SIGTERM, requests in flight get this long to finish
keepalive = 5  # seconds an idle keep-alive connection stays open

# X-Forwarded-For and X-Forwarded-Proto are the application's business (the settings'
# DJANGO_TRUST_X_FORWARDED_PROTO and LOYALTY_NUM_PROXIES): the server rewrites neither, from
# any peer (gunicorn and uvicorn would trust 127.0.0.1 by default).
forwarded_allow_ips = ""

accesslog = "-"
errorlog = "-"
