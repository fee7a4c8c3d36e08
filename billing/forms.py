"""Purchase confirmation forms. Each carries an ``attempt`` id made when the page was shown,
so pressing the button twice opens one Stripe Checkout Session, not two."""

import uuid

from django import forms

NO_REFUND_LABEL = (
    "I understand that once I confirm and pay, the fee is charged, and a purchase made by "
    "mistake on my side is not refunded."
)


class _ConfirmForm(forms.Form):
    attempt = forms.UUIDField(widget=forms.HiddenInput)
    no_refund = forms.BooleanField(
        label=NO_REFUND_LABEL,
        error_messages={
            "required": "Please confirm that you understand mistaken purchases are not refunded."
        },
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("attempt", uuid.uuid4())
        super().__init__(*args, **kwargs)


class MembershipCheckoutForm(_ConfirmForm):
    accept_terms = forms.BooleanField(
        label="I have read and agree to the Premium Membership Service Agreement.",
        error_messages={"required": "Please accept the Premium Membership Service Agreement to continue."},
    )
    quantity = forms.IntegerField(
        label="Designated-user seats",
        min_value=1,
        max_value=100,
        initial=1,
        required=False,
        help_text="Each seat lets you name one designated end user (for example a client). "
        "Staff can add more later.",
    )

    field_order = ["quantity", "accept_terms", "no_refund", "attempt"]

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan = plan
        if plan.is_business:
            self.fields["quantity"].required = True
            self.fields["quantity"].initial = plan.default_seats
        else:
            del self.fields["quantity"]

    def clean_quantity(self):
        quantity = self.cleaned_data.get("quantity") or 1
        if quantity < self.plan.default_seats:
            raise forms.ValidationError(f"This plan starts at {self.plan.default_seats} seats.")
        return quantity


class TrackCheckoutForm(_ConfirmForm):
    pass
