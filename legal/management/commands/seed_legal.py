"""Publish a first, clearly-sample version of each agreement for development (idempotent).

The texts below are written for this project as placeholders so the sign-up tick, the
acceptance gate and the licence stamp work out of the box. They are not legal advice and
not the operator's agreement: production publishes the real texts from the staff site.
"""

from django.conf import settings
from django.core.management import BaseCommand, CommandError

from legal import services
from legal.models import Document, Version

NOTE = (
    "> **Sample text for development.** This version was written by the AllMyTracks developers so the "
    "site works out of the box. It is not the operator's agreement and not legal advice. Staff replace "
    "it by publishing a new version from the staff site.\n\n"
)

SAMPLES = {
    "user-agreement": (
        "Sample User Agreement",
        """## 1. About this agreement

This agreement is between you and {name} ("we"). It applies when you create an account, browse the
catalogue, preview tracks, or download music and sound effects. Ticking "I have read and agree to" at
sign-up means you accept it.

## 2. Your account

- Your email address is your account ID and cannot be changed later.
- Keep your password to yourself. Tell us at once if you think someone else used your account.
- One account belongs to one person or one company. Nothing in it can be moved to another account.

## 3. Using the site

You may search, preview and download works for the projects you license. You must not scrape the
catalogue, overload the service, or share downloaded files with other people.

## 4. Licences

Each download is licensed for **one end user and one project**. The Music Licence Agreement in force
when you download is the one that applies to that licence.

## 5. Limits on our liability

<u>**We provide the service as it is. To the extent the law allows, we are not liable for indirect
losses, such as lost profits, that arise from using or not being able to use the service.**</u>

## 6. Changes

We may change this agreement. We publish each version on this site with a summary of what changed.
If a change matters, we ask you to accept it again before your next download or purchase.

## 7. Contact

Questions: {email}. {law}
""",
    ),
    "privacy-policy": (
        "Sample Privacy Policy",
        """## 1. What we collect

- Your email address, display name and, if you give them, your company details.
- What you download and license, and the end users and projects you name.
- Technical data needed to run the service: IP address, browser, and the time of each request.

## 2. Why

To run your account, grant and verify licences, take payments, prevent abuse, and — only if you opt
in — tell you about new music and offers.

## 3. How long

Account data is kept while your account is open. Records of licences, payments and agreement
acceptances are kept after you close your account, **because the law or the licences require it**.

## 4. Your rights

You can see your agreement history under *Your agreements*, change your email preferences at any
time, and ask us to close your account. Write to {email}.
""",
    ),
    "premium-membership": (
        "Sample Premium Membership Service Agreement",
        """## 1. Membership

A membership gives you a number of downloads each period, as shown on the pricing page before you pay.
It starts only after your payment is confirmed.

## 2. Renewal and cancellation

Memberships renew automatically until you cancel. Cancelling stops the next renewal; the current
period runs to its end.

## 3. Purchases made by mistake

<u>**Please check before you confirm: purchases made by mistake are not refunded.**</u>

## 4. Failed payments

If a payment fails, new downloads stop until it is settled. **Licences you already hold stay valid.**
""",
    ),
    "music-licence": (
        "Sample Music Licence Agreement",
        """## 1. What a licence covers

One licence covers one work (a track or a sound effect), used by **one named end user** in **one
project**, such as a video, a podcast episode or an advert.

## 2. What you may not do

- Use the work in another project without taking a new licence.
- Resell, sublicense or share the file itself.
- Register the work, or a project that contains it, with a content identification service.

## 3. Proof

Each licence has a code. Anyone can check it on the public verification page.

## 4. Revocation

<u>**We may revoke a licence that was obtained or used in breach of this agreement.**</u>
""",
    ),
}


class Command(BaseCommand):
    help = "Publish sample version 1 of each agreement if it has no published version (development)."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_legal publishes sample texts and is for development checkouts only.")
        op = settings.OPERATOR
        services.ensure_documents()
        for document in Document.objects.all():
            if document.versions.published().exists():
                self.stdout.write(f"{document.title}: already published, left as it is.")
                continue
            title, body = SAMPLES[document.kind]
            body = NOTE + body.format(name=op["name"], email=op["support_email"], law=op["governing_law"])
            draft = document.versions.filter(status=Version.Status.DRAFT, number=1).first()
            if draft is None:
                draft = Version.objects.create(
                    document=document,
                    number=1,
                    title=title,
                    body=body,
                    summary="First version.",
                    material=True,
                )
            services.publish_version(version=draft, actor=None, notify=False)
            self.stdout.write(self.style.SUCCESS(f"{document.title}: published sample version 1."))
