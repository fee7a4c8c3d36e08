# ruff: noqa: S608
# The SQL here is assembled from constants only.
"""“New” and “Newest” go by a track's first publication, not the day it was uploaded.

A track uploaded in spring and published today is new today: the home page's “New this week”
shelf and its index, the search's “Newest” sort and the newest matches a relevance walk takes in
(the search table's ``created_at`` column becomes ``published_at``, copied by the trigger, which now
also fires when ``published_at`` is written). A published track always has the date (a check
constraint, checked before the copy trigger runs; ``Track.save`` and ``set_published`` set it,
migration 0015 filled it in for tracks published before it existed, and the first step here covers
any left).
"""

import importlib

from django.db import migrations, models

_0009 = importlib.import_module("catalog.migrations.0009_search_table_trending")

COLUMNS = _0009.COLUMNS.replace("created_at", "published_at")
SOURCE_COLUMNS = f"{_0009.SOURCE_COLUMNS}, published_at"


def _values(row):
    return _0009._values(row).replace(f"{row}.created_at,", f"{row}.published_at,")


_SET = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS.replace(" ", "").split(",") if c != "id")

SYNC_FUNCTION = _0009.SYNC_FUNCTION.replace(f"({_0009.COLUMNS})", f"({COLUMNS})").replace(
    f"({_0009._values('NEW')})", f"({_values('NEW')})"
).replace(_0009._SET, _SET)

FORWARD = [
    """
ALTER TABLE catalog_tracksearch RENAME COLUMN created_at TO published_at;
UPDATE catalog_tracksearch s SET published_at = t.published_at FROM catalog_track t
 WHERE t.id = s.id AND t.published_at IS NOT NULL AND s.published_at <> t.published_at;
""",
    SYNC_FUNCTION,
    f"""
DROP TRIGGER IF EXISTS catalog_tracksearch_sync ON catalog_track;
CREATE TRIGGER catalog_tracksearch_sync AFTER INSERT OR DELETE OR UPDATE OF {SOURCE_COLUMNS} ON catalog_track
  FOR EACH ROW EXECUTE FUNCTION catalog_tracksearch_sync();
""",
]
# Back: 0009's function and trigger, and the upload dates again.
BACKWARD = [
    """
ALTER TABLE catalog_tracksearch RENAME COLUMN published_at TO created_at;
UPDATE catalog_tracksearch s SET created_at = t.created_at FROM catalog_track t
 WHERE t.id = s.id AND s.created_at <> t.created_at;
""",
    *_0009.FORWARD[1:],
]


def search_table_forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in FORWARD:
        schema_editor.execute(sql, params=None)


def search_table_backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in BACKWARD:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0016_follow_digest_delivery")]

    operations = [
        migrations.RunSQL(
            "UPDATE catalog_track SET published_at = created_at WHERE is_published AND published_at IS NULL",
            migrations.RunSQL.noop,
            elidable=False,
        ),
        migrations.RemoveIndex(model_name="track", name="track_pub_kind_new"),
        migrations.AddIndex(
            model_name="track",
            index=models.Index(fields=["is_published", "kind", "-published_at"], name="track_pub_kind_new"),
        ),
        migrations.AddConstraint(
            model_name="track",
            constraint=models.CheckConstraint(
                condition=models.Q(is_published=False) | models.Q(published_at__isnull=False),
                name="track_published_has_date",
            ),
        ),
        migrations.RunPython(search_table_forwards, search_table_backwards, elidable=False),
    ]
