"""AllMyTracks settings: one file, driven by the environment.

With no environment at all the site runs for development (SQLite, local files, eager
tasks, mail written to files). Production sets the variables listed in README.md.
"""

import os
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))
# Development data (SQLite, media, mail, secret key) lives here; tests and smoke runs move it.
VAR_DIR = Path(env("AMT_VAR_DIR", default=str(BASE_DIR / "var")))

# ---------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------
# DJANGO_ENV is "development", "test" or "production". Setting DATABASE_URL without it
# means production: DEBUG off, a real secret key required, HTTPS-only cookies and HSTS.
DJANGO_ENV = env("DJANGO_ENV", default="production" if "DATABASE_URL" in env else "development")
if DJANGO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be development, test or production, not {DJANGO_ENV!r}.")
PRODUCTION = DJANGO_ENV == "production"
DEBUG = env.bool("DJANGO_DEBUG", default=DJANGO_ENV == "development")

SECRET_KEY = env("DJANGO_SECRET_KEY", default=None)
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Production (DJANGO_ENV=production, the default "
            "when DATABASE_URL is set) needs a long random secret key."
        )
    # Development: a random key made once per checkout and kept out of git under var/.
    VAR_DIR.mkdir(exist_ok=True)
    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        import secrets

        _key_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = _key_file.read_text().strip()
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"]
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SITE_ID = 1

ROOT_URLCONF = "allmytracks.urls"
WSGI_APPLICATION = "allmytracks.wsgi.application"
ASGI_APPLICATION = "allmytracks.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# ``urlize`` (emails, inbox messages) links a bare "allmytracks.example/…" as https://, Django 2028's
# default: the site is served over HTTPS only.
URLIZE_ASSUME_HTTPS = True

# ---------------------------------------------------------------------------
# Applications and middleware
# ---------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "accounts.apps.SetUpAuthConfig",  # Django's auth, allauth's apps and sites: named as in the staff menu
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "accounts.apps.SetUpSitesConfig",
    "django.contrib.redirects",  # old addresses of merged artists lead to the artist kept
    "django.contrib.sitemaps",  # /sitemap.xml, named in robots.txt
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "allauth",
    "accounts.apps.SignInAccountConfig",
    "accounts.apps.SignInSocialAccountConfig",
    "accounts.apps.SignInMFAConfig",
    "accounts.apps.SignInUserSessionsConfig",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.apple",
    "allmytracks",
    "accounts",
    "legal",
    "catalog",
    "billing",
    "licensing",
]

MIDDLEWARE = [
    # Outermost, so it compresses the final page (see its docstring for what it leaves alone).
    "allmytracks.middleware.CompressPagesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.SessionActivityMiddleware",
    "accounts.middleware.AccountStatusMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # After AccountMiddleware: material agreement changes must be accepted before going on.
    "legal.middleware.AgreementGateMiddleware",
    # A page not found is looked up among the redirects staff (or a merge) left; a query on 404s only.
    "django.contrib.redirects.middleware.RedirectFallbackMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "allmytracks.context_processors.site",
                "legal.context_processors.notices",
            ],
        },
    },
]

# ---------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------
SQLITE_OPTIONS = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})
else:
    # Concurrent dev requests wait for each other instead of failing with "database is locked":
    # a transaction takes the write lock when it begins (a read that upgrades to a write midway
    # cannot wait, it fails at once), and the wait is up to 20 seconds.
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if not IS_POSTGRES:
    VAR_DIR.mkdir(exist_ok=True)
    if DJANGO_ENV == "test":
        # A file, not memory: browser tests' live server then gives each request thread its
        # own connection instead of sharing the test's one (SQLite refuses concurrent use).
        import tempfile

        DATABASES["default"]["TEST"] = {
            "NAME": str(Path(tempfile.gettempdir()) / f"amt-test-{os.getpid()}.sqlite3")
        }

# ---------------------------------------------------------------------------
# Cache and Celery (Redis when REDIS_URL is set; in-process otherwise, dev only)
# ---------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="amt"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Template fragments that are the same for every visitor (the page head's assets, the site
# navigation, the footer): rendered once per process and kept for five minutes. Never anything
# that depends on the user or the request. With DEBUG on, not kept: template edits show at once.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends." + ("dummy.DummyCache" if DEBUG else "locmem.LocMemCache"),
    "LOCATION": "fragments",
    "TIMEOUT": 300,
}

# Without Redis: an in-process broker (named with a host, or kombu warns on every connection).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://localhost/")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "catalog.tasks.send_follow_digests": {"queue": "email"},  # named ones first
    "catalog.tasks.*": {"queue": "ingest"},
    "licensing.tasks.*": {"queue": "letters"},
    "*.tasks.send_*": {"queue": "email"},
}
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Above the longest task's hard limit, so a running acks_late task is not redelivered.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict = {}

# ---------------------------------------------------------------------------
# Storage: public (artwork, previews) and private (masters, licence PDFs, letters)
# ---------------------------------------------------------------------------
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/media/"
PRIVATE_ROOT = env.path("PRIVATE_ROOT", default=str(VAR_DIR / "private"))
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Outside production whitenoise serves straight from the source folders (no collectstatic).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
if not PRODUCTION:
    STATIC_ROOT.mkdir(exist_ok=True)
PRIVATE_URL_MAX_AGE = env.int("PRIVATE_URL_MAX_AGE", default=300)

AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
AWS_PRIVATE_BUCKET_NAME = env("AWS_PRIVATE_BUCKET_NAME", default=AWS_STORAGE_BUCKET_NAME)
AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default=None)
AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default="us-east-1")
AWS_ACCESS_KEY_ID = env("AWS_ACCESS_KEY_ID", default=None)
AWS_SECRET_ACCESS_KEY = env("AWS_SECRET_ACCESS_KEY", default=None)
AWS_S3_CUSTOM_DOMAIN = env("AWS_S3_CUSTOM_DOMAIN", default=None)
USE_S3 = bool(AWS_STORAGE_BUCKET_NAME)

_static_backend = (
    "whitenoise.storage.CompressedManifestStaticFilesStorage"
    if PRODUCTION
    else "django.contrib.staticfiles.storage.StaticFilesStorage"
)
if USE_S3:
    _s3_common = {
        "endpoint_url": AWS_S3_ENDPOINT_URL,
        "region_name": AWS_S3_REGION_NAME,
        "access_key": AWS_ACCESS_KEY_ID,
        "secret_key": AWS_SECRET_ACCESS_KEY,
        "file_overwrite": False,
        "signature_version": "s3v4",
        "addressing_style": "path" if AWS_S3_ENDPOINT_URL else None,
    }
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                **_s3_common,
                "bucket_name": AWS_STORAGE_BUCKET_NAME,
                "location": "public",
                "querystring_auth": False,
                "custom_domain": AWS_S3_CUSTOM_DOMAIN,
                "object_parameters": {"CacheControl": "public, max-age=31536000"},
            },
        },
        "private": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                **_s3_common,
                "bucket_name": AWS_PRIVATE_BUCKET_NAME,
                "location": "private",
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": PRIVATE_URL_MAX_AGE,
            },
        },
        "staticfiles": {"BACKEND": _static_backend},
    }
else:
    STORAGES = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": MEDIA_ROOT, "base_url": MEDIA_URL},
        },
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            # base_url is unused: private files are only served through signed URLs.
            "OPTIONS": {"location": PRIVATE_ROOT, "base_url": None},
        },
        "staticfiles": {"BACKEND": _static_backend},
    }

# Request limits: forms are small; uploads go through FILE_UPLOAD_* to temporary files.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 500
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
MAX_UPLOAD_SIZE = env.int("MAX_UPLOAD_SIZE", default=10 * 1024 * 1024)

# ---------------------------------------------------------------------------
# Email (Django 6.1 MAILERS)
# ---------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="AllMyTracks <no-reply@allmytracks.example>")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# Staff inbox(es) told when something starts waiting for a person (allmytracks.staff_alerts):
# applications, cancellation requests, compromise reports, billing tasks. Empty: no such emails.
STAFF_ALERT_EMAILS = env.list("STAFF_ALERT_EMAILS", default=[])
SMTP_URL = env("SMTP_URL", default="")
if SMTP_URL:
    _smtp = env.email_url("SMTP_URL")
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _smtp["EMAIL_HOST"],
                "port": _smtp["EMAIL_PORT"],
                "username": _smtp.get("EMAIL_HOST_USER") or None,
                "password": _smtp.get("EMAIL_HOST_PASSWORD") or None,
                "use_tls": _smtp.get("EMAIL_USE_TLS", False),
                "use_ssl": _smtp.get("EMAIL_USE_SSL", False),
                "timeout": 20,
            },
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": "allmytracks.mail.FileAndConsoleBackend",
            "OPTIONS": {"file_path": str(VAR_DIR / "mail")},
        }
    }

# ---------------------------------------------------------------------------
# Authentication (django-allauth)
# ---------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_CHANGE_EMAIL = False
ACCOUNT_MAX_EMAIL_ADDRESSES = 1
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[AllMyTracks] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
# Set so a person never meets them and a script always does. Over a limit the answer is
# the 429 page with Retry-After (accounts.adapter turns too many failed sign-ins into one).
# The client's address (rate limits, audit rows, acceptances) — ours and allauth's, one rule
# (``allmytracks.audit.client_ip``). In production the site sits behind a TLS-terminating proxy
# (SECURE_PROXY_SSL_HEADER): the address is the one that proxy appended to X-Forwarded-For, or a
# header it sets; otherwise every visitor would share the proxy's address and its limits.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=1 if PRODUCTION else 0)
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = env("DJANGO_TRUSTED_CLIENT_IP_HEADER", default=None)
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",  # any sign-in attempt from one address
    "login_failed": "10/m/ip,5/5m/key",  # wrong passwords: per address, and per account email
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",  # resending the confirmation email
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "reauthenticate": "10/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "AllMyTracks"
# "Trust this browser" for 14 days; a compromise report revokes every trusted browser.
MFA_TRUST_ENABLED = True

# --- accounts app: adapter, forms, third-party login, sessions ---------------------------
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupExtraForm"
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
ACCOUNT_SESSION_REMEMBER = None
SOCIALACCOUNT_ADAPTER = "accounts.adapter.SocialAccountAdapter"
# A third-party sign-up always stops at our form: agreement tick and date of birth first.
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_LOGIN_ON_GET = False
# Google and Apple appear on the sign-in page only when their credentials are set.
SOCIALACCOUNT_PROVIDERS: dict = {}
if env("GOOGLE_CLIENT_ID", default=""):
    SOCIALACCOUNT_PROVIDERS["google"] = {
        "APPS": [{"client_id": env("GOOGLE_CLIENT_ID"), "secret": env("GOOGLE_CLIENT_SECRET", default="")}],
        "SCOPE": ["openid", "email", "profile"],
        "AUTH_PARAMS": {"prompt": "select_account"},
    }
if env("APPLE_CLIENT_ID", default=""):
    SOCIALACCOUNT_PROVIDERS["apple"] = {
        "APPS": [
            {
                "client_id": env("APPLE_CLIENT_ID"),
                "secret": env("APPLE_KEY_ID", default=""),
                "key": env("APPLE_TEAM_ID", default=""),
                "settings": {"certificate_key": env("APPLE_PRIVATE_KEY", default="").replace("\\n", "\n")},
            }
        ]
    }
# allauth's per-request tracking writes on every request; accounts.middleware records the
# same activity at most every ACCOUNTS_SESSION_ACTIVITY_INTERVAL seconds instead.
USERSESSIONS_TRACK_ACTIVITY = False
ACCOUNTS_SESSION_ACTIVITY_INTERVAL = 300
# Staff users must have two-factor authentication before they reach /admin/.
ACCOUNTS_STAFF_REQUIRE_MFA = env.bool("ACCOUNTS_STAFF_REQUIRE_MFA", default=True)
# Guardian confirmation links for members under 18 stay valid this long.
ACCOUNTS_GUARDIAN_LINK_MAX_AGE = 7 * 24 * 3600
ACCOUNTS_RECOVERY_LINK_MAX_AGE = 24 * 3600
# Another compromise report for an account already locked sends its owner the recovery link again at
# most this often (the account stays locked; the report is kept for staff either way).
ACCOUNTS_RECOVERY_RESEND_SECONDS = env.int("ACCOUNTS_RECOVERY_RESEND_SECONDS", default=15 * 60)
# For this long after its owner recovers an account by email proof, a report from anyone but the
# signed-in owner does not lock it again (staff review it): a stranger who knows the address cannot
# keep its owner locked out by reporting after every recovery.
ACCOUNTS_RELOCK_GRACE_SECONDS = env.int("ACCOUNTS_RELOCK_GRACE_SECONDS", default=24 * 3600)

# ---------------------------------------------------------------------------
# Security
# ---------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "allmytracks.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"] + ([f"https://{AWS_S3_CUSTOM_DOMAIN}"] if AWS_S3_CUSTOM_DOMAIN else []),
    "media-src": [CSP.SELF] + ([AWS_S3_ENDPOINT_URL] if AWS_S3_ENDPOINT_URL else []),
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF, "https://checkout.stripe.com", "https://billing.stripe.com"],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# ---------------------------------------------------------------------------
# The operator (shown in the footer, the legal pages and every email)
# ---------------------------------------------------------------------------
# The operator's details on every page's footer, in letters and in emails. The defaults are
# samples for development; `check --deploy` refuses them (``allmytracks.checks``).
OPERATOR_SAMPLES = {
    "registration": "Company no. 0000000 (sample)",
    "address": "1 Sample Street, Example City",
    "support_email": "support@allmytracks.example",
}
OPERATOR = {
    "name": env("OPERATOR_NAME", default="AllMyTracks Technology Ltd."),
    "registration": env("OPERATOR_REGISTRATION", default=OPERATOR_SAMPLES["registration"]),
    "address": env("OPERATOR_ADDRESS", default=OPERATOR_SAMPLES["address"]),
    "support_email": env("SUPPORT_EMAIL", default=OPERATOR_SAMPLES["support_email"]),
    "governing_law": env(
        "OPERATOR_GOVERNING_LAW",
        default="These terms are governed by the law of the operator's place of registration.",
    ),
}

# --- legal app: notice fan-out ------------------------------------------------------------
# Each Celery run of a notice handles at most this many recipients, then queues the next run.
LEGAL_NOTICE_BATCH_SIZE = env.int("LEGAL_NOTICE_BATCH_SIZE", default=200)
CELERY_BEAT_SCHEDULE["legal-resume-stalled-notices"] = {
    "task": "legal.tasks.resume_stalled_notices",
    "schedule": 5 * 60,
}

# ---------------------------------------------------------------------------
# Payments (Stripe). Without keys the site runs and paid actions say so.
# ---------------------------------------------------------------------------
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")

# --- billing app: prices, checkout switches, reconciliation ------------------------------
# Stripe Price ids per plan slug for `manage.py seed_plans`,
# e.g. "personal-monthly=price_123,pro-monthly=price_456" (staff can also paste them in admin).
BILLING_STRIPE_PRICE_IDS = env.dict("BILLING_STRIPE_PRICE_IDS", default={})
BILLING_CURRENCY = env("BILLING_CURRENCY", default="usd")
BILLING_SINGLE_TRACK_PRICE_CENTS = env.int("BILLING_SINGLE_TRACK_PRICE_CENTS", default=1900)
BILLING_SINGLE_SFX_PRICE_CENTS = env.int("BILLING_SINGLE_SFX_PRICE_CENTS", default=400)
BILLING_STRIPE_TAX = env.bool("BILLING_STRIPE_TAX", default=False)
BILLING_PROMOTION_CODES = env.bool("BILLING_PROMOTION_CODES", default=False)
# Reconciliation re-fetches live subscriptions and those changed in this many days.
BILLING_RECONCILE_DAYS = env.int("BILLING_RECONCILE_DAYS", default=3)
CELERY_BEAT_SCHEDULE["billing-reconcile-subscriptions"] = {
    "task": "billing.tasks.reconcile_subscriptions",
    "schedule": 60 * 60,
}
# Nightly 03:40 (TIME_ZONE): popularity and trending worked out from plays, favourites and licences.
CELERY_BEAT_SCHEDULE["catalog-refresh-popularity"] = {
    "task": "catalog.tasks.refresh_popularity",
    "schedule": crontab(minute=40, hour=3),
}
# Sunday 04:30 (TIME_ZONE): the search dictionary and the search table's popularity order.
CELERY_BEAT_SCHEDULE["catalog-tidy-search"] = {
    "task": "catalog.tasks.tidy_search",
    "schedule": crontab(minute=30, hour=4, day_of_week="sun"),
}
# Monday 08:00 (TIME_ZONE): the week's new tracks from followed artists, to members who allow
# promotional email (catalog.services.send_follow_digests). The hourly runs after it until 20:00
# go on from the members a stopped run did not reach (nothing for the others).
CATALOG_FOLLOW_DIGEST_HOUR = 8
CELERY_BEAT_SCHEDULE["catalog-follow-digests"] = {
    "task": "catalog.tasks.send_follow_digests",
    "schedule": crontab(minute=0, hour=f"{CATALOG_FOLLOW_DIGEST_HOUR}-20", day_of_week="mon"),
}

# ---------------------------------------------------------------------------
# Catalogue: previews and ingest
# ---------------------------------------------------------------------------
# Signed preview links live at least this long (rounded up to the next hour).
CATALOG_PREVIEW_URL_MAX_AGE = env.int("CATALOG_PREVIEW_URL_MAX_AGE", default=2 * 3600)
CATALOG_PREVIEW_RATE = env("CATALOG_PREVIEW_RATE", default="120/m")
CATALOG_PREVIEW_RATE_HOURLY = env("CATALOG_PREVIEW_RATE_HOURLY", default="1500/h")
CATALOG_PREVIEW_BITRATE = "128k"
# An audible watermark tone mixed into previews every N seconds (0 = none).
CATALOG_PREVIEW_WATERMARK_EVERY = env.int("CATALOG_PREVIEW_WATERMARK_EVERY", default=0)
CATALOG_WAVEFORM_POINTS = 1000
CATALOG_MAX_MASTER_SIZE = env.int("CATALOG_MAX_MASTER_SIZE", default=1024 * 1024 * 1024)
# Artwork larger than this many pixels is refused as a decompression bomb.
CATALOG_MAX_IMAGE_PIXELS = 40_000_000
# A job still processing this long after it started has lost its worker (the longest masters take a
# few minutes): it is queued again, and marked failed after this many starts.
CATALOG_INGEST_STALL_MINUTES = env.int("CATALOG_INGEST_STALL_MINUTES", default=30)
CATALOG_INGEST_MAX_ATTEMPTS = 3
CELERY_BEAT_SCHEDULE["catalog-resume-stalled-ingest"] = {
    "task": "catalog.tasks.resume_stalled_ingest",
    "schedule": 10 * 60,
}

# ---------------------------------------------------------------------------
# Licensing: download and verification limits (Section II.IV.7), per account and per IP
# ---------------------------------------------------------------------------
LICENSING_DOWNLOAD_RATE = env("LICENSING_DOWNLOAD_RATE", default="20/m")
LICENSING_DOWNLOAD_RATE_DAILY = env("LICENSING_DOWNLOAD_RATE_DAILY", default="300/d")
LICENSING_VERIFY_RATE = env("LICENSING_VERIFY_RATE", default="30/m")

# ---------------------------------------------------------------------------
# Logging: one JSON object per line in production, readable lines in development
# ---------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "allmytracks.logging.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json" if PRODUCTION else "plain"},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.security": {"level": "INFO"},
    },
}

SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:  # pragma: no cover - only when the optional sentry-sdk is installed
    try:
        import sentry_sdk
    except ImportError as exc:
        raise ImproperlyConfigured("SENTRY_DSN is set but sentry-sdk is not installed.") from exc
    sentry_sdk.init(dsn=SENTRY_DSN, send_default_pii=False, traces_sample_rate=0.0)
# The same search asked again within this many seconds reuses its page, counts and rows
# (PostgreSQL; any committed catalogue change starts afresh). 0 turns it off — the test default,
# where changes are never committed; the tests of remembering turn it on.
CATALOG_SEARCH_CACHE_SECONDS = env.int(
    "CATALOG_SEARCH_CACHE_SECONDS", default=0 if DJANGO_ENV == "test" else 60
)
