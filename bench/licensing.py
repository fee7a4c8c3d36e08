"""Licensing benchmark (not part of the test suite).

    .venv/bin/python bench/licensing.py [--database-url postgres://root@127.0.0.1:5432/amt_bench_licensing]

Measures on PostgreSQL:
1. p50/p95 of ``grant_license`` + the signed download URL (target p95 <= 20 ms);
2. 100 concurrent grants from separate threads against an account with 10 units left
   (must issue exactly 10 licences; every other attempt fails with "quota used");
3. the licence-letter PDF render against a bare reportlab render of the same page
   (target <= 2x).

The database is created if missing; every run uses fresh accounts, so runs can repeat.
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def ensure_database(url):
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[-1].split("?", 1)[0]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def setup_django(url, private_root):
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_ENV"] = "test"
    os.environ["PRIVATE_ROOT"] = private_root
    os.environ["MEDIA_ROOT"] = private_root + "-media"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "allmytracks.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    import logging

    logging.getLogger("celery").setLevel(logging.WARNING)
    call_command("migrate", run_syncdb=True, verbosity=0)


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def fixtures():
    """Agreements in force, a track with a file, and a fresh member with a membership of ``quota``."""
    import datetime

    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    from legal import services as legal
    from tests.factories import (
        PlanFactory,
        SubscriptionFactory,
        TrackFactory,
        TrackVersionFactory,
        publish_agreement,
    )

    for kind in ("user-agreement", "privacy-policy", "music-licence"):
        if legal.current_version(kind) is None:
            publish_agreement(kind)
    track = TrackFactory(
        title="Bench Track",
        slug=f"bench-{uuid.uuid4().hex[:8]}",
        artist__name="Bench Artist",
        artist__slug=f"bench-artist-{uuid.uuid4().hex[:8]}",
    )
    version = TrackVersionFactory(track=track, content_hash=uuid.uuid4().hex * 2)

    def member(quota):
        User = get_user_model()
        user = User.objects.create_user(
            f"bench-{uuid.uuid4().hex[:10]}@example.com", "x", display_name="Bench Member"
        )
        user.date_of_birth = datetime.date(1990, 1, 1)
        user.save()
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        for kind in ("user-agreement", "privacy-policy", "music-licence"):
            legal.record_acceptance(user=user, version=legal.current_version(kind), method="signup")
        plan = PlanFactory(slug=f"bench-{uuid.uuid4().hex[:8]}", licences_per_period=quota)
        SubscriptionFactory(user=user, plan=plan, stripe_subscription_id=f"sub_bench_{uuid.uuid4().hex}")
        return user

    return track, version, member


def bench_round_trip(n=200):
    """The floor under every query: one ``SELECT 1`` round trip through Django."""
    from django.db import connection

    times = []
    with connection.cursor() as cursor:
        for _ in range(n):
            t0 = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            times.append((time.perf_counter() - t0) * 1000)
    return times


def count_grant_queries(track, version, member):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from licensing import services
    from licensing.models import EndUser

    user = member(5)
    services.grant_license(
        user=user, track=track, version=version, submission=uuid.uuid4(),
        new_end_user={"name": "Bench Member"}, new_project={"title": "first", "platform": "youtube"},
    )  # fmt: skip
    end_user = EndUser.objects.get(account=user)
    with CaptureQueriesContext(connection) as ctx:
        services.grant_license(
            user=user, track=track, version=version, submission=uuid.uuid4(), end_user=end_user,
            new_project={"title": "second", "platform": "youtube"},
        )  # fmt: skip
    return len(ctx.captured_queries)


def bench_grant(track, version, member, n):
    from licensing import services
    from licensing.models import EndUser

    user = member(n + 10)
    services.grant_license(
        user=user, track=track, version=version, submission=uuid.uuid4(),
        new_end_user={"name": "Bench Member"}, new_project={"title": "warm-up", "platform": "youtube"},
    )  # fmt: skip
    end_user = EndUser.objects.get(account=user)
    times, cpu = [], []
    for i in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        grant = services.grant_license(
            user=user, track=track, version=version, submission=uuid.uuid4(), end_user=end_user,
            new_project={"title": f"Video {i}", "platform": "youtube"},
        )  # fmt: skip
        assert grant.created and grant.url
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return times, cpu


def bench_concurrency(track, version, member, attempts, max_connections):
    from django.db import connection

    from licensing import services
    from licensing.models import EndUser, License
    from licensing.services import LicensingError

    user = member(10)
    end_user = EndUser.objects.create(account=user, kind="sole", name="Bench Member")
    start = threading.Event()
    slots = threading.BoundedSemaphore(max_connections)
    ok, quota, other, lock = [], [], [], threading.Lock()

    def work(i):
        start.wait()
        with slots:
            try:
                grant = services.grant_license(
                    user=user, track=track, version=version, submission=uuid.uuid4(), end_user=end_user,
                    new_project={"title": f"Concurrent {i}", "platform": "tiktok"},
                )  # fmt: skip
                with lock:
                    ok.append(grant.license.code)
            except LicensingError as exc:
                with lock:
                    (quota if "licences of this period" in str(exc) else other).append(str(exc))
            except Exception as exc:
                with lock:
                    other.append(repr(exc))
            finally:
                connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(attempts)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    start.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    stored = License.objects.filter(account=user).count()
    return ok, quota, other, stored, elapsed


def bare_render(lines, matrix):
    """The same page drawn the plain way: strings at fixed places, one rect per dark QR module."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    from licensing.pdf import FONT, FONT_BOLD

    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    y = A4[1] - 22 * mm
    for i, (bold, size, text) in enumerate(lines):
        c.setFont(FONT_BOLD if bold else FONT, size)
        c.drawString(20 * mm, y - i * 14, text)
    size = 32 * mm
    cell = size / len(matrix)
    for r, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                c.rect(150 * mm + x * cell, 22 * mm + size - (r + 1) * cell, cell, cell, stroke=0, fill=1)
    c.showPage()
    c.save()
    return buffer.getvalue()


def bench_pdf(track, version, member, n):
    import qrcode

    from licensing import pdf, services
    from licensing.models import Letter

    user = member(5)
    lic = services.grant_license(
        user=user, track=track, version=version, submission=uuid.uuid4(),
        new_end_user={"name": "Bench Member"}, new_project={"title": "Letter bench", "platform": "podcast"},
    ).license  # fmt: skip
    letter = Letter.objects.create(account=user, key=services.letter_key([lic]), project=lic.project)
    letter.licenses.set([lic])
    letter = Letter.objects.select_related("account", "project").get(pk=letter.pk)
    licenses = list(letter.licenses.select_related("track__artist", "end_user", "project", "version"))

    data = pdf.letter_data(letter, licenses)
    lines = [(True, 18, "AllMyTracks"), (True, 20, "Music licence letter")]
    lines += [(False, 10, s) for s in data.operator + data.licensee + [data.end_user] + data.project]
    lines += [(False, 10.5, f"{k}: {v}") for k, v in data.rows]
    lines += [(False, 9.5, s) for s in pdf.SCOPE] + [(False, 9, data.verify_url)]
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    qr.add_data(data.verify_url)
    qr.make(fit=True)
    matrix = qr.get_matrix()

    pdf.register_fonts()
    pdf.render_letter(letter, licenses)  # warm: fonts, QR cache
    bare_render(lines, matrix)
    ours, bare = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        pdf.render_letter(letter, licenses)
        ours.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        bare_render(lines, matrix)
        bare.append((time.perf_counter() - t0) * 1000)
    return ours, bare


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="postgres://root@127.0.0.1:5432/amt_bench_licensing")
    parser.add_argument("--grants", type=int, default=300)
    parser.add_argument("--concurrent", type=int, default=100)
    parser.add_argument(
        "--max-connections", type=int, default=40,
        help="Threads holding a database connection at once (PostgreSQL's max_connections is shared).",
    )  # fmt: skip
    parser.add_argument("--pdf-runs", type=int, default=100)
    args = parser.parse_args()

    ensure_database(args.database_url)
    private_root = tempfile.mkdtemp(prefix="amt-bench-licensing-")
    setup_django(args.database_url, private_root)
    track, version, member = fixtures()

    rtt = bench_round_trip()
    print(f"PostgreSQL round trip (SELECT 1): p50 {percentile(rtt, 50):.2f} ms, "
          f"p95 {percentile(rtt, 95):.2f} ms; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"queries per grant (legal gate cached per request): {count_grant_queries(track, version, member)}")
    times, cpu = bench_grant(track, version, member, args.grants)
    p50, p95 = percentile(times, 50), percentile(times, 95)
    print(f"grant_license + signed URL, {len(times)} grants: p50 {p50:.2f} ms, p95 {p95:.2f} ms "
          f"(target p95 <= 20 ms: {'OK' if p95 <= 20 else 'MISSED'}); "
          f"CPU in this process p50 {percentile(cpu, 50):.2f} ms, "
          f"p95 {percentile(cpu, 95):.2f} ms")  # fmt: skip

    ok, quota, other, stored, elapsed = bench_concurrency(
        track, version, member, args.concurrent, args.max_connections
    )
    exact = len(ok) == stored == 10 and not other and len(quota) == args.concurrent - 10
    print(f"{args.concurrent} concurrent grants (threads, {args.max_connections} connections at once) "
          f"against 10 units: {len(ok)} issued, {stored} stored, {len(quota)} 'quota used', "
          f"{len(other)} other errors, {elapsed:.2f} s ({'OK' if exact else 'WRONG'})")  # fmt: skip
    for message in other[:5]:
        print("  other error:", message)

    ours, bare = bench_pdf(track, version, member, args.pdf_runs)
    o50, b50 = statistics.median(ours), statistics.median(bare)
    ratio = o50 / b50
    print(f"letter PDF, {len(ours)} renders: ours p50 {o50:.2f} ms (p95 {percentile(ours, 95):.2f}), "
          f"bare reportlab p50 {b50:.2f} ms (p95 {percentile(bare, 95):.2f}); ratio {ratio:.2f}x "
          f"(target <= 2x: {'OK' if ratio <= 2 else 'MISSED'})")  # fmt: skip
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
