"""Root URLs: the admin (authoring) and the questions app."""

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Cluneal nerve board review: authoring"
admin.site.site_title = "Board review authoring"
admin.site.index_title = "Question bank"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("questions.urls")),
]
