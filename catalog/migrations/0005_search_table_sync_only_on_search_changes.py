# ruff: noqa: S608
# The SQL here is assembled from constants only.
"""Copy a track into ``catalog_tracksearch`` only when something the search reads has changed.

The copy trigger of ``0004`` fired on every update of a track, so each preview play (``record_play``
adds one to ``play_count``) rewrote the track's search row: a new row version at the end of the
table, new entries in every search index, the GIN index's pending list growing — and the most played
tracks, which are the most popular ones at the front of the candidate walk, drifted to the back of the
table one play at a time.

Now the trigger fires only for updates that name a column the search row is made of, or one the
vector is computed from (a column changed by the BEFORE trigger of ``0002`` does not count as named:
PostgreSQL decides from the ``UPDATE`` statement itself, so ``title`` and the other vector sources are
listed too). A save that names every column but changes nothing the search reads (a model ``save()``)
leaves the row as it is. A column added to the search row later must be added to ``SOURCE_COLUMNS``
of a new migration too (``test_an_update_of_any_one_searched_column_reaches_the_search_row``).
"""

import importlib

from django.db import migrations

_0004 = importlib.import_module("catalog.migrations.0004_track_search_table")

# What the search row is copied from (0004's _values), what decides whether there is one, and what
# the vector is computed from (0002's BEFORE trigger).
SOURCE_COLUMNS = (
    "id, popularity, created_at, kind, bpm, duration_seconds, key, vocals, energy, explicit,"
    " sound_category_id, genre_ids, mood_ids, instrument_ids, theme_ids, search_vector,"
    " is_published, ingest_status, title, album, description, artist_id"
)


_SET = ", ".join(f"{c} = EXCLUDED.{c}" for c in _0004.COLUMNS.replace(" ", "").split(",") if c != "id")

SYNC_FUNCTION = f"""
CREATE OR REPLACE FUNCTION catalog_tracksearch_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM catalog_tracksearch WHERE id = OLD.id;
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.id <> NEW.id THEN
    DELETE FROM catalog_tracksearch WHERE id = OLD.id;
  END IF;
  IF NEW.is_published AND NEW.ingest_status = 'ready' THEN
    INSERT INTO catalog_tracksearch ({_0004.COLUMNS}) VALUES ({_0004._values("NEW")})
    ON CONFLICT (id) DO UPDATE SET {_SET}
    WHERE (catalog_tracksearch.*) IS DISTINCT FROM (EXCLUDED.*);
  ELSE
    DELETE FROM catalog_tracksearch WHERE id = NEW.id;
  END IF;
  RETURN NULL;
END
$$;
"""

FORWARD = [
    SYNC_FUNCTION,
    f"""
DROP TRIGGER IF EXISTS catalog_tracksearch_sync ON catalog_track;
CREATE TRIGGER catalog_tracksearch_sync AFTER INSERT OR DELETE OR UPDATE OF {SOURCE_COLUMNS} ON catalog_track
  FOR EACH ROW EXECUTE FUNCTION catalog_tracksearch_sync();
""",
]
# Back: 0004's functions and triggers as they were (its last step creates both triggers).
BACKWARD = [
    """
DROP TRIGGER IF EXISTS catalog_tracksearch_sync ON catalog_track;
DROP TRIGGER IF EXISTS catalog_tracksearch_truncate ON catalog_track;
""",
    _0004.FORWARD[-1],
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in FORWARD:
        schema_editor.execute(sql, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in BACKWARD:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0004_track_search_table")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
