"""Safety mixins every admin here shares: ids parsed before they reach the database,
actions checked against the selection, newlines normalised as browsers send them."""

from django.contrib import admin
from django.db import models

from questions.forms import IdChoiceField, is_database_id


class SafeIdsMixin:
    """The admin's multiple selects refuse ids outside the database's range with the field's
    message (SQLite raised OverflowError, a 500, on an id of 2**63 or more)."""

    formfield_overrides = {models.ManyToManyField: {"form_class": IdChoiceField}}


class CheckedActionsMixin:
    """Django's admin queries the posted ``_selected_action`` ids unchecked: a non-numeric
    or out-of-range id is a 500. Keep only ids that can exist before the action runs."""

    def response_action(self, request, queryset):
        ids = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
        valid = [i for i in ids if is_database_id(i)]
        if valid != ids:
            post = request.POST.copy()
            post.setlist(admin.helpers.ACTION_CHECKBOX_NAME, valid)
            request.POST = post
        return super().response_action(request, queryset)


class UnixNewlinesMixin:
    """Browsers submit textareas with CRLF line endings; store LF, as the bank files and
    imports do, so that exports, imports and diffs see no phantom change."""

    def clean(self):
        cleaned = super().clean()
        for name, value in cleaned.items():
            if isinstance(value, str) and "\r" in value:
                cleaned[name] = value.replace("\r\n", "\n").replace("\r", "\n")
        return cleaned
