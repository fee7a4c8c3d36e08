"""System checks of the project's own settings (``manage.py check --deploy``)."""

from django.conf import settings
from django.core import checks

# The environment variable that sets each of ``settings.OPERATOR``'s details.
OPERATOR_VARIABLES = {
    "registration": "OPERATOR_REGISTRATION",
    "address": "OPERATOR_ADDRESS",
    "support_email": "SUPPORT_EMAIL",
}


@checks.register(checks.Tags.security, deploy=True)
def operator_details(app_configs, **kwargs):
    """The operator's registration, address and support email are the development samples: every
    page's footer, licence letter and email would show them to customers."""
    return [
        checks.Warning(
            f"The operator's {key.replace('_', ' ')} is the development sample ({value!r}).",
            hint=f"Set {OPERATOR_VARIABLES[key]} to the real value.",
            id="allmytracks.W001",
        )
        for key, value in settings.OPERATOR_SAMPLES.items()
        if settings.OPERATOR.get(key) == value
    ]
