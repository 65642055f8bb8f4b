"""WSGI entry point (gunicorn console.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from console.config import run_or_explain

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

application = run_or_explain(get_wsgi_application)
