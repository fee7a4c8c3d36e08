"""Staff site for billing: plans (editable), the Stripe mirrors (read-only), complimentary
memberships and extra seats (through services, audited), and staff tasks."""

import re
from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.contrib.auth import get_user_model
from django.http import HttpResponseRedirect
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from allmytracks.admin import (
    AuditedEditsMixin,
    AuditLogMixin,
    PageActionsMixin,
    ReadOnlyAdmin,
    ResolvedFilter,
    account_filter,
    admin_change_url,
    audit_table,
    confirm_action,
    link_to,
    note_form,
    record_filter,
    related_link,
    waiting_for_staff,
)

from . import services, stripe_client
from .models import (
    TERMINAL,
    BillingAccount,
    Checkout,
    ComplimentaryMembership,
    Invoice,
    MembershipUsage,
    Plan,
    Source,
    StaffTask,
    StripeEvent,
    Subscription,
    TrackCredit,
)
from .money import format_money


def day(moment):
    return f"{timezone.localtime(moment):%-d %b %Y}" if moment else "—"


# Links other apps add to the page of a billing record: licensing adds the licences a membership or a
# purchase paid for. Billing itself has no path to licences; ``link(obj)`` returns HTML or "".
RECORD_LINKS = defaultdict(list)


def links_from_other_apps(obj):
    model = type(obj)._meta.concrete_model
    links = [html for html in (link(obj) for link in RECORD_LINKS[model]) if html]
    if not links:
        return "—"
    return format_html_join(mark_safe("<br>"), "{}", ((html,) for html in links))


STRIPE_PRICE_ID = re.compile(r"price_[A-Za-z0-9_]{1,90}")


class PlanForm(forms.ModelForm):
    """A plan sold online must cost at Stripe what the pricing page says: a new or changed price,
    currency, billing period or Stripe price id is checked against the Stripe price before saving.
    Without a Stripe key nothing can be bought online, so the plan saves unchecked (and says so)."""

    PRICED = ("stripe_price_id", "price_cents", "currency", "interval")

    class Meta:
        model = Plan
        fields = [
            "slug",
            "family",
            "name",
            "tagline",
            "interval",
            "price_cents",
            "currency",
            "stripe_price_id",
            "licences_per_period",
            "fair_use_ceiling",
            "includes_sfx",
            "default_seats",
            "is_business",
            "highlight",
            "features",
            "sort_order",
            "active",
        ]

    def clean(self):
        cleaned = super().clean()
        self.checked_at_stripe = None

        def value(name):  # the list page's form has the "active" box alone
            return cleaned.get(name) if name in self.fields else getattr(self.instance, name)

        price_id = (value("stripe_price_id") or "").strip()
        if price_id and not STRIPE_PRICE_ID.fullmatch(price_id):
            self.add_error(
                "stripe_price_id",
                "A Stripe price id looks like price_1PqR2sT3uV4wX5yZ (from Stripe's dashboard).",
            )
            return cleaned
        if "stripe_price_id" in self.fields:
            cleaned["stripe_price_id"] = price_id
        # Checked when what is charged changes, and when a plan is switched on (its Stripe price may
        # have been archived, or never checked, while the plan was off).
        switched_on = "active" in self.changed_data and value("active")
        changed = (
            self.instance.pk is None or switched_on or any(name in self.changed_data for name in self.PRICED)
        )
        if not price_id or not changed or self.errors:
            return cleaned
        try:
            problems = services.stripe_price_problems(
                price_id=price_id,
                price_cents=value("price_cents"),
                currency=value("currency"),
                interval=value("interval"),
            )
        except stripe_client.PaymentsNotConfigured:
            self.checked_at_stripe = False
            return cleaned
        except stripe_client.StripeError as exc:
            raise forms.ValidationError(
                "Stripe could not be asked about this price (%(error)s). Nothing was saved; try again.",
                params={"error": getattr(exc, "user_message", None) or exc.__class__.__name__},
            ) from exc
        for field, message in problems:
            self.add_error(field if field in self.fields else None, message)
        self.checked_at_stripe = True
        return cleaned


@admin.register(Plan)
class PlanAdmin(AuditedEditsMixin, admin.ModelAdmin):
    form = PlanForm
    edit_audit_action = "billing.plan_changed"
    add_audit_action = "billing.plan_added"
    # Narrow columns, so the list fits beside the menu and the filters: the slug, the Stripe price
    # id and the order are on each plan's page; the list says whether the plan is sold online.
    list_display = [
        "plan",
        "price",
        "licences",
        "sound_effects",
        "business",
        "sold_online",
        "active",
    ]
    list_display_links = ["plan"]
    list_editable = ["active"]  # the order on the pricing page is set on each plan's page
    list_filter = ["active", "interval", "is_business", "includes_sfx"]
    search_fields = ["name", "slug", "stripe_price_id"]
    prepopulated_fields = {"slug": ["name", "interval"]}

    def has_delete_permission(self, request, obj=None):
        return False  # plans are switched off (active), never deleted: subscriptions point at them

    def get_changelist_form(self, request, **kwargs):
        # Switching a plan on from the list is checked against Stripe like its page.
        return super().get_changelist_form(request, **{"form": PlanForm, **kwargs})

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if getattr(form, "checked_at_stripe", None) is False:
            self.message_user(
                request,
                "The price was not checked against Stripe: no Stripe key is set on this site.",
                messages.WARNING,
            )

    @admin.display(description="Plan", ordering="name")
    def plan(self, obj):
        return str(obj)

    @admin.display(description="Price", ordering="price_cents")
    def price(self, obj):
        return obj.price_display

    @admin.display(description="Licences")
    def licences(self, obj):
        return obj.allowance_display

    @admin.display(description="Sound effects", boolean=True, ordering="includes_sfx")
    def sound_effects(self, obj):
        return obj.includes_sfx

    @admin.display(description="Business", boolean=True, ordering="is_business")
    def business(self, obj):
        return obj.is_business

    @admin.display(description="Sold online", boolean=True, ordering="stripe_price_id")
    def sold_online(self, obj):
        """A Stripe price is set: the plan can be bought on the site."""
        return bool(obj.stripe_price_id)


# --- memberships ------------------------------------------------------------------------------


class UsageInline(admin.TabularInline):
    model = MembershipUsage
    extra = 0
    can_delete = False
    readonly_fields = ["period_start", "period_end", "allowance", "used"]

    def has_add_permission(self, request, obj=None):
        return False


EndReasonForm = note_form("Reason", "Kept in the audit log.")


def _not_endable(sub, data=None):
    if sub.source != Source.COMPLIMENTARY:
        return "paid: it ends in Stripe"
    if sub.status in TERMINAL:
        return "already ended"
    return ""


def end_complimentary(modeladmin, request, queryset):
    """The confirmation page, then the end, of complimentary memberships (two lists offer it)."""
    return confirm_action(
        modeladmin,
        request,
        queryset.select_related("user", "plan"),
        title="End complimentary memberships",
        submit="End",
        done="Ended",
        form_class=EndReasonForm,
        consequences=[
            "The membership ends now: no new licences from it. Licences already taken stay valid.",
            "The member is emailed that the membership ended.",
            "Paid memberships are not ended here: they end in Stripe.",
        ],
        describe=lambda sub: f"{sub.get_source_display()}, {sub.get_status_display().lower()}",
        skip=_not_endable,
        apply=lambda sub, data: services.end_complimentary_membership(
            subscription=sub, actor=request.user, reason=data["reason"], request=request
        ),
    )


def membership_state(sub):
    """The status, and what happens next, in words."""
    if sub.ended_at and sub.is_ended:
        return f"{sub.get_status_display()} {day(sub.ended_at)}"
    if sub.cancel_at_period_end and not sub.is_ended:
        return format_html(
            '{}<br><span class="staff-note">ends {}</span>',
            sub.get_status_display(),
            day(sub.cancel_at or sub.current_period_end),
        )
    return sub.get_status_display()


@admin.register(Subscription)
class SubscriptionAdmin(AuditLogMixin, PageActionsMixin, ReadOnlyAdmin):
    list_display = ["account", "membership", "state", "period_end"]
    list_filter = ["status", "source", "plan", account_filter("user")]
    search_fields = ["user__email", "stripe_subscription_id", "stripe_customer_id", "plan__name"]
    list_select_related = ["user", "plan"]
    inlines = [UsageInline]
    actions = ["end_complimentary"]
    page_actions = [("end_complimentary", "End now", True)]
    extra_readonly = ["account", "state", "elsewhere", "invoice_list", "history"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (
                None,
                {
                    "fields": [
                        "account",
                        "plan",
                        "source",
                        "state",
                        "quantity",
                        "started_at",
                        "current_period_start",
                        "current_period_end",
                        "cancel_at_period_end",
                        "trial_end",
                        "ended_at",
                    ]
                },
            )
        ]
        if obj is not None and obj.is_complimentary:
            fieldsets.append(("Granted by staff", {"fields": ["granted_by", "grant_reason"]}))
        else:
            fieldsets.append(
                ("Stripe", {"fields": ["stripe_subscription_id", "stripe_customer_id", "stripe_updated_at"]})
            )
        fieldsets += [
            ("Invoices and licences", {"fields": ["invoice_list", "elsewhere"]}),
            ("Audit log", {"fields": ["history"]}),
        ]
        return fieldsets

    def page_action_offered(self, obj, name):
        return not _not_endable(obj)

    @admin.display(description="Account", ordering="user__email")
    def account(self, obj):
        return link_to(obj.user)

    @admin.display(description="Membership", ordering="plan__name")
    def membership(self, obj):
        source = "Complimentary" if obj.is_complimentary else "Paid through Stripe"
        seats = f", {obj.quantity} seats" if obj.quantity > 1 else ""
        return format_html('{}<br><span class="staff-note">{}{}</span>', obj.plan, source, seats)

    @admin.display(description="Status", ordering="status")
    def state(self, obj):
        return membership_state(obj)

    @admin.display(description="Current period ends", ordering="current_period_end")
    def period_end(self, obj):
        return day(obj.current_period_end)

    @admin.display(description="Licences")
    def elsewhere(self, obj):
        return links_from_other_apps(obj)

    @admin.display(description="Invoices")
    def invoice_list(self, obj):
        if obj.is_complimentary:
            return "None: complimentary memberships are not invoiced."
        return related_link(Invoice, "subscription", obj, "Invoices of this membership")

    @admin.action(description="End the selected complimentary memberships now", permissions=["act"])
    def end_complimentary(self, request, queryset):
        return end_complimentary(self, request, queryset)


class AccountEmailMixin:
    """A staff form's ``account_email`` field names an existing account, in any case: cleaned to the
    address in lower case, with the account in ``cleaned_data["user"]``. ``check_account(user)``
    raises a ValidationError for an account the form may not pick."""

    def clean_account_email(self):
        email = self.cleaned_data["account_email"].strip().lower()
        user = get_user_model().objects.filter(email__iexact=email).first()
        if user is None:
            raise forms.ValidationError("No account has this email.")
        self.check_account(user)
        self.cleaned_data["user"] = user
        return email

    def check_account(self, user):
        pass


class ComplimentaryForm(AccountEmailMixin, forms.ModelForm):
    account_email = forms.EmailField(help_text="The account that receives the membership.")
    ends_at = forms.SplitDateTimeField(
        label="Ends at",
        widget=AdminSplitDateTime,
        help_text="When the membership ends, in UTC. Until then it renews its licences every plan interval.",
    )
    reason = forms.CharField(widget=forms.Textarea, help_text="Recorded in the audit log.")

    class Meta:
        model = ComplimentaryMembership
        fields = ["plan", "quantity"]
        help_texts = {"quantity": "Seats, for a business plan; 1 for the others."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        plan = self.fields["plan"]
        # A free plan grants nothing: only paid plans can be given without payment (the choice
        # is checked against this list on saving too).
        plan.queryset = Plan.objects.filter(price_cents__gt=0)
        plan.help_text = "Paid plans only."
        # Plans are edited in their own list, not from here.
        for tool in ("can_add_related", "can_change_related", "can_view_related", "can_delete_related"):
            setattr(plan.widget, tool, False)

    def clean_quantity(self):
        quantity = self.cleaned_data.get("quantity") or 1
        if quantity > BillingAccount.MAX_EXTRA_SEATS:
            raise forms.ValidationError(f"Grant at most {BillingAccount.MAX_EXTRA_SEATS:,} seats.")
        return quantity

    def clean_ends_at(self):
        ends_at = self.cleaned_data["ends_at"]
        if ends_at <= timezone.now():
            raise forms.ValidationError("The end date must be in the future.")
        return ends_at

    actor = None  # the staff member granting (ComplimentaryMembershipAdmin.get_form sets it)

    def clean(self):
        cleaned = super().clean()
        user = cleaned.get("user")
        if user is not None:
            try:
                services.check_can_grant_complimentary(user, actor=self.actor)
            except services.CheckoutError as exc:
                self.add_error("account_email", str(exc))
        return cleaned


@admin.register(ComplimentaryMembership)
class ComplimentaryMembershipAdmin(PageActionsMixin, admin.ModelAdmin):
    """Grant a membership without payment (audited). Also how development runs without Stripe."""

    form = ComplimentaryForm
    list_display = ["account", "plan", "status", "ends", "granted_by", "grant_reason"]
    list_filter = ["status", "plan", account_filter("user")]
    list_select_related = ["user", "plan", "granted_by"]
    search_fields = ["user__email", "grant_reason"]
    actions = ["end_complimentary"]
    page_actions = [("end_complimentary", "End now", True)]
    # Granting asks for the account first; a granted membership is shown, never edited here.
    add_fields = ["account_email", "plan", "quantity", "ends_at", "reason"]
    view_fields = [
        "account",
        "plan",
        "quantity",
        "status",
        "current_period_start",
        "current_period_end",
        "ended_at",
        "granted_by",
        "grant_reason",
        "elsewhere",
        "history",
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            kwargs["form"] = forms.ModelForm
        form = super().get_form(request, obj, change, **kwargs)
        if obj is None:
            form.actor = request.user  # a class made for this request: refuses a grant to oneself
        return form

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.view_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.view_fields

    def page_action_offered(self, obj, name):
        return not _not_endable(obj)

    @admin.display(description="Account", ordering="user__email")
    def account(self, obj):
        return link_to(obj.user)

    @admin.display(description="Ends", ordering="current_period_end")
    def ends(self, obj):
        return day(obj.ended_at or obj.current_period_end)

    @admin.display(description="Licences")
    def elsewhere(self, obj):
        return links_from_other_apps(obj)

    @admin.display(description="Audit log")
    def history(self, obj):
        # The audit log names the membership by its own model, not this staff view of it.
        return audit_table(Subscription(pk=obj.pk))

    def get_queryset(self, request):
        return super().get_queryset(request).filter(source=Source.COMPLIMENTARY)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        # The form refuses what the grant would (ComplimentaryForm.clean). Should the account get a
        # membership between that check and the grant, the grant refuses under the account's lock:
        # nothing is saved (the add page's transaction rolls back) and the page says why.
        try:
            return super().add_view(request, form_url, extra_context)
        except services.CheckoutError as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        sub = services.grant_complimentary_membership(
            user=form.cleaned_data["user"],
            plan=form.cleaned_data["plan"],
            ends_at=form.cleaned_data["ends_at"],
            quantity=form.cleaned_data.get("quantity") or 1,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            request=request,
        )
        obj.pk = sub.pk
        obj.__dict__.update(sub.__dict__)

    @admin.action(description="End the selected memberships now", permissions=["change"])
    def end_complimentary(self, request, queryset):
        return end_complimentary(self, request, queryset)


class BillingAccountForm(forms.ModelForm):
    # Declared here so that its ceiling is the service's, said in words (the model field's own range
    # is the database column's).
    extra_seats = forms.IntegerField(
        min_value=0,
        widget=forms.NumberInput(attrs={"max": BillingAccount.MAX_EXTRA_SEATS}),
        help_text=(
            "Designated-user seats on top of the purchased quantity, at most "
            f"{BillingAccount.MAX_EXTRA_SEATS:,}. Enterprise accounts only: an individual account has "
            "exactly one end user."
        ),
    )
    reason = forms.CharField(
        required=False, widget=forms.Textarea, help_text="Why the seats change (audited)."
    )

    class Meta:
        model = BillingAccount
        fields = ["extra_seats"]

    def seat_holder(self):
        return self.instance.user if self.instance.pk else self.cleaned_data.get("user")

    def clean(self):
        cleaned = super().clean()
        if "extra_seats" not in self.changed_data:
            return cleaned
        if not (cleaned.get("reason") or "").strip():
            self.add_error("reason", "Say why the seats change.")
        user, extra_seats = self.seat_holder(), cleaned.get("extra_seats")
        if user is not None and extra_seats is not None:
            # Asked again under the account's lock when saving (services.set_extra_seats).
            try:
                current = self.instance.extra_seats if self.instance.pk else 0  # as saved, before this form
                services.check_can_set_extra_seats(user, extra_seats, current=current)
            except services.CheckoutError as exc:
                self.add_error("extra_seats", str(exc))
        return cleaned


class BillingAccountAddForm(AccountEmailMixin, BillingAccountForm):
    """Extra seats for an account without billing details yet (it never paid through Stripe: an
    enterprise by verification, a complimentary membership). The details are made with the seats."""

    account_email = forms.EmailField(help_text="The account that receives the seats.")
    field_order = ["account_email", "extra_seats", "reason"]

    def check_account(self, user):
        existing = BillingAccount.objects.filter(user=user).first()
        if existing is not None:
            raise forms.ValidationError(
                format_html(
                    'This account has billing details already: change its extra seats <a href="{}">on '
                    "them</a>.",
                    admin_change_url(existing),
                )
            )

    def clean_extra_seats(self):
        extra_seats = self.cleaned_data["extra_seats"]
        if not extra_seats:
            raise forms.ValidationError("Grant at least one extra seat.")
        return extra_seats


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    """Extra designated-user seats granted by staff go through a service (audited): on an account's
    billing details, or, for an account that has none yet, by adding them here."""

    form = BillingAccountForm
    list_display = ["account", "stripe_customer_id", "extra_seats", "created_at"]
    search_fields = ["user__email", "stripe_customer_id"]
    fields = ["account", "stripe_customer_id", "seats_now", "extra_seats", "reason", "records", "created_at"]
    readonly_fields = ["account", "stripe_customer_id", "seats_now", "records", "created_at"]
    add_fields = ["account_email", "extra_seats", "reason"]
    list_select_related = ["user"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = BillingAccountAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Account", ordering="user__email")
    def account(self, obj):
        return link_to(obj.user)

    @admin.display(description="Designated seats now")
    def seats_now(self, obj):
        if not obj.user.is_enterprise:
            return "— (an individual account has one end user, fixed at its first download)"
        return obj.user.designated_seats

    @admin.display(description="This account's billing")
    def records(self, obj):
        return format_html(
            "{}<br>{}<br>{}",
            related_link(Subscription, "user", obj.user, "Memberships"),
            related_link(Invoice, "user", obj.user, "Invoices"),
            related_link(TrackCredit, "user", obj.user, "Single-track purchases"),
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The form refuses what the service would (BillingAccountForm.clean). Should the account change
        # between that check and the save, the service refuses under the account's lock: nothing is
        # saved (the page's transaction rolls back) and the page says why.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except services.CheckoutError as exc:
            self.message_user(request, f"Nothing was saved. {exc}", level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        if change and "extra_seats" not in form.changed_data:
            return
        account = services.set_extra_seats(
            user=obj.user if change else form.cleaned_data["user"],
            extra_seats=form.cleaned_data["extra_seats"],
            actor=request.user,
            reason=form.cleaned_data["reason"],
            request=request,
        )
        if not change:  # the service made the billing details: this page goes on with them
            obj.pk = account.pk
            obj.refresh_from_db()
            obj._state.adding = False


# --- purchases and their Stripe records ---------------------------------------------------------


@admin.register(TrackCredit)
class TrackCreditAdmin(ReadOnlyAdmin):
    list_display = ["account", "track_link", "status", "amount", "purchase_ref", "created_at"]
    list_filter = ["status", account_filter("user")]
    search_fields = ["user__email", "track__title", "purchase_ref", "checkout__stripe_session_id"]
    list_select_related = ["user", "track"]
    extra_readonly = ["account", "amount", "elsewhere", "task_list"]
    fields = [
        "account",
        "track",
        "status",
        "amount",
        "purchase_ref",
        "checkout",
        "created_at",
        "used_at",
        "elsewhere",
        "revoked_at",
        "revoked_reason",
        "task_list",
    ]

    @admin.display(description="Account", ordering="user__email")
    def account(self, obj):
        return link_to(obj.user)

    @admin.display(description="Track", ordering="track__title")
    def track_link(self, obj):
        return link_to(obj.track)

    @admin.display(description="Amount", ordering="amount_cents")
    def amount(self, obj):
        return obj.amount_display

    @admin.display(description="Licence")
    def elsewhere(self, obj):
        return links_from_other_apps(obj)

    @admin.display(description="Staff tasks")
    def task_list(self, obj):
        return related_link(StaffTask, "credit", obj, "Staff tasks about this purchase")


# Stripe's invoice statuses, as staff say them.
INVOICE_STATUS = {
    "draft": "Draft (not sent yet)",
    "open": "Open (waiting for payment)",
    "paid": "Paid",
    "uncollectible": "Uncollectible",
    "void": "Void",
}


def invoice_status(obj):
    return INVOICE_STATUS.get(obj.status, obj.status or "—")


class InvoiceStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        used = model_admin.get_queryset(request).order_by().values_list("status", flat=True).distinct()
        return [(code or "none", INVOICE_STATUS.get(code, code or "No status")) for code in sorted(used)]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.filter(status="" if self.value() == "none" else self.value())


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["invoice", "account", "state", "amount", "issued"]
    list_filter = [InvoiceStatusFilter, account_filter("user"), record_filter("subscription", "membership")]
    search_fields = ["number", "stripe_invoice_id", "user__email"]
    list_select_related = ["user"]
    extra_readonly = ["account", "state", "due", "paid", "links"]
    fields = [
        "number",
        "stripe_invoice_id",
        "account",
        "subscription",
        "state",
        "due",
        "paid",
        "attempt_count",
        "next_payment_attempt",
        "issued_at",
        "links",
        "stripe_updated_at",
    ]

    @admin.display(description="Invoice", ordering="number")
    def invoice(self, obj):
        if obj.number:
            return obj.number
        return format_html('{}<br><span class="staff-note">no number yet</span>', obj.stripe_invoice_id)

    @admin.display(description="Account", ordering="user__email")
    def account(self, obj):
        return link_to(obj.user)

    @admin.display(description="Status", ordering="status")
    def state(self, obj):
        if obj.status == "paid" or not obj.attempt_count:
            return invoice_status(obj)
        tries = f"{obj.attempt_count} payment attempt{'s' if obj.attempt_count != 1 else ''}"
        return format_html('{}<br><span class="staff-note">{}</span>', invoice_status(obj), tries)

    @admin.display(description="Amount")
    def amount(self, obj):
        return obj.amount_display

    @admin.display(description="Issued", ordering="issued_at")
    def issued(self, obj):
        return day(obj.issued_at)

    @admin.display(description="Amount due")
    def due(self, obj):
        return format_money(obj.amount_due, obj.currency or "usd")

    @admin.display(description="Amount paid")
    def paid(self, obj):
        return format_money(obj.amount_paid, obj.currency or "usd")

    @admin.display(description="At Stripe")
    def links(self, obj):
        links = [
            (url, text)
            for url, text in ((obj.hosted_invoice_url, "Invoice page"), (obj.invoice_pdf, "PDF"))
            if url
        ]
        if not links:
            return "—"
        return format_html_join(" · ", '<a href="{}" rel="noopener noreferrer">{}</a>', links)


@admin.register(Checkout)
class CheckoutAdmin(ReadOnlyAdmin):
    list_display = ["checkout", "account", "item", "amount", "status", "created"]
    list_filter = ["kind", "status", account_filter("user")]
    search_fields = [
        "user__email",
        "stripe_session_id",
        "stripe_payment_intent_id",
        "track__title",
        "plan__name",
    ]
    list_select_related = ["user", "plan", "track"]
    date_hierarchy = "created_at"
    extra_readonly = ["account", "item", "amount", "credit_link"]
    fields = [
        "account",
        "kind",
        "item",
        "quantity",
        "amount",
        "status",
        "error",
        "agreement_version",
        "credit_link",
        "stripe_session_id",
        "stripe_payment_intent_id",
        "created_at",
        "completed_at",
    ]

    @admin.display(description="Checkout", ordering="pk")
    def checkout(self, obj):
        return f"Checkout {obj.pk}"

    @admin.display(description="Account", ordering="user__email")
    def account(self, obj):
        return link_to(obj.user)

    @admin.display(description="For")
    def item(self, obj):
        return link_to(obj.plan if obj.plan_id else obj.track)

    @admin.display(description="Amount", ordering="amount_cents")
    def amount(self, obj):
        return obj.amount_display

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj):
        return day(obj.created_at)

    @admin.display(description="Single-track purchase")
    def credit_link(self, obj):
        credit = TrackCredit.objects.filter(checkout=obj).first()
        return link_to(credit) if credit else "—"


class ProcessedFilter(admin.SimpleListFilter):
    title = "processed"
    parameter_name = "processed"

    def lookups(self, request, model_admin):
        return [
            ("yes", "Processed"),
            ("unplaced", "Processed, but could not be placed"),
            ("no", "Waiting or failing"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(processed_at__isnull=False, error="")
        if self.value() == "unplaced":
            return queryset.filter(processed_at__isnull=False).exclude(error="")
        if self.value() == "no":
            return queryset.filter(processed_at__isnull=True)
        return queryset


def _applied(event):
    """Processed and placed: nothing left to do for it."""
    return event.processed_at is not None and not event.error


def event_state(obj):
    if obj.processed_at is None:
        tries = (
            f"{obj.attempts} failed attempt{'s' if obj.attempts != 1 else ''}" if obj.attempts else "waiting"
        )
        return f"Not processed ({tries})"
    if obj.error:
        return "Processed, but could not be placed"
    return f"Processed {timezone.localtime(obj.processed_at):%-d %b %Y %H:%M}"


@admin.register(StripeEvent)
class StripeEventAdmin(PageActionsMixin, ReadOnlyAdmin):
    list_display = ["stripe_id", "type", "received_at", "state"]
    list_filter = ["type", ProcessedFilter]
    search_fields = ["stripe_id", "type"]
    actions = ["process_again"]
    page_actions = [("process_again", "Process again", False)]
    extra_readonly = ["state"]
    fields = [
        "stripe_id",
        "type",
        "state",
        "error",
        "attempts",
        "received_at",
        "processed_at",
        "stripe_created_at",
        "livemode",
        "api_version",
        "payload",
    ]

    def page_action_offered(self, obj, name):
        return not _applied(obj)

    @admin.display(description="Processed", ordering="processed_at")
    def state(self, obj):
        return event_state(obj)

    @admin.action(
        description="Process the selected events again (waiting, failing or not placed)", permissions=["act"]
    )
    def process_again(self, request, queryset):
        from . import webhooks

        return confirm_action(
            self,
            request,
            queryset,
            title="Process Stripe events again",
            submit="Process",
            done="Queued",
            form_class=forms.Form,
            consequences=[
                "Each event is queued for the background worker, which applies it as it would a new "
                "delivery from Stripe. An event that was already applied is never applied twice.",
                "An event that could not be placed (a Stripe price no plan has, a customer no account has) "
                "is placed only if that has been fixed since: set the plan's Stripe price id first. "
                "Placing it again is kept in the audit log.",
            ],
            describe=event_state,
            skip=lambda event, data: "already processed" if _applied(event) else "",
            apply=lambda event, data: webhooks.process_again(event, actor=request.user, request=request),
        )


# --- staff tasks ------------------------------------------------------------------------------


ResolutionForm = note_form(
    "Resolution",
    "What was checked and decided (a licence revoked or kept, a refund made). "
    "Kept with the task and in the audit log.",
    name="resolution",
)


def task_state(task):
    if task.resolved_at is None:
        return "Open"
    by = f" by {task.resolved_by}" if task.resolved_by_id else ""
    return f"Resolved {day(task.resolved_at)}{by}"


@admin.register(StaffTask)
class StaffTaskAdmin(AuditLogMixin, PageActionsMixin, ReadOnlyAdmin):
    list_display = ["task", "account", "state", "opened"]
    list_filter = [ResolvedFilter, "kind", account_filter("user"), record_filter("credit", "purchase")]
    search_fields = ["user__email", "stripe_object_id", "details", "credit__purchase_ref"]
    list_select_related = ["user", "resolved_by"]
    actions = ["resolve"]
    page_actions = [("resolve", "Mark resolved", False)]
    extra_readonly = ["account", "state", "elsewhere", "history"]
    fields = [
        "kind",
        "account",
        "details",
        "credit",
        "elsewhere",
        "stripe_object_id",
        "created_at",
        "state",
        "resolution",
        "history",
    ]

    def page_action_offered(self, obj, name):
        return obj.resolved_at is None

    @admin.display(description="Task", ordering="kind")
    def task(self, obj):
        if not obj.details:
            return obj.get_kind_display()
        details = Truncator(obj.details).chars(90)
        return format_html('{}<br><span class="staff-note">{}</span>', obj.get_kind_display(), details)

    @admin.display(description="Account", ordering="user__email")
    def account(self, obj):
        return link_to(obj.user)

    @admin.display(description="State", ordering="resolved_at")
    def state(self, obj):
        return task_state(obj)

    @admin.display(description="Opened", ordering="created_at")
    def opened(self, obj):
        return day(obj.created_at)

    @admin.display(description="Licence")
    def elsewhere(self, obj):
        return links_from_other_apps(obj)

    @admin.action(description="Mark resolved (with what was decided)", permissions=["act"])
    def resolve(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset.select_related("user", "resolved_by"),
            title="Resolve billing staff tasks",
            submit="Resolve",
            done="Resolved",
            form_class=ResolutionForm,
            consequences=[
                "The task leaves the open tasks, with your resolution. Nothing else changes: revoke a "
                "licence or refund a payment first, where that is the decision.",
            ],
            describe=task_state,
            skip=lambda task, data: "already resolved" if task.resolved_at else "",
            apply=lambda task, data: services.resolve_task(
                task=task, actor=request.user, resolution=data["resolution"]
            ),
        )


# --- on the staff site's front page -----------------------------------------------------------

waiting_for_staff("Billing tasks open", StaffTask, params={"state": "open"}, resolved_at__isnull=True)
waiting_for_staff(
    "Stripe events not processed", StripeEvent, params={"processed": "no"}, processed_at__isnull=True
)
waiting_for_staff(
    "Stripe events that could not be placed",
    StripeEvent,
    params={"processed": "unplaced"},
    processed_at__isnull=False,
    error__gt="",
)
