import re
import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from accounts.names import refuse_web_address, same_name
from allmytracks.forms import OwnChoicesField
from allmytracks.numbers import whole_number

from .models import EndUser, License, Platform, Project

NEW = "new"
CHANNEL_RE = re.compile(r"^@?[\w.\-]{2,100}$")


def clean_url_or_channel(value):
    """A full web address, or a channel id/handle (``@name``, ``UC…``). Anything else is refused."""
    value = (value or "").strip()
    if not value:
        return ""
    looks_like_url = "://" in value or value.lower().startswith("www.") or "/" in value
    if looks_like_url:
        candidate = value if "://" in value else f"https://{value}"
        try:
            URLValidator(schemes=["http", "https"])(candidate)
        except ValidationError:
            raise ValidationError(
                "Enter a full web address (https://…) or a channel handle such as @mychannel."
            ) from None
        longest = Project._meta.get_field("url").max_length
        if len(candidate) > longest:
            raise ValidationError(f"Keep the address to {longest} characters, https:// included.")
        return candidate
    if not CHANNEL_RE.match(value):
        raise ValidationError("Enter a full web address (https://…) or a channel handle such as @mychannel.")
    return value


MENU_PROJECTS = 50  # the download form's project menu lists the most recent


def listed_projects(user, limit, chosen=None):
    """The member's ``limit`` most recent projects for a menu, plus ``chosen`` (an id sent by a form
    or a link) when it is an older project of theirs: any own project can be chosen, whatever the
    menu shows. Another account's id, or anything but an id, adds nothing."""
    projects = list(Project.objects.for_account(user).order_by("-created_at", "-id")[:limit])
    chosen = whole_number(chosen)
    if chosen is not None and all(p.pk != chosen for p in projects):
        projects += Project.objects.for_account(user).filter(pk=chosen)
    return projects


SOLE_END_USER_HELP = (
    "Every work downloaded under this account is for this end user: you, or the company you work for."
)


class ProjectFieldsMixin(forms.Form):
    project_title = forms.CharField(label="Project title", max_length=200, required=False)
    platform = forms.ChoiceField(
        label="Platform", choices=[("", "Choose…"), *Platform.choices], required=False
    )
    project_url = forms.CharField(
        label="URL or channel (optional)",
        max_length=300,
        required=False,
        help_text="Where the project will appear, e.g. https://youtube.com/@you or @you.",
    )
    client_name = forms.CharField(label="Client (optional)", max_length=160, required=False)

    def clean_project_url(self):
        return clean_url_or_channel(self.cleaned_data.get("project_url"))


class DownloadForm(ProjectFieldsMixin):
    """Download = licence: which file, who uses it, for which project, and the agreement tick."""

    submission = forms.UUIDField(widget=forms.HiddenInput)
    version = forms.ModelChoiceField(queryset=None, label="File", empty_label=None, widget=forms.RadioSelect)
    end_user = forms.ChoiceField(label="End user", required=False)
    end_user_name = forms.CharField(label="End user's name", max_length=160, required=False)
    end_user_role = forms.CharField(label="Role or company (optional)", max_length=160, required=False)
    end_user_email = forms.EmailField(
        label="End user's email (optional)",
        required=False,
        help_text="We send them a notice of what the licence allows.",
    )
    project = forms.ChoiceField(
        label="Project",
        required=False,
        error_messages={
            "invalid_choice": "That project is not one of yours: choose one of the list or a new project."
        },
    )
    accept_terms = forms.BooleanField(required=False)

    def __init__(self, *args, user, track, agreement, needs_acceptance, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.track, self.agreement, self.needs_acceptance = (
            user,
            track,
            agreement,
            needs_acceptance,
        )
        self.fields["submission"].initial = uuid.uuid4()
        if track is None:  # several tracks at once (PlaylistDownloadForm): each its main file
            del self.fields["version"]
        else:
            versions = track.versions.ready().order_by("position", "id")
            self.fields["version"].queryset = versions
            self.fields["version"].label_from_instance = lambda v: v.label
            main = next((v for v in versions if v.kind == "full"), None) or versions.first()
            self.fields["version"].initial = main.pk if main else None

        self.end_users = list(EndUser.objects.for_account(user))
        self.sole = next((e for e in self.end_users if e.kind == EndUser.Kind.SOLE), None)
        self.seats_left = max(user.designated_seats - len(self.end_users), 0) if user.is_enterprise else 0
        choices = [(str(e.pk), str(e)) for e in self.end_users]
        if user.is_enterprise and self.seats_left:
            choices.append((NEW, "Designate a new end user…"))
        self.fields["end_user"].choices = choices
        if self.end_users:
            self.fields["end_user"].initial = str(self.end_users[0].pk)
        elif user.is_enterprise:
            self.fields["end_user"].initial = NEW
        if not self.end_users and not user.is_enterprise:
            self.fields["end_user_name"].label = "End user: the person or company that will use it"
            self.fields["end_user_name"].initial = user.display_name or ""
            self.fields["end_user_name"].help_text = SOLE_END_USER_HELP

        projects = listed_projects(user, MENU_PROJECTS, self.data.get(self.add_prefix("project")))
        self.projects = {str(p.pk): p for p in projects}
        self.fields["project"].choices = [(NEW, "A new project"), *((str(p.pk), str(p)) for p in projects)]
        self.fields["project"].initial = NEW
        if not user.is_enterprise:
            del self.fields["client_name"]

    @property
    def individual_needs_name(self):
        return not self.user.is_enterprise and self.sole is None

    @property
    def offers_new_designation(self):
        return self.user.is_enterprise and self.seats_left > 0

    def clean_end_user_name(self):
        return refuse_web_address(self.cleaned_data["end_user_name"], what="The end user's name")

    def clean_end_user_role(self):
        return refuse_web_address(self.cleaned_data["end_user_role"], what="The role or company")

    def clean(self):
        data = super().clean()
        # Fields the page may not show: their errors go on top of the form, where they are seen.
        if "submission" in self._errors:
            del self._errors["submission"]
            self.add_error(None, "This form did not come from its page. Reload the page and try again.")
        project_refused = "project" in self._errors
        if project_refused and not self.projects:
            del self._errors["project"]
            self.add_error(None, "That project is not one of yours. Start a new project for this download.")
        # End user
        choice = data.get("end_user") or ""
        data["end_user_obj"], data["new_end_user"] = None, None
        if self.user.is_enterprise and choice and choice != NEW:
            data["end_user_obj"] = next(e for e in self.end_users if str(e.pk) == choice)
        elif not self.user.is_enterprise and self.sole is not None:
            typed = (data.get("end_user_name") or "").strip()
            if typed and not same_name(typed, self.sole.name):
                # A page opened before the account's first download asked for a name; that
                # download has fixed the end user since, and it cannot change.
                self.add_error(
                    None,
                    f"Your account's end user is now {self.sole.name} (set by your first download, from "
                    f"another page) and cannot change. Licences from this account are for "
                    f"{self.sole.name} only: nothing was licensed for {typed}.",
                )
            else:
                data["end_user_obj"] = self.sole
        else:
            name = (data.get("end_user_name") or "").strip()
            if self.user.is_enterprise and not self.seats_left:
                self.add_error("end_user", "Choose one of your designated end users.")
            elif not name:
                self.add_error("end_user_name", "Tell us who will use this work.")
            else:
                data["new_end_user"] = {
                    "name": name,
                    "role": data.get("end_user_role", ""),
                    "email": data.get("end_user_email", "") if self.user.is_enterprise else "",
                }
        # Project (a refused choice has its error already: no new project's fields are asked for)
        choice = data.get("project") or NEW
        data["project_obj"], data["new_project"] = None, None
        if project_refused:
            pass
        elif choice != NEW:
            data["project_obj"] = self.projects.get(choice)
            if data["project_obj"] is None:
                self.add_error("project", "Choose one of your projects.")
        else:
            if not (data.get("project_title") or "").strip():
                self.add_error("project_title", "Give the project a title, e.g. the video's name.")
            if not data.get("platform"):
                self.add_error("platform", "Choose where the project will appear.")
            data["new_project"] = {
                "title": data.get("project_title", ""),
                "platform": data.get("platform", ""),
                "url": data.get("project_url", ""),
                "client_name": data.get("client_name", ""),
            }
        if self.needs_acceptance and not data.get("accept_terms"):
            self.add_error(
                "accept_terms",
                f"Tick to accept the Music Licence Agreement (version {self.agreement.number}).",
            )
        elif self.needs_acceptance and self.data.get("agreement_shown") != str(self.agreement.pk):
            # The tick was for the version the page showed (``_accept_terms.html``); staff published
            # another since. An acceptance records the exact version read, so this one is not taken.
            self.add_error(
                "accept_terms",
                f"The Music Licence Agreement changed while this page was open. Read version "
                f"{self.agreement.number} and tick to accept it.",
            )
            # The page comes back with the box clear: the tick was for the other version.
            self.data = self.data.copy()
            self.data.pop(self.add_prefix("accept_terms"), None)
        return data


class PlaylistDownloadForm(DownloadForm):
    """Licences for the ticked tracks of a playlist, all for the same end user and project. Only the
    playlist's own tracks are choices: any other id is refused as an invalid choice."""

    tracks = OwnChoicesField(
        label="Tracks",
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick at least one track."},
    )

    def __init__(self, *args, tracks, max_tracks, **kwargs):
        super().__init__(*args, track=None, **kwargs)
        self.max_tracks = max_tracks
        self.fields["tracks"].queryset = tracks
        self.fields["tracks"].label_from_instance = lambda t: f"{t.title} · {t.artist.name}"
        self.fields["tracks"].initial = [t.pk for t in tracks[:max_tracks]]

    def clean_tracks(self):
        tracks = self.cleaned_data["tracks"]
        if len(tracks) > self.max_tracks:
            raise ValidationError(f"Tick at most {self.max_tracks} tracks at a time.")
        return tracks


class EndUserForm(forms.Form):
    name = forms.CharField(label="Name", max_length=160)
    role = forms.CharField(label="Role or company", max_length=160, required=False)
    email = forms.EmailField(
        label="Email (optional)", required=False, help_text="We send them a notice of what licences allow."
    )
    confirm = forms.BooleanField(
        label="I designate this person or company in writing as an end user of this account.",
        error_messages={"required": "Tick to confirm the designation."},
    )

    def clean_name(self):
        return refuse_web_address(self.cleaned_data["name"], what="The name")

    def clean_role(self):
        return refuse_web_address(self.cleaned_data["role"], what="The role or company")


FILTER_PROJECTS = 200  # the licences filter's project menu lists the most recent


class LicenseFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *License.Status.choices]
    )
    platform = forms.ChoiceField(
        label="Platform", required=False, choices=[("", "Any platform"), *Platform.choices]
    )
    end_user = forms.ChoiceField(
        label="End user", required=False, error_messages={"invalid_choice": "not one of your end users."}
    )
    project = forms.ChoiceField(
        label="Project", required=False, error_messages={"invalid_choice": "not one of your projects."}
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["end_user"].choices = [
            ("", "Anyone"),
            *((str(e.pk), e.name) for e in EndUser.objects.for_account(user)),
        ]
        self.fields["project"].choices = [
            ("", "Any project"),
            *((str(p.pk), p.title) for p in listed_projects(user, FILTER_PROJECTS, self.data.get("project"))),
        ]

    def apply(self, qs):
        """The licences matching the filters; none when a filter is not valid (a stale or edited link
        says so rather than showing every licence as a match)."""
        if not self.is_bound:
            return qs
        if not self.is_valid():
            return qs.none()
        d = self.cleaned_data
        if d["q"]:
            from django.db.models import Q

            q = d["q"].strip()
            qs = qs.filter(
                Q(code__iexact=q)
                | Q(code__icontains=q)
                | Q(track__title__icontains=q)
                | Q(track__artist__name__icontains=q)
                | Q(project__title__icontains=q)
                | Q(end_user__name__icontains=q)
            )
        if d["status"]:
            qs = qs.filter(status=d["status"])
        if d["platform"]:
            qs = qs.filter(project__platform=d["platform"])
        if d["end_user"]:
            qs = qs.filter(end_user_id=d["end_user"])
        if d["project"]:
            qs = qs.filter(project_id=d["project"])
        return qs
