"""CPU instructions the Django process spends on one search page, counted rather than timed.

Timings on a shared 2-core machine move with its neighbours by up to 2x within an hour; the
number of instructions the process executes for the same request does not. Each page is counted
under ``valgrind --tool=callgrind`` (which counts the process's own instructions only: the
database server's work is not in it) as the difference between a run of ``--many`` and a run of
``--few`` requests, divided by the difference, with garbage collection off (it adds noise of
about half a million instructions per request) and a fixed hash seed; what noise is left is about
0.2 M. The site's 404 page — the same header, footer and middleware around no content, no query —
is counted in the same run as the baseline.

    .venv/bin/python bench/search.py --load-only          # once: the million-track catalogue
    .venv/bin/python bench/page_instructions.py [--few 10] [--many 60] [URL ...]

Without URLs it counts the rare-word search of ``bench/search.py`` (a word in ~300 tracks) and its
in-place (htmx) update. Needs valgrind (Debian's package). Not part of the test suite.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

BASELINE = "/no-such-page/"
HTMX = "htmx:"  # a URL with this prefix is asked for as htmx asks (the results partial alone)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="postgres://root@127.0.0.1:5432/amt_bench")
    parser.add_argument("--few", type=int, default=10)
    parser.add_argument("--many", type=int, default=60)
    parser.add_argument("--inner", type=int, help=argparse.SUPPRESS)  # run N requests (under valgrind)
    parser.add_argument("urls", nargs="*")
    return parser.parse_args()


def inner(args):
    """N requests of one URL in this process (what valgrind counts), after three to warm up."""
    import gc
    import logging

    import search as bench

    bench.setup_django(args.database_url)
    logging.disable(logging.WARNING)  # the baseline's "Not Found" lines
    from django.test import Client

    url = args.urls[0]
    headers = {"HX-Request": "true"} if url.startswith(HTMX) else {}
    url = url.removeprefix(HTMX)
    client = Client()
    for _ in range(3):
        client.get(url, headers=headers)
    gc.disable()
    for _ in range(args.inner):
        client.get(url, headers=headers)


def count(args, url, requests):
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--database-url",
        args.database_url,
        "--inner",
        str(requests),
        url,
    ]
    # A fixed hash seed: string hashing and set order otherwise move the count by ~0.3 M a request.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    run = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return int(re.search(r"Collected : (\d+)", run.stderr).group(1))


def per_request(args, url):
    with ThreadPoolExecutor(2) as pool:  # the two runs side by side: the counts do not mind
        few, many = pool.map(lambda n: count(args, url, n), (args.few, args.many))
    return (many - few) / (args.many - args.few)


def main():
    args = parse_args()
    if args.inner:
        return inner(args)
    if not shutil.which("valgrind"):
        sys.exit("needs valgrind: apt-get install -y valgrind")
    urls = args.urls
    if not urls:
        import search as bench

        bench.setup_django(args.database_url)
        from django.db import connection

        with connection.cursor() as cur:
            _common, (rare, ndoc), _n = bench.pick_words(cur)
        print(f"rare word “{rare}” ({ndoc} tracks)")
        urls = [f"/tracks/?q={rare}", f"{HTMX}/tracks/?q={rare}"]
    base = per_request(args, BASELINE)
    print("\n| page | instructions per request | vs the 404 page |\n|---|---:|---:|")
    print(f"| {BASELINE} (baseline: header, footer, middleware; no query) | {base / 1e6:.2f} M | 1.0 |")
    for url in urls:
        n = per_request(args, url)
        label = f"{url.removeprefix(HTMX)} (in place, htmx)" if url.startswith(HTMX) else url
        print(f"| {label} | {n / 1e6:.2f} M | {n / base:.1f} |")
    return None


if __name__ == "__main__":
    main()
