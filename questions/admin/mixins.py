"""Safety mixins every admin here shares: ids parsed before they reach the database,
actions checked against the selection, newlines normalised as browsers send them."""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib import admin
from django.db import models

from questions.forms import IdChoiceField, is_database_id

if TYPE_CHECKING:
    # Makes admin.helpers known: the stubs' django.contrib.admin does not import it.
    import django.contrib.admin.helpers  # noqa: F401


class SafeIdsMixin:
    """The admin's multiple selects refuse ids outside the database's range with the field's
    message (SQLite raised OverflowError, a 500, on an id of 2**63 or more)."""

    formfield_overrides: ClassVar[Mapping[type[models.Field], Mapping[str, Any]]] = {
        models.ManyToManyField: {"form_class": IdChoiceField}
    }


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
        # A mixin: the ModelAdmin it is mixed into has response_action.
        return super().response_action(request, queryset)  # type: ignore[misc]


class UnixNewlinesMixin:
    """Browsers submit textareas with CRLF line endings; store LF, as the bank files and
    imports do, so that exports, imports and diffs see no phantom change."""

    def clean(self):
        # A mixin: the form it is mixed into has clean.
        cleaned = super().clean()  # type: ignore[misc]
        for name, value in cleaned.items():
            if isinstance(value, str) and "\r" in value:
                cleaned[name] = value.replace("\r\n", "\n").replace("\r", "\n")
        return cleaned
