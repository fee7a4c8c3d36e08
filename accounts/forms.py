from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django_countries import countries

from .models import EnterpriseApplication, ProfileReview, User, today_minus_years
from .names import refuse_web_address, same_name, validate_allowed_name
from .services import AccountRestricted, current_agreement_versions
from .uploads import check_avatar, check_letter

OLDEST_AGE = 120


def _version_url(slug, version):
    for name, args in (("legal:version", [slug, getattr(version, "number", 0)]), ("legal:document", [slug])):
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    return "/legal/"


def clean_date_of_birth(value):
    if value is None:
        raise ValidationError("Enter your date of birth.")
    if value > timezone.localdate():
        raise ValidationError("Your date of birth cannot be in the future.")
    if value < today_minus_years(OLDEST_AGE):
        raise ValidationError("Check the year of your date of birth.")
    if value > today_minus_years(13):
        raise ValidationError("You must be at least 13 years old to have an AllMyTracks account.")
    return value


class SignupExtraForm(forms.Form):
    """What AllMyTracks adds to allauth's sign-up forms (email and third-party alike)."""

    display_name = forms.CharField(
        label="Your name",
        max_length=User._meta.get_field("display_name").max_length,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        help_text=(
            "Your full name, or your company's if you buy for it: licence letters name you as the licensee."
        ),
    )
    date_of_birth = forms.DateField(
        label="Date of birth",
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
        help_text="Members under 18 can browse and preview; a parent or guardian confirms before buying.",
        error_messages={
            "required": "Enter your date of birth.",
            "invalid": "Enter your date of birth as a date.",
        },
    )
    agree = forms.BooleanField(
        required=True,
        error_messages={
            "required": "You need to agree to the User Agreement and Privacy Policy to register."
        },
    )
    marketing_opt_in = forms.BooleanField(
        required=False, label="Send me occasional news and offers (you can unsubscribe at any time)"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.agreement_versions = None
        self.registration_closed = ""
        try:
            self.agreement_versions = current_agreement_versions()
        except AccountRestricted as exc:
            self.registration_closed = str(exc)
            self.fields["agree"].label = "I have read and agree to the User Agreement and the Privacy Policy"
        else:
            ua, pp = self.agreement_versions["user-agreement"], self.agreement_versions["privacy-policy"]
            self.fields["agree"].label = format_html(
                'I have read and agree to the <a href="{}" target="_blank" rel="noopener">User Agreement '
                '(version {})</a> and the <a href="{}" target="_blank" rel="noopener">'
                "Privacy Policy (version {})</a>",
                _version_url("user-agreement", ua),
                getattr(ua, "number", ""),
                _version_url("privacy-policy", pp),
                getattr(pp, "number", ""),
            )
        # Versions shown must be the versions accepted, even if one is published meanwhile.
        self.fields["agreement_versions"] = forms.CharField(widget=forms.HiddenInput, required=False)
        if self.agreement_versions:
            self.fields["agreement_versions"].initial = ",".join(
                str(v.pk) for v in self.agreement_versions.values()
            )

    def clean_display_name(self):
        return validate_allowed_name(self.cleaned_data["display_name"].strip(), what="Your name")

    def clean_date_of_birth(self):
        return clean_date_of_birth(self.cleaned_data.get("date_of_birth"))

    def clean(self):
        cleaned = super().clean()
        if self.registration_closed:
            raise ValidationError(self.registration_closed, code="registration_closed")
        shown = cleaned.get("agreement_versions")
        current = ",".join(str(v.pk) for v in self.agreement_versions.values())
        if shown and shown != current:
            self.data = self.data.copy()
            self.data["agreement_versions"] = current
            raise ValidationError(
                "The agreement was updated while you were signing up. "
                "Please read the new version and tick again.",
                code="versions_changed",
            )
        return cleaned

    def signup(self, request, user):
        from .services import complete_registration

        user.display_name = self.cleaned_data["display_name"]
        user.save(update_fields=["display_name"])
        complete_registration(
            user=user,
            date_of_birth=self.cleaned_data["date_of_birth"],
            versions=self.agreement_versions,
            marketing_opt_in=self.cleaned_data.get("marketing_opt_in"),
            request=request,
            via="social" if getattr(self, "sociallogin", None) else "email",
        )


class ProfileForm(forms.ModelForm):
    SENSITIVE = ("display_name", "company")

    marketing_opt_in = forms.BooleanField(required=False, label="Email me news and offers")
    # Stored as the ISO 3166 code; chosen by name (django-countries keeps the list current).
    country = forms.ChoiceField(
        label="Country",
        required=False,
        choices=lambda: [("", "Choose your country"), *countries],
        error_messages={"invalid_choice": "Choose your country from the list."},
    )

    class Meta:
        model = User
        fields = ["display_name", "country", "company", "bio", "avatar", "date_of_birth"]
        labels = {"display_name": "Display name", "bio": "About you"}
        help_texts = {
            "display_name": "Shown on your profile and licence letters.",
            "bio": "A short public description (up to 500 characters).",
            "avatar": "PNG or JPEG, at most 10 MB. We resize it to 512 pixels.",
        }
        widgets = {
            "bio": forms.Textarea(attrs={"rows": 4}),
            "date_of_birth": forms.DateInput(attrs={"type": "date"}),
            "avatar": forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.date_of_birth is not None:
            # Set once at sign-up; staff correct mistakes.
            del self.fields["date_of_birth"]
        else:
            self.fields["date_of_birth"].required = True
            self.fields["date_of_birth"].error_messages["required"] = "Enter your date of birth."
        self.fields["display_name"].required = True

    def clean_display_name(self):
        name = validate_allowed_name(self.cleaned_data["display_name"], what="Your display name")
        if self.instance.profile_review == ProfileReview.RENAME and same_name(
            name, self.instance.display_name
        ):
            raise ValidationError("Staff asked you to choose a new display name: enter a different one.")
        return name

    def clean(self):
        data = super().clean()
        changed = set(self.changed_data) - {"marketing_opt_in"}
        if self.instance.profile_review == ProfileReview.RESUBMIT and not changed:
            raise ValidationError(
                "Staff asked you to correct your registration details: change what their message points "
                "out, then save."
            )
        return data

    def clean_company(self):
        return validate_allowed_name(self.cleaned_data["company"], what="The company name")

    def clean_bio(self):
        return validate_allowed_name(self.cleaned_data["bio"], what="Your profile text", web_address_ok=True)

    def clean_date_of_birth(self):
        return clean_date_of_birth(self.cleaned_data.get("date_of_birth"))

    def clean_avatar(self):
        avatar = self.cleaned_data.get("avatar")
        if avatar and hasattr(avatar, "content_type"):  # a new upload
            checked = check_avatar(avatar)
            checked.file.name = checked.name
            return checked.file
        return avatar

    def sensitive_changed(self):
        return any(name in self.changed_data for name in self.SENSITIVE)


class GuardianRequestForm(forms.Form):
    guardian_name = forms.CharField(label="Parent's or guardian's full name", max_length=120)
    guardian_email = forms.EmailField(label="Parent's or guardian's email address")

    def clean_guardian_name(self):
        return refuse_web_address(self.cleaned_data["guardian_name"], what="The name")


class GuardianConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        required=True,
        label="I am this member's parent or legal guardian, and I allow them to buy and download "
        "on AllMyTracks.",
    )


class EnterpriseApplicationForm(forms.ModelForm):
    letter = forms.FileField(
        label="Authorisation letter",
        help_text="A signed letter on company letterhead authorising this account. "
        "PDF, PNG or JPEG, at most 10 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
    )

    class Meta:
        model = EnterpriseApplication
        fields = ["company_name", "registration_number", "address", "contact_name", "contact_phone"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"registration_number": "As shown in the company register."}

    def clean_company_name(self):
        return validate_allowed_name(self.cleaned_data["company_name"], what="The company name")

    def clean_letter(self):
        return check_letter(self.cleaned_data["letter"])

    def application_data(self):
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class CancellationForm(forms.Form):
    confirm_email = forms.CharField(
        label="Type your email address to confirm", widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    reason = forms.CharField(
        label="Why are you leaving?",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_confirm_email(self):
        value = self.cleaned_data["confirm_email"].strip()
        if value.lower() != self.user.email.lower():
            raise ValidationError(
                "That is not the email address of this account. Type it exactly to confirm."
            )
        return value


class CompromiseReportForm(forms.Form):
    email = forms.EmailField(
        label="Email address of the account", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    details = forms.CharField(
        label="What happened?",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For example: purchases you did not make, a password you did not change.",
    )


class RecoveryForm(forms.Form):
    password1 = forms.CharField(
        label="New password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="New password (again)", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ.")
        elif p1:
            try:
                password_validation.validate_password(p1, self.user)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned
