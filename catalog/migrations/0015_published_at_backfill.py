from django.db import migrations
from django.db.models import F

BATCH = 10_000


def published_when_added(apps, schema_editor):
    """Tracks already published count as first published when they were added (the nearest time
    known). In batches of ids, each its own transaction (the migration is not atomic), so a
    million-track catalogue never has its track table locked for the whole update."""
    Track = apps.get_model("catalog", "Track")
    todo = Track.objects.filter(is_published=True, published_at__isnull=True)
    last = 0
    while True:
        nth = list(todo.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[BATCH - 1 : BATCH])
        upto = nth[0] if nth else None  # the batch's last id; None: what is left fits in one batch
        todo.filter(pk__gt=last, **({"pk__lte": upto} if upto else {})).update(published_at=F("created_at"))
        if upto is None:
            return
        last = upto


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("catalog", "0014_published_at_and_follow_digest"),
    ]

    operations = [
        migrations.RunPython(published_when_added, migrations.RunPython.noop, elidable=True),
    ]
