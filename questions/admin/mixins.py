"""Safety mixins the admins here share: ids parsed before they reach the database,
actions checked against the selection, newlines normalised as browsers send them, and a
save whose image the storage cannot write rolled back with a message."""

import contextlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404

from questions.authoring import images
from questions.forms import IdChoiceField, is_database_id

if TYPE_CHECKING:
    # Makes admin.helpers known: the stubs' django.contrib.admin does not import it.
    import django.contrib.admin.helpers  # noqa: F401

logger = logging.getLogger(__name__)


def require_ids(*texts: str) -> None:
    """Http404 unless each of the admin URL's ids (quoted as the admin quotes them) can exist."""
    if not all(is_database_id(unquote(text)) for text in texts):
        raise Http404


class HistoryIdsMixin:
    """simple-history's pages put the ids of their URLs into a query unchecked: a version id
    like ``abc`` or ``1.5`` raised ValueError there, a 500. Anything but a whole number in
    the database's range is a 404, as a missing version is."""

    def history_view(self, request, object_id, extra_context=None):
        require_ids(object_id)
        # A mixin: the SimpleHistoryAdmin it is mixed into has history_view.
        return super().history_view(request, object_id, extra_context)  # type: ignore[misc]

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        require_ids(object_id, version_id)
        return super().history_form_view(  # type: ignore[misc]
            request, object_id, version_id, extra_context
        )


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


def _refusing_unstored_images(form_class: type[forms.BaseForm]) -> type[forms.BaseForm]:
    """``form_class``, refusing itself with ``images.NOT_STORED`` (whatever was typed)."""

    class Refused(form_class):  # type: ignore[valid-type,misc]  # a class made at run time
        def clean(self):
            super().clean()
            raise ValidationError(images.NOT_STORED, code="image_not_stored")

    return Refused


class StoredImagesMixin:
    """For an admin whose forms upload images. When the storage cannot write one (a media
    folder that cannot be written or made, a full or read-only disk), the save raised
    OSError: a 500 (the admin's transaction rolled the rows back). Here the failure is
    logged for the administrator, the transaction (the whole change form, inlines
    included) is rolled back, and the form comes back with what was typed and
    ``images.NOT_STORED`` saying that nothing was saved. A file stored before the one that
    failed may stay behind in the media folder, unused."""

    @staticmethod
    def _storing(request):
        # Only a request that uploads files can fail to store one.
        return images.storing() if request.FILES else contextlib.nullcontext()

    def save_model(self, request, obj, form, change):
        with self._storing(request):
            # A mixin: the ModelAdmin it is mixed into has these methods.
            super().save_model(request, obj, form, change)  # type: ignore[misc]

    def save_related(self, request, form, formsets, change):
        with self._storing(request):
            super().save_related(request, form, formsets, change)  # type: ignore[misc]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        view = super().changeform_view  # type: ignore[misc]
        try:
            return view(request, object_id, form_url, extra_context)
        except images.ImageNotStored:
            # Out of ModelAdmin.changeform_view's atomic block: rolled back.
            logger.exception("An uploaded image could not be stored; nothing was saved")
        for uploads in request.FILES.lists():  # read once already: read them again
            for upload in uploads[1]:
                upload.seek(0)
        request.image_not_stored = True
        return view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)  # type: ignore[misc]
        if getattr(request, "image_not_stored", False):
            return _refusing_unstored_images(form)
        return form
