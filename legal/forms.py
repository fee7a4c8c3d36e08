from django import forms


class AcceptForm(forms.Form):
    agree = forms.BooleanField(
        label="I have read and agree to the updated agreements shown above.",
        error_messages={"required": "Tick the box to accept, or choose “I do not agree”."},
    )
    versions = forms.CharField(widget=forms.HiddenInput)

    def clean_versions(self):
        try:
            return [int(v) for v in self.cleaned_data["versions"].split(",") if v.strip()]
        except ValueError:
            raise forms.ValidationError("The form was damaged; reload the page.") from None


class MarketingConsentForm(forms.Form):
    opted_in = forms.BooleanField(
        required=False,
        label="Email me AllMyTracks news, new music and offers",
        help_text="At most a few emails a month. Every one has a one-click unsubscribe link. "
        "Notices about your account and our agreements are sent regardless.",
    )
