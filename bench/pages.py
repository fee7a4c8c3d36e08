"""Catalogue pages under gunicorn: throughput against a bare Django view, and page weight (DESIGN §3).

Targets: a catalogue page serves ≥ 50 % of the requests per second of a bare Django view that
renders the same 24 rows from one query, on the same machine in the same run; a search page's
HTML + CSS + JS is ≤ 150 KB.

Both views run in one gunicorn (3 sync workers, persistent database connections, the production
WSGI entry point) against the million-track database of ``bench/search.py``; the bare view is
added by ``bench/pages_site/bench_urls.py``. Requests ask for gzip like a browser does. A pool of client
threads keeps every worker busy; each URL gets a warm-up and then a fixed time, and the figure is
completed 200 responses per second. The weight is each page's HTML as sent, plus every stylesheet
and script it links, raw and gzipped (whitenoise serves static files pre-compressed).

    .venv/bin/python bench/search.py --rows 1000000      # once: the catalogue
    .venv/bin/python bench/pages.py [--seconds 15] [--clients 6] [--workers 3]

Not part of the test suite; results go in bench/README.md.
"""

import argparse
import gzip
import http.client
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = 8765


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgres://root@127.0.0.1:5432/amt_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--workers", type=int, default=3)
    return parser.parse_args()


def start_gunicorn(args, *, remember):
    env = {
        **os.environ,
        "DJANGO_ENV": "test",
        "DATABASE_URL": args.database_url,
        "DATABASE_CONN_MAX_AGE": "600",
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        # The cache shared by the workers, as in production; a fresh key prefix per run.
        "REDIS_URL": args.redis_url,
        "CACHE_KEY_PREFIX": f"bench-pages-{time.time_ns()}",
        "CATALOG_SEARCH_CACHE_SECONDS": "60" if remember else "0",
    }
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "allmytracks.wsgi:application",
            "--chdir",
            str(ROOT),
            "--pythonpath",
            str(ROOT / "bench" / "pages_site"),
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status, _ = get("/healthz")
            if status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not answer on /healthz within 30 s")


def get(path, encoding="gzip"):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": encoding} if encoding else {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def weight(path):
    """(raw bytes, bytes sent gzipped) of the page's HTML and of every stylesheet and script it links."""
    status, html = get(path, encoding="")
    _, sent = get(path)
    assets = re.findall(rb'<link rel="stylesheet" href="([^"]+)"|<script[^>]* src="([^"]+)"', html)
    rows = [("HTML", len(html), len(sent))]
    for css, js in assets:
        url = (css or js).decode()
        _, body = get(url, encoding="")
        rows.append((url, len(body), len(gzip.compress(body, 9))))
    return rows


def rate(path, seconds, clients):
    """Completed 200 responses per second over ``seconds`` with ``clients`` threads."""
    done, errors = [0] * clients, [0] * clients
    stop = time.monotonic() + seconds

    def worker(i):
        while time.monotonic() < stop:
            status, _ = get(path)
            if status == 200:
                done[i] += 1
            else:
                errors[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    return sum(done) / elapsed, sum(errors)


def run_site(args, pages, *, remember):
    """Requests per second and errors for each page, and the weights, from one gunicorn."""
    proc = start_gunicorn(args, remember=remember)
    try:
        for path in pages.values():
            status, _body = get(path)
            if status != 200:
                raise SystemExit(f"{path} answered {status}")
            rate(path, 2, args.clients)  # warm-up: every worker, its connection and caches
        results = {name: rate(path, args.seconds, args.clients) for name, path in pages.items()}
        weights = {path: weight(path) for path in list(pages.values())[1:]} if remember else {}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    return results, weights


def main():
    args = parse_args()
    common = os.environ.get("BENCH_WORD", "morning")
    pages = {
        "bare Django view, 24 rows, one query": "/bench/bare/",
        "/tracks/ (most popular, 24 rows, facets)": "/tracks/",
        f"/tracks/?q={common} (text search)": f"/tracks/?q={common}",
        "/tracks/?genre=…&vocals=none (filters)": "/tracks/?genre=ambient&vocals=none",
    }
    warm, weights = run_site(args, pages, remember=True)
    cold, _ = run_site(args, pages, remember=False)
    load = os.getloadavg()[0]
    print(
        f"gunicorn: {args.workers} sync workers, persistent connections, cache in Redis;"
        f" {args.clients} client threads; {args.seconds:.0f} s per page;"
        f" load average {load:.1f} on {os.cpu_count()} CPUs\n"
    )
    print("| page | requests/s, results remembered | vs bare view | requests/s, every search run | vs bare |")
    print("|---|---:|---:|---:|---:|")
    worst = {True: 1.0, False: 1.0}
    for name, path in pages.items():
        cells = []
        for remember, results in ((True, warm), (False, cold)):
            per_s, errors = results[name]
            ratio = per_s / results["bare Django view, 24 rows, one query"][0]
            if path != "/bench/bare/":
                worst[remember] = min(worst[remember], ratio)
            cells.append(f"{per_s:.0f}{f' ({errors} errors)' if errors else ''} | {ratio:.0%}")
        print(f"| {name} | {' | '.join(cells)} |")
    for remember, label in ((True, "results remembered"), (False, "every search run")):
        verdict = "met" if worst[remember] >= 0.5 else "NOT met"
        share = f"{worst[remember]:.0%}"
        print(f"worst catalogue page, {label}: {share} of the bare view (target ≥ 50 %): {verdict}")

    print("\n| page | HTML raw / sent | CSS raw / gzip | JS raw / gzip | total raw | total sent |")
    print("|---|---:|---:|---:|---:|---:|")
    heaviest = 0
    for path, rows in weights.items():
        html, css, js = rows[0], [r for r in rows if ".css" in r[0]], [r for r in rows if ".js" in r[0]]
        raw = sum(r[1] for r in rows)
        sent = sum(r[2] for r in rows)
        heaviest = max(heaviest, sent)
        print(
            f"| {path} | {html[1] / 1024:.0f} / {html[2] / 1024:.0f} KB"
            f" | {sum(r[1] for r in css) / 1024:.0f} / {sum(r[2] for r in css) / 1024:.0f} KB"
            f" | {sum(r[1] for r in js) / 1024:.0f} / {sum(r[2] for r in js) / 1024:.0f} KB"
            f" | {raw / 1024:.0f} KB | {sent / 1024:.0f} KB |"
        )
    verdict = "met" if heaviest <= 150 * 1024 else "NOT met"
    print(f"\nheaviest search page as sent: {heaviest / 1024:.0f} KB (target ≤ 150 KB): {verdict}")


if __name__ == "__main__":
    main()
