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

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
