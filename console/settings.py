"""Settings of the Data Flow Console: one file, read from the environment.

Every value has a default that lets a fresh checkout run on SQLite with a serverless Celery
broker and the bundled SCP simulator. A malformed value stops start-up with one line that
names the variable (`ConfigError`, caught by manage.py, wsgi.py and celery.py).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from kombu import Queue
from kombu.transport import TRANSPORT_ALIASES

from console.config import (
    ConfigError,
    env_bool,
    env_encryption_keys,
    env_float,
    env_http_url,
    env_int,
    env_list,
    env_mail_settings,
    env_networks,
    env_public_url,
    env_rate,
    env_str,
    env_webhook_url,
    sso_settings_check,
)
from console.logjson import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CONSOLE_VAR_DIR", str(BASE_DIR / "var")))
os.makedirs(VAR_DIR, exist_ok=True)

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigError("SECRET_KEY is required when DEBUG is off (set SECRET_KEY or DEBUG=1).")
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "axes",
    "csp",
    # One-time passwords for local accounts where TWO_FACTOR_LOCAL is on (console.twofactor).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here: no CDN
    "console.dataflow",
]
if DEBUG:
    # The SCP simulator is a development tool: production never serves or imports it.
    INSTALLED_APPS.append("console.simulator")

MIDDLEWARE = [
    # First: X-Forwarded-* from anyone but the trusted proxies never reach the rest.
    "console.clientip.ForwardedHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages and downloads gzipped for a browser that accepts it (the service list's page is a
    # fifth of its size); Django's middleware pads each answer against BREACH. Static files are
    # answered above, already compressed by collectstatic.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed a one-time password.
    "django_otp.middleware.OTPMiddleware",
    # Before the sign-in requirement: an idle or old session is signed out, then sent to sign in.
    "console.dataflow.middleware.SessionLimitsMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # With TWO_FACTOR_LOCAL on, a local sign-in reaches nothing before its one-time password.
    "console.twofactor.TwoFactorRequiredMiddleware",
    # Answers to a signed-in person are `Cache-Control: private, no-store`.
    "console.dataflow.middleware.PrivatePagesMiddleware",
    # A GET on a POST-only address answers a page, not a blank 405.
    "console.dataflow.middleware.MethodNotAllowedPage",
    # The signed-in person's time zone, for every date the pages and exports show.
    "console.dataflow.people.timezones.TimeZoneMiddleware",
    # After authentication: a signed-in person's saved language wins over the browser's.
    "console.dataflow.middleware.PreferredLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during sign-in into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "console.dataflow.context_processors.console_roles",
                "console.dataflow.context_processors.scp_version_banner",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
_database_url = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'console.sqlite3'}")
try:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
except Exception as exc:  # dj-database-url raises several kinds for a malformed URL
    raise ConfigError(
        f"DATABASE_URL is not a database URL ({exc}); "
        "use sqlite:////abs/path.sqlite3 or postgres://user@host:5432/db."
    ) from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web server and Celery worker share the file: wait for each other's writes.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-console.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that does not answer fails a request (and /healthz) in seconds, not minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dataflow:service-list"
LOGOUT_REDIRECT_URL = "login"
# django-axes first: it refuses a locked-out sign-in before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Single sign-on (OpenID Connect); answers nothing while OIDC_RP_CLIENT_ID is unset.
    "console.sso.SsoBackend",
]

# Sign-in throttling (django-axes): ten failures for one username from one address lock that
# pair for the cool-off; a superuser sees and lifts locks in Django admin (Axes > Access attempts).
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = timedelta(minutes=env_float("SIGNIN_LOCKOUT_MINUTES", 15.0))
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False  # one warning per lockout from our own logger settings is enough
# Password reset (console.accounts): requests from one client address, and mails to one mail
# address, per hour. Password change: this many wrong current passwords in a row refuse any
# further try for SIGNIN_LOCKOUT_MINUTES.
PASSWORD_RESET_REQUESTS_PER_HOUR = 5
PASSWORD_RESET_MAILS_PER_HOUR = 3
PASSWORD_CHANGE_FAILURE_LIMIT = 5

# Single sign-on with OpenID Connect (mozilla-django-oidc; console.sso): on when
# OIDC_RP_CLIENT_ID is set. The provider's groups (the OIDC_GROUPS_CLAIM claim) map to the three
# roles; someone in none of the mapped groups is refused. Local accounts stay for break-glass:
# LOCAL_SIGNIN=superusers keeps the password form for superusers only.
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", "")
SSO_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_http_url("OIDC_OP_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env_http_url("OIDC_OP_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env_http_url("OIDC_OP_USER_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env_http_url("OIDC_OP_JWKS_ENDPOINT")
# Optional, the provider's end_session_endpoint: signing out ends the provider's session too
# (OpenID Connect RP-initiated logout, with the ID token kept in the session as its hint).
OIDC_OP_LOGOUT_ENDPOINT = env_http_url("OIDC_OP_LOGOUT_ENDPOINT")
OIDC_STORE_ID_TOKEN = True
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10  # seconds for each call to the provider; the library's default never ends
OIDC_CREATE_USER = True
OIDC_AUTHENTICATION_CALLBACK_URL = "sso-callback"
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/"
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
OIDC_ADMIN_GROUPS = env_list("OIDC_ADMIN_GROUPS", [])
OIDC_LEAD_GROUPS = env_list("OIDC_LEAD_GROUPS", [])
OIDC_SUPPORT_GROUPS = env_list("OIDC_SUPPORT_GROUPS", [])
SSO_PROVIDER_NAME = env_str("SSO_PROVIDER_NAME", "")  # the sign-in button's label
LOCAL_SIGNIN = env_str("LOCAL_SIGNIN", "all").lower()
if LOCAL_SIGNIN not in ("all", "superusers"):
    raise ConfigError("LOCAL_SIGNIN must be all or superusers.")
if SSO_ENABLED:
    sso_settings_check(globals())
# One-time passwords (django-otp, TOTP) for local accounts: with TWO_FACTOR_LOCAL on, a password
# sign-in asks for a code from an authenticator app, and sets one up on the first sign-in.
# Single sign-on leaves second factors to the identity provider.
TWO_FACTOR_LOCAL = env_bool("TWO_FACTOR_LOCAL", False)
OTP_TOTP_ISSUER = "Data Flow Console"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ko", "한국어")]
# The compiled .mo files are tracked (a test checks they match the .po files).
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))  # collectstatic's
os.makedirs(STATIC_ROOT, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True  # no script reads it
LANGUAGE_COOKIE_SAMESITE = "Lax"
# A session ends after SESSION_IDLE_MINUTES without a request and SESSION_MAX_HOURS after
# sign-in, whichever comes first (console.dataflow.middleware.SessionLimitsMiddleware); the
# cookie and the stored session last SESSION_MAX_HOURS from their last write.
SESSION_IDLE_MINUTES = env_float("SESSION_IDLE_MINUTES", 60.0)
SESSION_MAX_HOURS = env_float("SESSION_MAX_HOURS", 12.0)
SESSION_COOKIE_AGE = round(SESSION_MAX_HOURS * 3600)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Without DEBUG the console speaks HTTPS only; a lab on plain HTTP turns each off explicitly.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# The preload directive does nothing until the domain's owner submits it to browsers' list.
SECURE_HSTS_PRELOAD = True
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# X-Forwarded-Proto and X-Forwarded-For are believed only from these peers, the proxies (the
# same variable gunicorn reads for its own forwarded headers); from anyone else they are
# dropped (console.clientip). The client is the right-most X-Forwarded-For entry that is not
# one of them: anything left of it came from the client and may be forged.
TRUSTED_PROXY_NETWORKS = env_networks("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
AXES_CLIENT_IP_CALLABLE = "console.clientip.client_address"

# Content-Security-Policy (django-csp 4): the pages load only their own files, run no inline
# script and carry no inline style (htmx's indicator style is off, see base.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # Bootstrap draws its icons as data: SVGs
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

# --- JSON API (console.dataflow.api) ---------------------------------------------------------
# Requests per token (or per signed-in person) allowed by the API, e.g. "120/min" or "5000/day".
# Counted in Django's cache: per process unless CACHES names a shared one.
API_RATE = env_rate("API_RATE", "120/min")
# A token made on the person's page lives this many days unless they choose otherwise.
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 90, low=1, high=366)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "console.dataflow.api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # the docs page, with CSRF
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["console.dataflow.api.auth.TokenRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Data Flow Console API",
    "DESCRIPTION": "Plan, confirm and follow changes of Data Flow services.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Mail: only for password reset. Without EMAIL_URL the reset pages answer 404.
EMAIL_URL = env_str("EMAIL_URL", "")
# EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, ..., DEFAULT_FROM_EMAIL (?_default_from_email=)
globals().update(env_mail_settings(EMAIL_URL, env_str("LOG_FORMAT", "plain").lower()))

# --- Notifications --------------------------------------------------------------------------
# The console's address as people reach it, for absolute links in mail and webhook messages.
# Without it (DEBUG off) notifications go out without a link.
CONSOLE_PUBLIC_URL = env_public_url(
    "CONSOLE_PUBLIC_URL",
    f"http://127.0.0.1:{env_str('CONSOLE_WEB_PORT', '') or env_str('PORT', '') or '8000'}"
    if DEBUG
    else "",
)
# The default connection's webhook (Slack-compatible); other connections keep theirs in the row.
SCP_WEBHOOK_URL = env_webhook_url("SCP_WEBHOOK_URL")
CONSOLE_WEBHOOK_TIMEOUT = env_float("CONSOLE_WEBHOOK_TIMEOUT", 10.0)

# Secrets at rest (SCP secret keys, NiFi passwords): Fernet keys, the first encrypts and all
# decrypt, so a new key goes first and old ones stay until rows are re-encrypted.
CONSOLE_ENCRYPTION_KEYS = env_encryption_keys("CONSOLE_ENCRYPTION_KEYS", DEBUG, SECRET_KEY)

# --- Celery ---------------------------------------------------------------------------------
# The default broker needs no server: kombu's filesystem transport in VAR_DIR, polled every
# 0.1 s. Production points CELERY_BROKER_URL at Redis or RabbitMQ.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if not CELERY_BROKER_URL.split("://", 1)[0] or "://" not in CELERY_BROKER_URL:
    raise ConfigError(
        f"CELERY_BROKER_URL is not a broker URL: {CELERY_BROKER_URL!r} "
        "(use filesystem://, redis://host:6379/0 or amqp://user:pass@host:5672//)."
    )
# filesystem:// is kombu's transport with atomic writes (console/broker.py), in every process.
TRANSPORT_ALIASES["filesystem"] = "console.broker:Transport"
# redis:// is kombu's transport whose restore at a lost connection cannot kill the worker.
TRANSPORT_ALIASES["redis"] = TRANSPORT_ALIASES["rediss"] = "console.broker:RedisTransport"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
    CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", f"file://{VAR_DIR / 'results'}")
    for _folder in ("queue", "processed", "control"):
        os.makedirs(_broker_dir / _folder, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
    CELERY_RESULT_BACKEND = env_str(
        "CELERY_RESULT_BACKEND",
        CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "rpc://",
    )
if CELERY_RESULT_BACKEND.startswith("file://"):
    os.makedirs(CELERY_RESULT_BACKEND.removeprefix("file://"), exist_ok=True)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker outage of any length never needs a person: workers retry the connection for ever
# (Celery's default gives up after 100 tries).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 3600
# Two queues, so that a long sync never delays a change: changes (and fleet changes) on one,
# the sync on the other; anything else on the default queue. Workers on any machine consume
# either (see README, "Several machines"). CONSOLE_TASK_ROUTING=0 sends everything to the
# default queue (a single worker that consumes only `celery`).
CONSOLE_CHANGES_QUEUE = env_str("CONSOLE_CHANGES_QUEUE", "changes")
CONSOLE_SYNC_QUEUE = env_str("CONSOLE_SYNC_QUEUE", "sync")
CONSOLE_TASK_ROUTING = env_bool("CONSOLE_TASK_ROUTING", True)
CELERY_TASK_ROUTES = (
    {
        "dataflow.change_*": {"queue": CONSOLE_CHANGES_QUEUE},
        "dataflow.changes_*": {"queue": CONSOLE_CHANGES_QUEUE},
        "dataflow.fleet_*": {"queue": CONSOLE_CHANGES_QUEUE},
        "dataflow.services_sync*": {"queue": CONSOLE_SYNC_QUEUE},
    }
    if CONSOLE_TASK_ROUTING
    else {}
)
# Every queue is declared, so that a worker started without --queues consumes them all
# (`celery -A console worker` runs every kind of task); --queues still splits them.
_ROUTED = [CONSOLE_CHANGES_QUEUE, CONSOLE_SYNC_QUEUE] if CONSOLE_TASK_ROUTING else []
CELERY_TASK_QUEUES = [Queue(name) for name in dict.fromkeys(["celery", *_ROUTED])]
# The sync runs on a schedule, so outside changes and states are found without a Refresh.
SCP_SYNC_INTERVAL_MINUTES = env_float("SCP_SYNC_INTERVAL_MINUTES", 5.0)
# Celery beat: the sweeper re-dispatches changes whose task message was lost.
CELERY_BEAT_SCHEDULE = {
    "changes-sweep": {"task": "dataflow.changes_sweep", "schedule": 30.0},
    "services-sync": {
        "task": "dataflow.services_sync_scheduled",
        "schedule": SCP_SYNC_INTERVAL_MINUTES * 60,
        # A beat that was down does not fire a backlog of syncs when it returns.
        "options": {"expires": SCP_SYNC_INTERVAL_MINUTES * 60},
    },
}

# --- SCP ------------------------------------------------------------------------------------
# The connection named "default". Out of the box it points at the bundled simulator with its
# demo keys; set the three SCP_* variables to talk to a real region.
SCP_OPENAPI_URL = env_str("SCP_OPENAPI_URL", "http://127.0.0.1:8001" if DEBUG else "")
if not SCP_OPENAPI_URL:
    raise ConfigError(
        "SCP_OPENAPI_URL is required when DEBUG is off "
        "(e.g. https://data-flow.kr-west1.e.samsungsdscloud.com)."
    )
SCP_ACCESS_KEY = env_str("SCP_ACCESS_KEY", "DEMOACCESSKEY0001" if DEBUG else "")
SCP_SECRET_KEY = env_str("SCP_SECRET_KEY", "DEMOSECRETKEY0001" if DEBUG else "")
SCP_API_VERSION = env_str("SCP_API_VERSION", "data-flow 1.1")
# Four-eyes for the `default` connection (database connections have their own switch).
SCP_NEEDS_APPROVAL = env_bool("SCP_NEEDS_APPROVAL", False)
SCP_CONNECT_TIMEOUT = env_float("SCP_CONNECT_TIMEOUT", 5.0)
SCP_READ_TIMEOUT = env_float("SCP_READ_TIMEOUT", 30.0)
# How long a change is tracked before it is given up as timed out.
SCP_TRACK_DEADLINE_MINUTES = env_float("SCP_TRACK_DEADLINE_MINUTES", 60.0)
SCP_TRACK_FIRST_POLL_SECONDS = env_float("SCP_TRACK_FIRST_POLL_SECONDS", 2.0)
SCP_TRACK_MAX_POLL_SECONDS = env_float("SCP_TRACK_MAX_POLL_SECONDS", 30.0)
# SCP may show the old state for a while after its 202: until it shows the update (or the
# reviewed values), RUNNING or ERROR is the old state, followed this long before concluding.
SCP_TRACK_START_GRACE_SECONDS = env_float("SCP_TRACK_START_GRACE_SECONDS", 180.0)
# SCP's edge throttles a client that sends too much (HTTP 417 past roughly 80 requests a
# minute, seen live); its limit is not published. Each connection's calls, from every process,
# share one budget: at most SCP_REQUESTS_PER_MINUTE, halved on a throttling answer (never below
# the floor) and recovered while answers are clean (console/dataflow/connections/budget.py).
SCP_REQUESTS_PER_MINUTE = env_float("SCP_REQUESTS_PER_MINUTE", 600.0)
SCP_REQUESTS_PER_MINUTE_FLOOR = env_float("SCP_REQUESTS_PER_MINUTE_FLOOR", 6.0)
# The history's weekly chart is counted at most this often per filter (0: on every view).
HISTORY_CHART_SECONDS = env_int("HISTORY_CHART_SECONDS", 60, low=0, high=3600)
# A change waits out transient answers (throttling, 5xx, timeouts) this long before it fails.
SCP_RETRY_PATIENCE_MINUTES = env_float("SCP_RETRY_PATIENCE_MINUTES", 15.0)
# A sync fetches this many SCP calls at once per connection (each thread has its own client),
# and writes this many services per transaction.
SCP_SYNC_CONCURRENCY = env_int("SCP_SYNC_CONCURRENCY", 8, low=1, high=64)
SCP_SYNC_BATCH_SIZE = env_int("SCP_SYNC_BATCH_SIZE", 100, low=1)
# A worker that starts refreshes the services from SCP in the background (never blocking).
CONSOLE_SYNC_AT_WORKER_START = env_bool("CONSOLE_SYNC_AT_WORKER_START", True)
# Every worker's dispatcher sends what is due this often (seconds): a retry's or a poll's time
# comes from the database, never from a countdown message held in the broker.
CONSOLE_DISPATCH_SECONDS = env_float("CONSOLE_DISPATCH_SECONDS", 1.0)
if not 0.05 <= CONSOLE_DISPATCH_SECONDS <= 60:
    raise ConfigError("CONSOLE_DISPATCH_SECONDS must be 0.05 to 60 seconds.")

# --- Forms and logging ----------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

LOG_FORMAT = env_str("LOG_FORMAT", "plain").lower()
if LOG_FORMAT not in {"plain", "json"}:
    raise ConfigError(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}.")
LOGGING = logging_config(LOG_FORMAT, env_str("LOG_LEVEL", "INFO"))
