"""The site setting, the user and group admins re-registered with the id safety mixin, and
the admin's login page under the login rate limits."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

from questions.admin.mixins import SafeIdsMixin
from questions.models import (
    SiteSetting,
)
from questions.people import limits

# The admin's login page checks any account's password, staff or not: under the site's login
# limits, or it would be the way around them. (Set before quizsite/urls.py builds the
# admin's URLs, which take the site's ``login``.)
admin.site.login = limits.login_limits(admin.site.login)  # type: ignore[method-assign]

# Django's own user and group admins, with the same range check on their multiple selects.
admin.site.unregister(User)

admin.site.unregister(Group)


@admin.register(User)
class SafeIdsUserAdmin(SafeIdsMixin, UserAdmin):
    pass


@admin.register(Group)
class SafeIdsGroupAdmin(SafeIdsMixin, GroupAdmin):
    pass


@admin.register(SiteSetting)
class SiteSettingAdmin(admin.ModelAdmin):
    list_display = ["__str__", "is_signup_open", "allows_self_review"]

    def has_add_permission(self, request):
        # One row: addable, by whoever holds the permission, only while it does not exist.
        return super().has_add_permission(request) and not SiteSetting.objects.exists()

    def get_readonly_fields(self, request, obj=None):
        # Self-review waives the second reviewer: only a superuser may turn it on.
        return [] if request.user.is_superuser else ["allows_self_review"]

    def has_delete_permission(self, request, obj=None):
        return False
