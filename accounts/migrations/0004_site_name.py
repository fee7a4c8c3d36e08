from urllib.parse import urlsplit

from django.conf import settings
from django.db import migrations


def name_site(apps, schema_editor):
    # allauth's messages name the site: "AllMyTracks" at the configured address, not example.com.
    site = apps.get_model("sites", "Site")
    domain = urlsplit(settings.SITE_URL).netloc or "allmytracks.example"
    site.objects.update_or_create(pk=settings.SITE_ID, defaults={"domain": domain[:100], "name": "AllMyTracks"})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_default_name_blocklist"), ("sites", "0002_alter_domain_unique")]

    operations = [migrations.RunPython(name_site, migrations.RunPython.noop)]
