"""The WSGI entry point (production settings unless DJANGO_SETTINGS_MODULE says otherwise).
gunicorn serves config/asgi.py instead (config/gunicorn.conf.py, docs/deployment.md): this one
is for WSGI servers and tools (e.g. the schemathesis tests)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()
