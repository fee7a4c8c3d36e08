"""Form fields shared by the apps."""

from django import forms
from django.core.exceptions import ValidationError

from .numbers import whole_number


class OwnChoicesField(forms.ModelMultipleChoiceField):
    """Ticked ids among the field's queryset (the member's own playlists, a playlist's tracks).

    Anything that is not a whole number a database id can hold (too many digits, a sign, letters)
    is an invalid choice like another account's id, never a lookup the database refuses."""

    def _check_values(self, value):
        for pk in value:
            if whole_number(pk) is None:
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
                )
        return super()._check_values(value)
