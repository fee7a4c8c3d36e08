"""First-run setup for a development checkout (called by `make run`).

Creates a staff account on the first run and prints its password once, then runs
each app's demo-content command that exists (agreements, plans, the demo catalogue).
Safe to run again: every step does nothing when its data is already there.
"""

import os
import secrets

from django.conf import settings
from django.core.management import BaseCommand, CommandError, call_command, get_commands

# Each app that has demo content contributes one idempotent command, run in this order.
DEMO_COMMANDS = ["seed_legal", "seed_plans", "seed_demo"]
STAFF_EMAIL = "staff@allmytracks.test"


class Command(BaseCommand):
    help = "Create the development staff account and load demo content (idempotent)."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("dev_setup is for development checkouts only.")
        self.ensure_staff()
        available = get_commands()
        for name in DEMO_COMMANDS:
            if name in available:
                options = {}
                if name == "seed_demo" and os.environ.get("DEMO_TRACK_COUNT"):
                    # A smaller demo catalogue for smoke tests and slow machines.
                    options["count"] = int(os.environ["DEMO_TRACK_COUNT"])
                call_command(name, stdout=self.stdout, stderr=self.stderr, **options)

    def ensure_staff(self):
        from allauth.account.models import EmailAddress
        from django.contrib.auth import get_user_model

        User = get_user_model()
        staff = User.objects.filter(is_staff=True).order_by("pk").first()
        if staff is not None:
            self.stdout.write(
                f"Staff account: {staff.email} (password shown on the first run; to set a new one: "
                f"manage.py changepassword {staff.email})."
            )
            return
        password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(STAFF_EMAIL, password, display_name="Staff")
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        line = "=" * 64
        self.stdout.write(
            self.style.SUCCESS(
                f"\n{line}\nStaff account created (shown once):\n"
                f"  email:    {STAFF_EMAIL}\n  password: {password}\n"
                f"  staff site: {settings.SITE_URL}/admin/\n{line}\n"
            )
        )
