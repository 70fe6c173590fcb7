"""The Celery application. Settings come from Django's (CELERY_* names): the production settings
unless DJANGO_SETTINGS_MODULE says otherwise (`make run` names the local ones)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("loyalty")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
