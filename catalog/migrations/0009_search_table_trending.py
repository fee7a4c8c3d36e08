# ruff: noqa: S608
# The SQL here is assembled from constants only.
"""The search table carries each track's ``trending`` figure, for the “Trending” sort.

The column joins the search row (copied by the trigger, like popularity) with an index in that
order — trending, then popularity for the many tracks with none this week — so a trending page of
dense matches walks its own index as the other sorts do. The trigger now also fires when
``trending`` is written (the nightly refresh).
"""

import importlib

from django.db import migrations

_0004 = importlib.import_module("catalog.migrations.0004_track_search_table")
_0005 = importlib.import_module("catalog.migrations.0005_search_table_sync_only_on_search_changes")

COLUMNS = f"{_0004.COLUMNS}, trending"
SOURCE_COLUMNS = f"{_0005.SOURCE_COLUMNS}, trending"


def _values(row):
    return f"{_0004._values(row)}, {row}.trending"


_SET = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS.replace(" ", "").split(",") if c != "id")

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
    INSERT INTO catalog_tracksearch ({COLUMNS}) VALUES ({_values("NEW")})
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
    """
ALTER TABLE catalog_tracksearch ADD COLUMN trending integer NOT NULL DEFAULT 0;
UPDATE catalog_tracksearch s SET trending = t.trending FROM catalog_track t
 WHERE t.id = s.id AND t.trending <> 0;
CREATE INDEX catalog_tracksearch_trending ON catalog_tracksearch (trending DESC, popularity DESC, id DESC);
""",
    SYNC_FUNCTION,
    f"""
DROP TRIGGER IF EXISTS catalog_tracksearch_sync ON catalog_track;
CREATE TRIGGER catalog_tracksearch_sync AFTER INSERT OR DELETE OR UPDATE OF {SOURCE_COLUMNS} ON catalog_track
  FOR EACH ROW EXECUTE FUNCTION catalog_tracksearch_sync();
""",
]
# Back: 0005's function and trigger, then the column and its index go.
BACKWARD = [
    *_0005.FORWARD,
    """
DROP INDEX IF EXISTS catalog_tracksearch_trending;
ALTER TABLE catalog_tracksearch DROP COLUMN IF EXISTS trending;
""",
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
    dependencies = [("catalog", "0008_track_trending")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
