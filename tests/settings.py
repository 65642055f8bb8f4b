"""Test settings: the console's own settings, with the environment a test run needs."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
if "CONSOLE_VAR_DIR" not in os.environ:
    # A folder per test run (SQLite file, filesystem broker), shared with the worker
    # processes it starts, so that two runs on one machine never meet.
    os.environ["CONSOLE_VAR_DIR"] = tempfile.mkdtemp(prefix="console-tests-")
    atexit.register(shutil.rmtree, os.environ["CONSOLE_VAR_DIR"], ignore_errors=True)
# pytest-django's live_server runs in the test process next to Playwright's event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from console.settings import *  # noqa: F403

# Workers started by tests must not refresh the services behind the test's back, unless the
# test asks for it.
CONSOLE_SYNC_AT_WORKER_START = os.environ.get("CONSOLE_TEST_SYNC_AT_START") == "1"
# A worker process started by a test consumes, and sends its follow-up tasks to, its own queue.
if os.environ.get("CONSOLE_TEST_QUEUE"):
    CELERY_TASK_DEFAULT_QUEUE = os.environ["CONSOLE_TEST_QUEUE"]
# Tests send every task to the default queue they set, unless a test asks for the routes
# (with queue names of its own, CONSOLE_CHANGES_QUEUE and CONSOLE_SYNC_QUEUE).
if os.environ.get("CONSOLE_TEST_ROUTES") != "1":
    CELERY_TASK_ROUTES = {}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
# Workers started by tests send what is due five times a second: polls come every 0.2-0.5 s.
CONSOLE_DISPATCH_SECONDS = float(os.environ.get("CONSOLE_DISPATCH_SECONDS", "0.2"))
# Tests read the weekly chart they just made rows for; the benchmark sets its own.
HISTORY_CHART_SECONDS = 0
