"""factory_boy factories shared by every app's tests."""

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

DEFAULT_PASSWORD = "a-Long-test-passw0rd"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Sequence(lambda n: f"User {n}")
    password = factory.django.Password(DEFAULT_PASSWORD)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        """A verified primary email address, as allauth records it (pass verified=False to skip)."""
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True
    email = factory.Sequence(lambda n: f"staff{n}@allmytracks.test")
