"""The Celery app: periodic and slow work (status topics now; alarm timers, rollups, exports later)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scadapro.settings")

app = Celery("scadapro")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
