# ruff: noqa: S608
# SQL here is assembled from constants and catalogue object names read from the system catalogs;
# every value travels as a parameter.
"""Keeping the search index in shape (PostgreSQL): the word dictionary and the search table.

The triggers of migrations ``0002`` and ``0004`` keep both current as tracks change; this is the
periodic clean-up (``manage.py rebuild_search``, weekly from Celery beat as
``catalog.tasks.tidy_search``) and the refill after a bulk load that ran with the triggers off.
Searching itself is ``catalog.search``.
"""

import re
import time

from django.db import OperationalError, connection, transaction

from .models import Track
from .search import TAXONOMY_DIMENSIONS, forget_search_results


def _tag_tables():
    """(tag table, track link table, link column) of each tag dimension, from the models."""
    for model, field, _column in TAXONOMY_DIMENSIONS.values():
        through = Track._meta.get_field(field).remote_field.through
        link = next(f for f in through._meta.fields if f.related_model is model)
        yield model._meta.db_table, through._meta.db_table, link.column


def rebuild_search_words():
    """Recompute the word dictionary from the published catalogue (document counts, and no
    words of withdrawn tracks). The triggers add new words as tracks are saved; this is the
    periodic clean-up (``manage.py rebuild_search``)."""
    if connection.vendor != "postgresql":
        return 0
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS pg_temp.new_words")  # a second rebuild in one outer transaction
        cur.execute(
            r"""
            CREATE TEMP TABLE new_words ON COMMIT DROP AS
            SELECT w AS word, count(*)::int AS ndoc FROM (
                SELECT DISTINCT t.id, w
                  FROM catalog_track t JOIN catalog_artist a ON a.id = t.artist_id,
                       regexp_split_to_table(
                           lower(concat_ws(' ', t.title, a.name, t.album, left(t.description, 4000))),
                           '[^[:alnum:]]+') AS w
                 WHERE t.is_published AND length(w) BETWEEN 2 AND 40
            ) per_track GROUP BY w
            """
        )
        for table, m2m, fk in _tag_tables():
            cur.execute(
                f"""
                INSERT INTO new_words (word, ndoc)
                SELECT w, sum(n)::int FROM (
                    SELECT g.name, (SELECT count(*) FROM {m2m} x WHERE x.{fk} = g.id) AS n FROM {table} g
                ) tag, regexp_split_to_table(lower(tag.name), '[^[:alnum:]]+') AS w
                WHERE length(w) BETWEEN 2 AND 40 AND n > 0 GROUP BY w
                """
            )
        cur.execute(
            r"""
            INSERT INTO new_words (word, ndoc)
            SELECT w, 1
              FROM catalog_soundcategory c, regexp_split_to_table(lower(c.name), '[^[:alnum:]]+') AS w
            WHERE length(w) BETWEEN 2 AND 40
            """
        )
        cur.execute("DELETE FROM catalog_searchword")
        cur.execute(
            "INSERT INTO catalog_searchword (word, ndoc) SELECT word, sum(ndoc) FROM new_words GROUP BY word"
        )
        cur.execute("SELECT count(*) FROM catalog_searchword")
        words = cur.fetchone()[0]
    transaction.on_commit(forget_search_results, robust=True)
    return words


def rebuild_track_search():
    """Refill ``catalog_tracksearch`` from the tracks in popularity order (the order the
    candidate walk reads): after a bulk load that ran with the triggers off. It holds the table's
    lock throughout (about a minute per million tracks); to restore the order of a live table
    use ``reorder_track_search``. Returns the number of searchable tracks."""
    if connection.vendor != "postgresql":
        return 0
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("TRUNCATE catalog_tracksearch")
        cur.execute(
            """
            INSERT INTO catalog_tracksearch (id, popularity, published_at, kind, bpm, duration_seconds, key,
                vocals, energy, explicit, sound_category_id, genre_ids, mood_ids, instrument_ids, theme_ids,
                keys, search_vector, trending)
            SELECT t.id, t.popularity, t.published_at, t.kind, t.bpm, t.duration_seconds, t.key, t.vocals,
                   t.energy, t.explicit, t.sound_category_id, t.genre_ids::int[], t.mood_ids::int[],
                   t.instrument_ids::int[], t.theme_ids::int[],
                   catalog_tracksearch_keys(t.kind, t.vocals, t.key, t.energy, t.explicit,
                                            t.sound_category_id),
                   coalesce(t.search_vector, ''::tsvector), t.trending
              FROM catalog_track t
             WHERE t.is_published AND t.ingest_status = 'ready'
             ORDER BY t.popularity DESC, t.id DESC
            """
        )
        n = cur.rowcount
        cur.execute("ANALYZE catalog_tracksearch")
    transaction.on_commit(forget_search_results, robust=True)
    return n


_LIVE, _NEXT = "catalog_tracksearch", "catalog_tracksearch_next"
_INDEX_DEF = re.compile(r"^(CREATE (?:UNIQUE )?INDEX )\S+( ON )\S+( .*)$", re.S)
_STATISTICS_DEF = re.compile(r"^CREATE STATISTICS \S+ (.*) FROM \S+$", re.S)


_REORDER_LOCK = 7_401_553  # pg advisory lock key: one rewrite at a time
SWAP_LOCK_TIMEOUT = "300ms"  # how long the swap waits for a table lock before trying again
SWAP_ATTEMPTS = 40


class SearchTableBusy(Exception):
    """Another rewrite is running, or the table stayed too busy to swap in the copy."""


def reorder_track_search():
    """Rewrite ``catalog_tracksearch`` in popularity order while search goes on.

    New and edited tracks land at the end of the table, so over time the candidate walk reads more
    pages for the same candidates. This copies the table in popularity order into a new one, builds
    its indexes and statistics, then — with writes to the table held (track changes wait under a
    second at a million tracks; searches go on) — copies again the rows changed meanwhile (found by
    their transaction ids), drops those deleted, and swaps the copy in under the old names.

    The swap asks for its locks with a short timeout and tries again after a pause, so a long
    search or an open transaction in the way never queues the site behind it. One rewrite runs at a
    time (an advisory lock); a failure leaves no copy behind. The copy is made by the same database
    role as the table (grants are not copied). Returns the number of rows.
    """
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", [_REORDER_LOCK])
        if not cur.fetchone()[0]:
            raise SearchTableBusy("Another rewrite of the search table is running.")
        try:
            copied_before, indexes, statistics = _copy_search_table(cur)
            for attempt in range(SWAP_ATTEMPTS):
                try:
                    with transaction.atomic():
                        rows = _swap_search_table(cur, copied_before, indexes, statistics)
                    break
                except OperationalError as exc:  # the table was busy (lock timeout, deadlock): again
                    busy = getattr(exc.__cause__, "sqlstate", None) in ("55P03", "40P01")
                    if not busy:
                        raise
                    if attempt == SWAP_ATTEMPTS - 1:
                        raise SearchTableBusy(
                            "The search table stayed too busy to swap in its copy."
                        ) from exc
                    time.sleep(min(0.5 * (attempt + 1), 5))
        except Exception:
            if not connection.needs_rollback:
                cur.execute(f"DROP TABLE IF EXISTS {_NEXT}")
            raise
        finally:
            if not connection.needs_rollback:
                cur.execute("SELECT pg_advisory_unlock(%s)", [_REORDER_LOCK])
    forget_search_results()
    return rows


def _copy_search_table(cur):
    """The copy in popularity order with its indexes and statistics (under temporary names)."""
    with transaction.atomic():
        cur.execute(f"DROP TABLE IF EXISTS {_NEXT}")
        cur.execute(f"CREATE TABLE {_NEXT} (LIKE {_LIVE} INCLUDING DEFAULTS INCLUDING STORAGE)")
        # Rows written by transactions from this one on may be missing from the copy: their
        # transaction ids are at least the oldest one still running now.
        cur.execute("SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::bigint % 4294967296)::text")
        copied_before = cur.fetchone()[0]
        cur.execute(f"INSERT INTO {_NEXT} SELECT * FROM {_LIVE} ORDER BY popularity DESC, id DESC")
        cur.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisprimary, i.indisclustered"
            " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass",
            [_LIVE],
        )
        indexes = cur.fetchall()
        for name, definition, _primary, _clustered in indexes:
            cur.execute(_INDEX_DEF.sub(rf"\g<1>{name}_next\g<2>{_NEXT}\g<3>", definition))
        cur.execute(
            "SELECT stxname, pg_get_statisticsobjdef(oid) FROM pg_statistic_ext"
            " WHERE stxrelid = %s::regclass",
            [_LIVE],
        )
        statistics = cur.fetchall()
        for name, definition in statistics:
            cur.execute(
                f"CREATE STATISTICS {name}_next {_STATISTICS_DEF.match(definition).group(1)} FROM {_NEXT}"
            )
    cur.execute(f"ANALYZE {_NEXT}")
    return copied_before, indexes, statistics


def _swap_search_table(cur, copied_before, indexes, statistics):
    """Bring the copy up to date and put it in the table's place (inside a transaction)."""
    cur.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
    # Every track change writes this table (the triggers): from here writers wait, readers don't.
    cur.execute(f"LOCK TABLE {_LIVE} IN EXCLUSIVE MODE")
    # Rows changed since the copy (newer transaction ids than it could see) are copied again;
    # rows deleted since are the copy's surplus.
    cur.execute("DROP TABLE IF EXISTS pg_temp.tracksearch_changed")
    cur.execute(
        f"CREATE TEMP TABLE tracksearch_changed ON COMMIT DROP AS"
        f" SELECT id FROM {_LIVE} WHERE age(xmin) <= age(%s::xid)",
        [copied_before],
    )
    cur.execute(f"DELETE FROM {_NEXT} n USING tracksearch_changed c WHERE n.id = c.id")
    cur.execute(f"INSERT INTO {_NEXT} SELECT l.* FROM {_LIVE} l JOIN tracksearch_changed c ON c.id = l.id")
    cur.execute(f"SELECT (SELECT count(*) FROM {_NEXT}) - (SELECT count(*) FROM {_LIVE})")
    if cur.fetchone()[0]:
        cur.execute(f"DELETE FROM {_NEXT} n WHERE NOT EXISTS (SELECT 1 FROM {_LIVE} l WHERE l.id = n.id)")
    cur.execute(f"LOCK TABLE {_LIVE} IN ACCESS EXCLUSIVE MODE")  # the swap itself: an instant
    cur.execute(f"DROP TABLE {_LIVE}")
    cur.execute(f"ALTER TABLE {_NEXT} RENAME TO {_LIVE}")
    for name, _definition, primary, clustered in indexes:
        cur.execute(f"ALTER INDEX {name}_next RENAME TO {name}")
        if primary:
            cur.execute(f"ALTER TABLE {_LIVE} ADD CONSTRAINT {name} PRIMARY KEY USING INDEX {name}")
        if clustered:
            cur.execute(f"ALTER TABLE {_LIVE} CLUSTER ON {name}")
    for name, _definition in statistics:
        cur.execute(f"ALTER STATISTICS {name}_next RENAME TO {name}")
    cur.execute(f"SELECT count(*) FROM {_LIVE}")
    return cur.fetchone()[0]
