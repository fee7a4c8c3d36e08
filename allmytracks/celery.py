"""The Celery app. Settings come from Django settings under the CELERY_ namespace."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "allmytracks.settings")

app = Celery("allmytracks")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in ("default", "ingest", "letters", "email")]
app.autodiscover_tasks()
