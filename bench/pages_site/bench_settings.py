"""Settings for ``bench/pages.py``'s gunicorn: the site's own, plus the bare comparison view."""

from allmytracks.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
ALLOWED_HOSTS = ["127.0.0.1"]
CATALOG_SEARCH_RATE = "100000000/m"  # the load generator is one IP asking very fast
