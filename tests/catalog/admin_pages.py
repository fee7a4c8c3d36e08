"""Helpers for tests that post a staff change page as staff would: the form as it stands, with some
fields changed."""

from django.forms import CheckboxInput, FileInput


def sent_as_shown(response, **changes):
    """What the change page of ``response`` sends when saved as it stands (its form and inlines),
    with ``changes`` (field name, with any inline prefix: value; None leaves a field out)."""
    context = response.context
    forms = [context["adminform"].form]
    for inline in context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for form in forms:
        for name, field in form.fields.items():
            widget = getattr(field.widget, "widget", field.widget)  # inside the admin's wrapper
            value = form[name].value()
            if isinstance(widget, FileInput) or value is None:
                continue  # a file field sent empty keeps its file
            if isinstance(widget, CheckboxInput):
                if value:
                    data[form.add_prefix(name)] = "on"
            else:
                data[form.add_prefix(name)] = value
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def messages_of(response):
    return [str(m) for m in response.context["messages"]]
