"""The staff site's shared pieces: the read-only admin for proof records, the confirmation page
of staff actions, links between admin pages, the audit log, and the order of the staff menu."""

from collections import defaultdict
from contextlib import suppress
from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_permission_codename
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from .audit import action_label, detail_label, record
from .errors import UserFacingError
from .models import AuditLog

# --- links between admin pages ------------------------------------------------------------


def admin_change_url(obj):
    """The staff site's page of ``obj``, or None when the staff site has none."""
    if obj is None or obj.pk is None or not admin.site.is_registered(type(obj)):
        return None
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def changelist_url(model, **params):
    """The staff site's list of ``model`` (a class or "app.model"), filtered by ``params``."""
    if isinstance(model, str):
        model = apps.get_model(model)
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(params, safe=',:')}" if params else url


def link_to(obj, text=None):
    """``obj`` as a link to its admin page when it has one, else as text."""
    if obj is None:
        return "—"
    url = admin_change_url(obj)
    return format_html('<a href="{}">{}</a>', url, text or obj) if url else str(text or obj)


def record_filter(field, title):
    """A list filter on the ``field`` foreign key, shown only while in use: a record's page links
    to its related records through it (``<field>__id__exact``), and the list then names the record
    it is filtered by and offers to show them all (``account_filter`` does the same for accounts)."""

    class RecordFilter(admin.SimpleListFilter):
        parameter_name = f"{field}__id__exact"

        def lookups(self, request, model_admin):
            value = self.value()
            if not value:
                return []
            related = model_admin.model._meta.get_field(field).related_model
            found = related._default_manager.filter(pk=value).first() if value.isdigit() else None
            return [(value, str(found) if found else f"{title.capitalize()} {value} (no longer exists)")]

        def queryset(self, request, queryset):
            value = self.value()
            if not value:
                return queryset
            if not value.isdigit():
                return queryset.none()
            return queryset.filter(**{f"{field}_id": int(value)})

    RecordFilter.title = title
    return RecordFilter


def related_link(model, field, obj, text):
    """ "<text> (<count>)" linking to ``model``'s list filtered to the rows whose ``field`` is ``obj``."""
    count = model._default_manager.filter(**{field: obj}).count()
    return format_html(
        '<a href="{}">{} ({})</a>', changelist_url(model, **{f"{field}__id__exact": obj.pk}), text, count
    )


class PageActionsMixin:
    """A record's page offers some of its list's actions as buttons among its tools.

    ``page_actions`` lists (action name, button text, serious); ``page_action_offered(obj, name)``
    says whether the action applies to the record as it is now. A button posts the action for this
    one record: actions built on ``confirm_action`` ask for their details and come back here."""

    change_form_template = "admin/change_form_with_actions.html"
    page_actions = ()

    def page_action_offered(self, obj, name):
        return True

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        allowed = self.get_actions(request) if obj is not None else {}
        tools = [
            {"action": name, "label": label, "serious": serious}
            for name, label, serious in self.page_actions
            if name in allowed and self.page_action_offered(obj, name)
        ]
        extra_context = {**(extra_context or {}), "page_actions": tools}
        return super().change_view(request, object_id, form_url, extra_context)


def account_filter(field):
    """``record_filter`` on the ``field`` foreign key to the account: an account's page links to its
    records elsewhere through it."""
    return record_filter(field, "account")


class ResolvedFilter(admin.SimpleListFilter):
    """Open or resolved, for records that staff close (``resolved_at``)."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("resolved", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


# --- proof records ----------------------------------------------------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records kept as proof (acceptances, payments, requests, webhooks): staff see and search
    them, and change them only through admin actions that call a service. Nothing is added,
    edited or deleted here. ``extra_readonly`` names display methods shown on the record's page.

    Such actions declare ``permissions=["act"]``: they need the model's change permission, which
    the staff member's groups grant even though the page itself stays read-only."""

    extra_readonly = ()

    def has_act_permission(self, request):
        codename = get_permission_codename("change", self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        hidden = set(self.exclude or ())
        fields = [f.name for f in self.model._meta.fields if f.name not in hidden]
        return [*fields, *self.extra_readonly]


# --- edits on a record's page ---------------------------------------------------------------


def _shown_value(obj, name, value):
    """A field's value as the audit log keeps it: its choice label, else plain text."""
    try:
        field = obj._meta.get_field(name)
    except FieldDoesNotExist:
        return str(value)
    if value in (None, ""):
        return ""
    if getattr(field, "choices", None):
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, (bool, int)):
        return value
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def edited_values(obj, form, hidden=()):
    """(before, after) of the plain fields ``form`` changed on ``obj`` (saved), by field name.
    Relations and ``hidden`` fields are named in the changed fields only, without their values."""
    before, after = {}, {}
    for name in form.changed_data:
        try:
            field = obj._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if name in hidden or field.is_relation:
            continue
        before[name] = _shown_value(obj, name, form.initial.get(name))
        after[name] = _shown_value(obj, name, getattr(obj, field.attname))
    return before, after


class AuditLogMixin:
    """A record's page shows its latest audit entries (``history``, with a link to all of them):
    name it among the page's read-only fields."""

    @admin.display(description="Audit log")
    def history(self, obj):
        return audit_table(obj)


class AuditedEditsMixin:
    """Edits saved on a record's page go to the audit log with what each changed field was and
    became. ``edit_audit_action`` is the code of an edit, ``add_audit_action`` of a record added
    here (empty: not audited); ``audit_values_hidden`` names fields whose values stay out of the log
    (only that they changed is kept)."""

    edit_audit_action = ""
    add_audit_action = ""
    audit_values_hidden = ("password",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and form.changed_data and self.edit_audit_action:
            before, after = edited_values(obj, form, self.audit_values_hidden)
            details = {"fields": sorted(form.changed_data)}
            if before:
                details.update(old=before, new=after)
            record(self.edit_audit_action, actor=request.user, target=obj, request=request, **details)
        elif not change and self.add_audit_action:
            record(self.add_audit_action, actor=request.user, target=obj, request=request)


class AuditedDeletesMixin:
    """Records deleted on their page or from the list go to the audit log first (``delete_audit_action``),
    by name: the row stays readable after the record is gone."""

    delete_audit_action = ""

    def delete_model(self, request, obj):
        if self.delete_audit_action:
            record(self.delete_audit_action, actor=request.user, target=obj, request=request)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        if self.delete_audit_action:
            for obj in queryset:
                record(self.delete_audit_action, actor=request.user, target=obj, request=request)
        super().delete_queryset(request, queryset)


class ChangedMeanwhileFormMixin(forms.Form):
    """A change page's form that refuses to save over a change made since the page was opened
    (another tab, another staff member, a list action such as Unpublish): saving the stale page would
    silently undo it. The page carries the record's ``updated_at`` as it was loaded (the hidden
    ``loaded`` field: put it in the admin's first fieldset); the check reads the row locked, inside
    the admin's transaction."""

    loaded = forms.CharField(widget=forms.HiddenInput, required=False)
    changed_meanwhile_noun = "record"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["loaded"].initial = self.instance.updated_at.isoformat()

    def clean(self):
        data = super().clean()
        if self.instance.pk is None:
            return data
        model = type(self.instance)
        now = (
            model.objects.select_for_update().filter(pk=self.instance.pk).values_list("updated_at", flat=True)
        )
        current = now.first()
        if (
            current is not None
            and self.data.get(self.add_prefix("loaded")) != current.isoformat()
            and self._would_overwrite()
        ):
            when = timezone.localtime(current)
            raise ValidationError(
                f"This {self.changed_meanwhile_noun} was changed at {when:%H:%M:%S} ({when:%-d %b}), after "
                "you opened this page. Saving it now would undo that change: reload the page, then make "
                "your change again.",
                code="changed_meanwhile",
            )
        return data

    def _would_overwrite(self):
        """Whether the page sends a value other than the record holds now: a page sent twice (a
        double-clicked Save), or one whose fields all still match, undoes nothing and is saved."""
        now = type(self)(instance=type(self.instance).objects.get(pk=self.instance.pk), prefix=self.prefix)
        return any(
            field.has_changed(now[name].initial, self[name].data)
            for name, field in self.fields.items()
            if name != "loaded" and not field.disabled
        )


class GoneRowsFormSet(forms.BaseInlineFormSet):
    """An inline whose rows someone deleted after the page was opened says so at its top: Django
    marks only the row's hidden id as invalid, and the page showed "Please correct the error
    below" with nothing marked."""

    gone_rows_message = (
        "A row of this list was deleted after you opened this page: reload the page, then make your "
        "change again."
    )

    def clean(self):
        super().clean()
        pk_name = self.model._meta.pk.name
        # A row ticked for deletion that is gone already (a double click, two tabs) is no loss.
        if any(pk_name in form.errors for form in self.initial_forms if not self._should_delete_form(form)):
            raise ValidationError(self.gone_rows_message, code="gone_rows")


def note_form(label, help_text, *, name="reason", required=True):
    """The form of a confirmation page that asks for one piece of text (a reason, a note)."""
    field = forms.CharField(
        label=label,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        required=required,
        help_text=help_text,
    )
    return type(f"{name.capitalize()}Form", (forms.Form,), {name: field})


# --- the confirmation page of a staff action ------------------------------------------------


def reloaded(obj):
    """``obj`` read again from the database, as an action left it, with the related records it
    had loaded (in the same query); as it was when the action removed it."""
    loaded = [f.name for f in obj._meta.concrete_fields if f.is_relation and f.is_cached(obj)]
    rows = type(obj)._base_manager
    with suppress(ObjectDoesNotExist):
        obj.refresh_from_db(from_queryset=rows.select_related(*loaded) if loaded else rows.all())
    return obj


def confirm_action(
    modeladmin,
    request,
    queryset,
    *,
    title,
    submit,
    form_class,
    apply,
    consequences,
    skip=None,
    describe=None,
    done="Done",
    after=None,
    report=None,
):
    """An admin action that first shows who is affected and what happens, then asks for its
    details (a reason, an end date) and applies them one object at a time.

    ``apply(obj, data)`` calls the service. ``skip(obj, data)`` returns why the action would
    change nothing for ``obj`` ("already suspended"), or "": such objects are left alone, not
    audited, and reported; ``data`` is None while the page is first shown. ``describe(obj)`` is
    the object's state now, for the table; ``after`` what the table says each becomes (default
    ``done``, which also heads the message of what was changed). The message names each object as
    the action left it (read again from the database); ``report(obj, result)``, given ``apply``'s
    result, says instead in a sentence what was done to one object ("Published … in force from …"),
    and the message is those sentences. The change page's action buttons post here too, with
    ``_return_to=change`` so that the staff member lands back on the object.
    """
    opts = modeladmin.model._meta
    objects = list(queryset)
    applying = "apply" in request.POST
    form = form_class(request.POST if applying else None)
    back_to_object = request.POST.get("_return_to") == "change" and len(objects) == 1
    return_url = admin_change_url(objects[0]) if back_to_object else None
    if applying and form.is_valid():
        changed, skipped = [], []
        for obj in objects:
            why = skip(obj, form.cleaned_data) if skip else ""
            if why:
                skipped.append(f"{obj} ({why})")
                continue
            try:
                result = apply(obj, form.cleaned_data)
            except UserFacingError as exc:
                modeladmin.message_user(request, f"{obj}: {exc}", messages.ERROR)
            else:
                obj = reloaded(obj)
                changed.append(report(obj, result) if report else str(obj))
        if changed and report:
            modeladmin.message_user(request, " ".join(changed), messages.SUCCESS)
        elif changed:
            modeladmin.message_user(request, f"{done}: {', '.join(changed)}.", messages.SUCCESS)
        if skipped:
            modeladmin.message_user(
                request, f"Nothing to do, left as they were: {'; '.join(skipped)}.", messages.WARNING
            )
        return HttpResponseRedirect(return_url) if return_url else None
    rows = [
        {
            "obj": obj,
            "url": admin_change_url(obj),
            "now": describe(obj) if describe else "",
            "skip": skip(obj, None) if skip else "",
        }
        for obj in objects
    ]
    to_change = sum(1 for row in rows if not row["skip"])
    noun = opts.verbose_name if to_change == 1 else opts.verbose_name_plural
    return TemplateResponse(
        request,
        "admin/confirm_action.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "opts": opts,
            "consequences": consequences,
            "rows": rows,
            "done": after or done,
            "show_state": describe is not None,
            "form": form,
            "media": modeladmin.media + form.media,
            "action": request.POST.get("action", ""),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "submit_label": f"{submit} {to_change} {noun}" if to_change else submit,
            "nothing_to_do": not to_change,
            "return_to": "change" if back_to_object else "",
            "cancel_url": return_url or changelist_url(modeladmin.model),
            "return_object": objects[0] if back_to_object else None,
            "return_url": return_url,
        },
    )


# --- the audit log --------------------------------------------------------------------------


def _registered_model(label):
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return None
    return model if admin.site.is_registered(model) else None


def attach_target_urls(entries):
    """Set ``target_url`` on each entry: its record's admin page, when the record still exists.
    One query per kind of record on the page."""
    ids_by_type = defaultdict(set)
    for entry in entries:
        if entry.target_type and entry.target_id:
            ids_by_type[entry.target_type].add(entry.target_id)
    existing = {}
    for label, ids in ids_by_type.items():
        model = _registered_model(label)
        if model is None:
            continue
        try:
            found = model._default_manager.filter(pk__in=ids).values_list("pk", flat=True)
            existing[label] = (model._meta, {str(pk) for pk in found})
        except (ValueError, TypeError, ValidationError):
            continue
    for entry in entries:
        opts, found = existing.get(entry.target_type, (None, ()))
        entry.target_url = (
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[entry.target_id])
            if entry.target_id in found
            else None
        )
    return entries


# Entries about many records at once keep their ids in the details (a bulk publish of tracks).
BULK_TARGETS = {"track_ids": ("catalog.track", "track", "tracks")}
BULK_LINK_LIMIT = 300  # ids in one link; more are listed in the entry's details only


def _bulk_target(entry):
    for key, (label, singular, plural) in BULK_TARGETS.items():
        ids = (entry.data or {}).get(key)
        if not isinstance(ids, list):
            continue
        text = f"{len(ids)} {singular if len(ids) == 1 else plural}"
        if not ids:
            return text
        if _registered_model(label) is None or len(ids) > BULK_LINK_LIMIT:
            return text
        url = changelist_url(label, id__in=",".join(str(pk) for pk in ids))
        return format_html('<a href="{}">{}</a>', url, text)
    return None


def audit_target(entry):
    """What an entry is about, linked to its record's admin page when there is one."""
    url = getattr(entry, "target_url", None)
    if url:
        return format_html('<a href="{}">{}</a>', url, entry.target_repr or entry.target_id)
    if entry.target_repr:
        return entry.target_repr
    return _bulk_target(entry) or "—"


def _field_label(target_type, name):
    model = _registered_model(target_type) if target_type else None
    if model is not None:
        try:
            return str(model._meta.get_field(name).verbose_name).capitalize()
        except FieldDoesNotExist:
            pass
    return name.replace("_", " ").capitalize()


# How an account became an enterprise, in the staff's words (stored as "purchase"/"verification":
# a business plan, bought or granted by staff, or an application staff approved).
ENTERPRISE_SOURCES = {"purchase": "a business plan", "verification": "an application staff approved"}


def _detail_value(entry, key, value):
    if entry.action == "accounts.enterprise_marked" and key == "source":
        return ENTERPRISE_SOURCES.get(value, value)
    if key == "fields" and isinstance(value, list):
        return ", ".join(_field_label(entry.target_type, name) for name in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return "—"
    if isinstance(value, dict):  # field name -> value (an edit's before and after)
        pairs = ((_field_label(entry.target_type, k), _detail_value(entry, k, v)) for k, v in value.items())
        return "; ".join(f"{label}: {shown}" for label, shown in pairs)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def audit_details(entry):
    """An entry's details as a two-column table with plain labels."""
    data = entry.data or {}
    if not data:
        return "—"
    return format_html(
        '<table class="staff-details">{}</table>',
        format_html_join(
            "",
            '<tr><th scope="row">{}</th><td>{}</td></tr>',
            ((detail_label(key), _detail_value(entry, key, value)) for key, value in data.items()),
        ),
    )


AUDIT_TABLE_LIMIT = 20


def audit_log_url(obj):
    """The audit log filtered to the entries about ``obj``."""
    return changelist_url(AuditLog, about=f"{obj._meta.label_lower}:{obj.pk}")


def audit_table(obj):
    """The latest audit entries about ``obj`` for its change page, with a link to all of them."""
    if obj is None or obj.pk is None:
        return "—"
    about = AuditLog.objects.for_object(obj)
    entries = list(about.select_related("actor")[:AUDIT_TABLE_LIMIT])
    if not entries:
        return "No audited actions yet."
    url = audit_log_url(obj)
    total = len(entries) if len(entries) < AUDIT_TABLE_LIMIT else about.count()
    more = f"All {total} entries in the audit log" if total > len(entries) else "Open in the audit log"
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                f"{timezone.localtime(e.created_at):%d %b %Y %H:%M}",
                link_to(e.actor) if e.actor else "System",
                action_label(e.action),
                e.reason or "—",
            )
            for e in entries
        ),
    )
    return format_html(
        '<div class="staff-scroll"><table class="staff-audit">'
        '<thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th>'
        '<th scope="col">Reason or notes</th></tr></thead><tbody>{}</tbody></table></div>'
        '<p><a href="{}">{}</a></p>',
        rows,
        url,
        more,
    )


class ActionFilter(admin.SimpleListFilter):
    title = "what happened"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        codes = model_admin.get_queryset(request).order_by().values_list("action", flat=True).distinct()
        return sorted(((code, action_label(code)) for code in codes), key=lambda pair: pair[1])

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


class RecordTypeFilter(admin.SimpleListFilter):
    title = "kind of record"
    parameter_name = "target_type"

    def lookups(self, request, model_admin):
        labels = (
            model_admin.get_queryset(request)
            .exclude(target_type="")
            .order_by()
            .values_list("target_type", flat=True)
            .distinct()
        )
        return sorted(((label, _type_name(label)) for label in labels), key=lambda pair: pair[1])

    def queryset(self, request, queryset):
        return queryset.filter(target_type=self.value()) if self.value() else queryset


def _type_name(label):
    try:
        return str(apps.get_model(label)._meta.verbose_name_plural).capitalize()
    except (LookupError, ValueError):
        return label


class ActorFilter(admin.SimpleListFilter):
    title = "who"
    parameter_name = "who"

    def lookups(self, request, model_admin):
        return [("staff", "Staff"), ("member", "Members"), ("system", "The system (tasks, webhooks)")]

    def queryset(self, request, queryset):
        if self.value() == "staff":
            return queryset.filter(actor__is_staff=True)
        if self.value() == "member":
            return queryset.filter(actor__is_staff=False)
        if self.value() == "system":
            return queryset.filter(actor__isnull=True)
        return queryset


class AboutFilter(admin.SimpleListFilter):
    """The entries about one record ("accounts.user:12"), shown only while in use: a record's
    page links to its entries through it."""

    title = "about"
    parameter_name = "about"

    def _target(self):
        target_type, _, target_id = (self.value() or "").partition(":")
        # A staff view of a model (a proxy) links here too: its entries are kept under the model's name.
        with suppress(LookupError, ValueError):
            target_type = apps.get_model(target_type)._meta.concrete_model._meta.label_lower
        return target_type, target_id

    def lookups(self, request, model_admin):
        if not self.value():
            return []
        target_type, target_id = self._target()
        named = (
            AuditLog.objects.filter(target_type=target_type, target_id=target_id)
            .exclude(target_repr="")
            .values_list("target_repr", flat=True)
            .first()
        )
        return [(self.value(), named or self.value())]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        target_type, target_id = self._target()
        return queryset.filter(target_type=target_type, target_id=target_id)


class AuditLogChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        self.result_list = attach_target_urls(list(self.result_list))


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["when", "who", "what", "about"]
    # Dates: the date bar above the list. "About" and the account appear when a record's page links here.
    list_filter = [ActionFilter, ActorFilter, RecordTypeFilter, AboutFilter, account_filter("actor")]
    search_fields = ["action", "target_repr", "target_id", "reason", "actor__email"]
    list_select_related = ["actor"]
    date_hierarchy = "created_at"
    fields = ["created_at", "who", "what_happened", "action", "about", "reason", "details", "ip"]
    readonly_fields = fields

    def get_changelist(self, request, **kwargs):
        return AuditLogChangeList

    def get_object(self, request, object_id, from_field=None):
        entry = super().get_object(request, object_id, from_field)
        return attach_target_urls([entry])[0] if entry is not None else None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="When", ordering="created_at")
    def when(self, entry):
        return f"{timezone.localtime(entry.created_at):%-d %b %Y %H:%M}"

    @admin.display(description="Who", ordering="actor__email")
    def who(self, entry):
        return link_to(entry.actor) if entry.actor_id else "System"

    @admin.display(description="What happened", ordering="action")
    def what(self, entry):
        # In the list the reason goes under what happened: one column fewer to scroll to.
        if not entry.reason:
            return action_label(entry.action)
        reason = Truncator(entry.reason).chars(90)
        return format_html('{}<br><span class="staff-note">{}</span>', action_label(entry.action), reason)

    @admin.display(description="What happened")
    def what_happened(self, entry):
        return action_label(entry.action)

    @admin.display(description="About")
    def about(self, entry):
        return audit_target(entry)

    @admin.display(description="Details")
    def details(self, entry):
        return audit_details(entry)


# --- the staff menu -------------------------------------------------------------------------
# Day-to-day work first, in the order staff reach for it; then the sign-in machinery and the
# site's set-up, which come from allauth and Django and are rarely opened.
DAY_TO_DAY = ["accounts", "catalog", "billing", "licensing", "legal", "allmytracks"]
TECHNICAL_GROUPS = [
    (
        "signin",
        "Sign-in and security",
        [
            ("account", "EmailAddress", "Email addresses"),
            ("mfa", "Authenticator", "Two-factor authenticators"),
            ("usersessions", "UserSession", "Signed-in sessions"),
            ("socialaccount", "SocialAccount", "Google and Apple sign-ins"),
            ("socialaccount", "SocialApp", "Google and Apple sign-in set-up"),
            ("socialaccount", "SocialToken", "Google and Apple sign-in tokens"),
        ],
    ),
    (
        "setup",
        "Site set-up",
        [
            ("auth", "Group", "Staff permission groups"),
            ("sites", "Site", "Site domain"),
            ("redirects", "Redirect", "Redirects of old addresses"),
        ],
    ),
]
# Within a day-to-day section, these come first (the rest follow alphabetically).
FIRST_IN_SECTION = {"accounts": ["User", "EnterpriseApplication", "CancellationRequest", "CompromiseReport"]}


def arrange_staff_menu(app_list):
    """Order the staff site's sections and gather the technical ones under plain names."""
    by_label = {app["app_label"]: app for app in app_list}
    arranged = []
    for label in DAY_TO_DAY:
        app = by_label.pop(label, None)
        if app is None:
            continue
        first = FIRST_IN_SECTION.get(label, [])
        rank = {name: position for position, name in enumerate(first)}
        app["models"].sort(key=lambda m: (rank.get(m["object_name"], len(first)), m["name"]))
        arranged.append(app)
    groups = []
    for group_label, name, members in TECHNICAL_GROUPS:
        models = []
        for app_label, object_name, model_name in members:
            app = by_label.get(app_label)
            found = [m for m in (app["models"] if app else []) if m["object_name"] == object_name]
            for model in found:
                app["models"].remove(model)
                models.append({**model, "name": model_name})
        if models:
            # A gathered section has no page of its own: templates/admin/app_list.html shows
            # its name without a link.
            groups.append({"name": name, "app_label": group_label, "app_url": None, "models": models})
    # Sections no one placed yet (a new app) stay visible between the two.
    leftovers = [app for app in by_label.values() if app["models"]]
    return arranged + sorted(leftovers, key=lambda app: str(app["name"]).lower()) + groups


def _staff_app_list(get_app_list):
    def get_staff_app_list(request, app_label=None):
        app_list = get_app_list(request, app_label)
        # One section's own page (/admin/<app>/) keeps Django's layout; the menu is arranged.
        return app_list if app_label else arrange_staff_menu(app_list)

    return get_staff_app_list


# The staff site is Django's default site; its sign-in is set up in accounts/admin.py.
admin.site.get_app_list = _staff_app_list(admin.site.get_app_list)


# --- forged selections ------------------------------------------------------------------------


def _checked_selection(view, model):
    """``view`` (a list page) refusing an action whose selected ids are not ids of ``model``:
    Django hands them to the database as they come, and a forged one ("abc") is a server error."""

    @wraps(view)
    def checked(request, *args, **kwargs):
        if request.method == "POST":
            try:
                for value in request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME):
                    model._meta.pk.to_python(value)
            except ValidationError:
                messages.error(request, "The selection was not understood: nothing was changed.")
                return HttpResponseRedirect(request.get_full_path())
        return view(request, *args, **kwargs)

    return checked


def _selection_checking(admin_view):
    def staff_admin_view(view, cacheable=False):
        model_admin = getattr(view, "__self__", None)
        if isinstance(model_admin, admin.ModelAdmin) and view.__name__ == "changelist_view":
            view = _checked_selection(view, model_admin.model)
        return admin_view(view, cacheable)

    return staff_admin_view


admin.site.admin_view = _selection_checking(admin.site.admin_view)


# --- what waits for staff, on the staff site's front page ---------------------------------------
# Each app names its records that wait for a person (``waiting_for_staff`` in its admin.py): the
# front page lists them with their counts, each a link to the list filtered to them, for the staff
# member allowed to see that list.

_WAITING = []


def waiting_for_staff(text, model, *, params, **filters):
    """``text`` ("Enterprise applications to decide") counts ``model`` rows matching ``filters``;
    its link opens the model's list with ``params`` (its own list filters, so they show as chosen)."""
    _WAITING.append((text, model, params, filters))


def waiting_items(request):
    items = []
    for text, model, params, filters in _WAITING:
        model_admin = admin.site._registry.get(model)
        if model_admin is None or not model_admin.has_view_permission(request):
            continue
        count = model._default_manager.filter(**filters).count()
        items.append({"text": text, "count": count, "url": changelist_url(model, **params)})
    return items


def _index_with_waiting(index):
    @wraps(index)
    def staff_index(request, extra_context=None):
        return index(request, {"waiting": waiting_items(request), **(extra_context or {})})

    return staff_index


admin.site.index = _index_with_waiting(admin.site.index)
