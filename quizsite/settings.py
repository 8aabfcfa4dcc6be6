"""Settings for the cluneal-nerve board-review site.

One module for every environment, driven by environment variables (django-environ):

- ``DJANGO_DEBUG``          "true" for development; off by default.
- ``DJANGO_SECRET_KEY``     required when debug is off.
- ``DJANGO_ALLOWED_HOSTS``  comma-separated host names (default: localhost names).
- ``DATABASE_URL``          e.g. ``postgres://postgres@127.0.0.1:5432/quizsite``;
                            default: the SQLite file ``db.sqlite3`` beside manage.py.
- ``REDIS_URL``             e.g. ``redis://127.0.0.1:6379/0``: cache and sessions in Redis,
                            shared by several app hosts; default: local memory and the DB.
- ``EMAIL_URL``             e.g. ``smtp+tls://user:pass@smtp.example.org:587``: password reset
                            and notifications by e-mail; without it (and debug off) the reset
                            page says to ask an administrator and notifications stay in the site.
- ``SITE_URL``              the site's address for links in e-mails (https://boards.example.org).
The security settings below are production-safe by default and relaxed only by debug or by
the variables named beside them (docs/deploy.md lists them all).
"""

import datetime
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. With DJANGO_DEBUG off the site needs a secret key: "
            "set DJANGO_SECRET_KEY to a long random string (for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`), "
            "or set DJANGO_DEBUG=true for local development."
        )
    # Development only: a fixed, publicly known key is acceptable when debug is on.
    SECRET_KEY = "django-insecure-development-key-not-for-production"

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "django_htmx",
    "django_guid",
    "bootstrap",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "questions",
]

MIDDLEWARE = [
    # First, so that every log line of the request, the other middleware's included, has it.
    "django_guid.middleware.guid_middleware",
    "django.middleware.security.SecurityMiddleware",
    "questions.middleware.refuse_nul_in_query",  # 400 for ?x=%00 (PostgreSQL refuses NUL)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside the session middleware, whose Vary: Cookie marks a page as someone's own.
    "questions.middleware.no_store_personal_pages",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "questions.middleware.htmx_push_url",
    # As django-axes asks, after the others: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
    # Innermost, so it sees the view's exception first: a request whose database connection
    # was dropped runs again on a new one, or gets a 503, never a 500.
    "questions.middleware.ReconnectOnDroppedConnection",
]

ROOT_URLCONF = "quizsite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # The bell's unread count (one query, only on pages that show it).
                "questions.views.notifications.unread_notifications",
            ],
        },
    },
]

WSGI_APPLICATION = "quizsite.wsgi.application"
ASGI_APPLICATION = "quizsite.asgi.application"

DATABASES = {
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    ),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=0)
# A persistent connection that the database dropped is noticed and replaced, not used.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# SQLite (make run's default) set up for a web server, where several requests write at once:
# - IMMEDIATE transactions take the write lock when they begin: the default (deferred) reads
#   first and then fails at once with "database is locked" when it must write while another
#   request holds the lock; an immediate one waits for it instead, up to the busy timeout;
# - WAL lets pages be read while an answer is written, and synchronous=NORMAL is WAL's
#   usual pairing (durable up to the last checkpoint across a power cut, never corrupt);
# - a 20 s busy timeout: a write waits its turn rather than fail.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        transaction_mode="IMMEDIATE",
        timeout=20,
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    )
    # The tests' database is a file too, configured as above. Django's default, a shared
    # in-memory database, locks whole tables and does not wait for them: two requests of the
    # browser tests' live server writing at once got "database table is locked" (a 500), or
    # waited on each other without end. (pytest-xdist adds each worker's suffix.)
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")}
# Optional: a PostgreSQL streaming replica for the statistics pages (questions/replica.py):
# views marked @reads_from_replica read this app's models from it while it is at most
# REPLICA_MAX_LAG_SECONDS behind, and from the primary otherwise.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=30)
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    # A replica that vanished from the network must not hold a statistics page for minutes.
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    DATABASE_ROUTERS = ["questions.replica.ReplicaRouter"]

REDIS_URL = env.str("REDIS_URL", default="")
# Seconds to wait for Redis before treating it as away (a host that vanished, not one that
# refuses, which fails at once).
REDIS_TIMEOUT = env.float("REDIS_TIMEOUT_SECONDS", default=0.5)
# "staging" keeps an import file between the admin's check and its confirm: it must be
# shared by every worker and outlive a Redis restart, so it is always a database table.
# "ratelimit" counts requests for the rate limits (questions/people/limits.py): Redis when
# there is one, else a database table, shared by every worker either way.
# (Every `migrate` creates both tables: questions/apps.py.)
_STAGING_CACHE = {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                  "LOCATION": "questions_import_staging"}  # fmt: skip
if REDIS_URL:
    # django-redis with IGNORE_EXCEPTIONS: while Redis is away every cache read is a miss
    # and every write is dropped, so pages, logins and quizzes keep working on the
    # database alone; /healthz/ says "degraded". The rate limits then let requests through.
    _REDIS_CACHE = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_TIMEOUT,
            # After a failure, Redis is not tried again for a few seconds: one request waits
            # out the timeout, the others miss at once (questions/redis_breaker.py).
            "REDIS_CLIENT_CLASS": "questions.redis_breaker.BreakerRedis",
        },
    }
    CACHES = {
        "default": _REDIS_CACHE,
        "ratelimit": {**_REDIS_CACHE, "KEY_PREFIX": "ratelimit"},
        "staging": _STAGING_CACHE,
    }
    # Sessions stay in the database (Django's default), not in Redis: every app host reads
    # them, a Redis restart logs nobody out, and a log-out while Redis cannot be reached is
    # not undone when it answers again (a cached copy would outlive the deleted row). One
    # primary-key read a request, beside the user's.
    # The breaker logs Redis going and coming back, once each; not a traceback a command.
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = False
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        # Room for the counters of a busy day: past MAX_ENTRIES the table culls live
        # counters (Django's default is 300), which would only loosen the limits.
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "questions_ratelimit",
            "OPTIONS": {"MAX_ENTRIES": 20000},
        },
        "staging": _STAGING_CACHE,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out login before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Five failed logins for the same account from the same address lock that pair out for 15
# minutes (locking a whole address would lock out a hospital behind one NAT address).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Logged as typed but cut to the user model's 150 characters (axes stores at most 255).
AXES_USERNAME_CALLABLE = "questions.people.roles.login_username"
# The client's address behind DJANGO_PROXY_COUNT trusted proxies (0: REMOTE_ADDR only, and a
# client's own X-Forwarded-For is ignored). questions.people.roles.login_client_ip reads it.
PROXY_COUNT = env.int("DJANGO_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "questions.people.roles.login_client_ip"

# --- Transport and browser security ---------------------------------------------------------
# Behind a TLS-terminating proxy or load balancer that sets X-Forwarded-Proto.
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# Health checks come over plain HTTP from the load balancer.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # forms carry the token; no script reads the cookie

# Content-Security-Policy (django-csp): no inline or third-party script anywhere. Inline
# styles stay allowed: the server-drawn SVG charts carry their own <style>.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Logs, request ids and error reports ------------------------------------------------------
# Every request carries an id (django-guid): the proxy's X-Request-ID when it is a valid UUID
# (HAProxy and nginx can make one), else a new one; it is sent back in X-Request-ID, printed
# on the 500 page, and written in every log line, so a resident's report can be found.
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": True,
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": False,
}
# Everything goes to stderr, which gunicorn (or systemd, or the container) keeps: the site's
# own messages from INFO, Django's from WARNING, a 500 at ERROR with its traceback.
# DJANGO_LOG_FORMAT=json writes one JSON object a line for a log collector.
LOG_FORMAT = env.str("DJANGO_LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "questions.observability.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {
        "questions": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        # Replaces Django's default (debug-only console, mail to ADMINS, which is unset).
        "django": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        # runserver's request lines (development), 200s included, with their request id.
        "django.server": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "django_guid": {"level": "WARNING"},
    },
}
# Optional: errors to Sentry (or a Sentry-compatible service such as GlitchTip) with the
# request id as a tag. Off unless SENTRY_DSN is set; no personal data is sent.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from questions.observability import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# --- E-mail: password reset ------------------------------------------------------------------
# EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.org:587 (django-environ's email URL).
# Without it, debug prints mails to the console and production offers no reset by e-mail:
# the reset page says to ask an administrator, who sets a new password in the admin.
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    globals().update(env.email_url_config(EMAIL_URL))
elif DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
PASSWORD_RESET_BY_EMAIL = bool(EMAIL_URL) or DEBUG
# Seconds an SMTP connection may hang: a mail server that stops answering fails the send
# (the outbox retries it later) instead of holding the job worker.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="webmaster@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24  # a reset link works for one day
# Notifications by e-mail (questions/notifications: an outbox the worker sends) whenever the
# site can send mail; NOTIFICATION_EMAIL_ENABLED=false keeps them to the bell only.
NOTIFICATION_EMAIL_ENABLED = env.bool("NOTIFICATION_EMAIL_ENABLED", default=PASSWORD_RESET_BY_EMAIL)
# The site's address for links in e-mails, which the worker sends with no request to take
# it from, e.g. https://boards.example.org.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "questions:dashboard"
LOGOUT_REDIRECT_URL = "questions:home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# A new cohort's time zone (IANA name); each cohort's own setting then decides how its
# assignment dates are entered and shown.
COHORT_TIME_ZONE = env.str("COHORT_TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded question images, stored through Django's storage API (the "default" storage).
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
# Let Django itself serve MEDIA_URL (development, or a small site without a web server in
# front); otherwise point the web server at MEDIA_ROOT (docs/deploy.md).
SERVE_MEDIA = env.bool("DJANGO_SERVE_MEDIA", default=DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Exam pace: a timed quiz allows this many seconds a question (times the resident's setting).
QUIZ_SECONDS_PER_QUESTION = env.int("QUIZ_SECONDS_PER_QUESTION", default=90)
# A published question is due for re-review this many months after its last review.
QUESTION_REVIEW_MONTHS = env.int("QUESTION_REVIEW_MONTHS", default=24)

# Question and choice images: the most pixels (width x height) an upload may decode to,
# read from its header (questions/authoring/images.py). 25 megapixels takes any camera's or
# scanner's picture (a 6000 x 4000 photo is 24), yet bounds what a phone decodes to about
# 100 MB; a few kilobytes of PNG can otherwise decode to hundreds of megapixels.
QUESTION_IMAGE_MAX_PIXELS = env.int("QUESTION_IMAGE_MAX_PIXELS", default=25_000_000)

# The question bank on disk that `manage.py load_bank` reads.
QUESTION_BANK_DIR = BASE_DIR / "fixtures"

# Background jobs (questions/jobs): django-tasks with its database backend, so jobs are
# rows written in the same transaction as the change that causes them (none on rollback)
# and `manage.py db_worker` runs them; `make run` starts one. No extra server is needed.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# --- Rate limits -----------------------------------------------------------------------------
# questions/people/limits.py. Counted in the "ratelimit" cache above: Redis when REDIS_URL is
# set (shared by every app host), else a database table. Never a per-process cache (locmem):
# each worker would count alone. With Redis away the cache fails open: every limit lets
# requests through rather than refusing everyone (logins and quizzes go on; only abuse is
# unlimited until Redis is back; /healthz/ says "degraded" meanwhile).
RATELIMIT_USE_CACHE = "ratelimit"
RATELIMIT_FAIL_OPEN = True
# RATE_LIMITS_ENABLED=false turns every limit off (a load test at machine speed, say).
RATELIMIT_ENABLE = env.bool("RATE_LIMITS_ENABLED", default=True)


def _rate(name: str, default: str) -> str:
    """A rate from the environment: "<count>/<period>", the period s, m, h or d with an
    optional number before it ("20/10m": 20 in ten minutes); empty turns the limit off."""
    value = env.str(name, default=default).strip()
    if not value:
        return value
    count, _, period = value.partition("/")
    multiple, unit = period[:-1], period[-1:]
    if not (
        value.isascii()  # ASCII digits only: django-ratelimit reads them with a regex
        and count.isdigit()
        and unit in ("s", "m", "h", "d")
        and (not multiple or (multiple.isdigit() and int(multiple) > 0))
    ):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a rate: write it as a count, '/', and a period of "
            "s, m, h or d with an optional number before it (e.g. '20/10m'), or leave it "
            "empty for no limit."
        )
    return value


# Each default, for a residency program whose whole cohort (about 150 residents) may sit
# behind one hospital NAT address and log in within minutes before an exam:
# Sign-ups sent from one client address (POSTs, valid or not): the whole cohort signing up
# in the same hour from the hospital, most getting a form error or two on the way.
RATE_LIMIT_SIGNUP_PER_ADDRESS = _rate("RATE_LIMIT_SIGNUP_PER_ADDRESS", "300/h")
# Failed logins from one client address (a login django-axes refuses unchecked is not
# counted; successful ones never are): every resident of a 150-strong cohort can mistype
# once in the same ten minutes; an attacker trying a new username each time (axes locks only
# a username and address pair) gets 200 password checks, ~100 s of CPU, per ten minutes.
RATE_LIMIT_LOGIN_PER_ADDRESS = _rate("RATE_LIMIT_LOGIN_PER_ADDRESS", "200/10m")
# Failed logins for one typed username from any address, in axes' 15-minute cool-off: a
# resident who forgot their password is locked by axes after 5 at one address long before
# this; guessing one account from many addresses is held to 20 tries, and locking someone
# out this way needs at least 5 addresses (axes stops each after its 5th failure).
RATE_LIMIT_LOGIN_PER_USERNAME = _rate("RATE_LIMIT_LOGIN_PER_USERNAME", "20/15m")
# Reset e-mails to one typed address, whoever asks: a mail that went to spam can be asked
# for again twice; nobody can flood an inbox (at most 3 an hour).
RATE_LIMIT_PASSWORD_RESET_PER_EMAIL = _rate("RATE_LIMIT_PASSWORD_RESET_PER_EMAIL", "3/h")
# Reset requests from one client address: a fifth of the cohort forgetting their password
# on the morning of an exam, at the hospital.
RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS = _rate("RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS", "30/h")
# Error reports from one account (each notifies the educators): more than a reviewer finds
# in an hour even in a bad batch of questions, and bounds the notifications one account sends.
RATE_LIMIT_ERROR_REPORT_PER_ACCOUNT = _rate("RATE_LIMIT_ERROR_REPORT_PER_ACCOUNT", "20/h")
# Quiz starts from one account: the builder, the exam simulation builder and an assignment's
# Begin (a block of a simulation is not counted: its questions were drawn with it; a start
# sent again with its token, which resumes, counts once). One every 30 s for ten minutes is
# faster than anyone reads and answers even a one-question quiz; a script stops at 20 and then
# starts 2 a minute at most (the account started 40 in 8 s).
RATE_LIMIT_QUIZ_START_PER_ACCOUNT = _rate("RATE_LIMIT_QUIZ_START_PER_ACCOUNT", "20/10m")
# Question imports from one account (each check of a file and each import count): an
# educator fixing a file's problems one by one checks it again a dozen times in an hour.
RATE_LIMIT_IMPORT_PER_ACCOUNT = _rate("RATE_LIMIT_IMPORT_PER_ACCOUNT", "30/h")
