from django.urls import path

from .views import accounts, authoring, public, resident

app_name = "questions"

urlpatterns = [
    path("", public.home, name="home"),
    path("references/", public.reference_list, name="reference_list"),
    path("signup/", accounts.signup, name="signup"),
    path("settings/", accounts.profile, name="profile"),
    path("quizzes/", resident.attempt_list, name="attempt_list"),
    path("quizzes/new/", resident.attempt_new, name="attempt_new"),
    path("quizzes/<int:pk>/", resident.attempt_detail, name="attempt_detail"),
    path(
        "quizzes/<int:pk>/questions/<int:position>/",
        resident.attempt_question,
        name="attempt_question",
    ),
    path(
        "quizzes/<int:pk>/questions/<int:position>/answer/",
        resident.attempt_answer,
        name="attempt_answer",
    ),
    path(
        "quizzes/<int:pk>/questions/<int:position>/flag/",
        resident.attempt_flag,
        name="attempt_flag",
    ),
    path("quizzes/<int:pk>/finish/", resident.attempt_finish, name="attempt_finish"),
    path("quizzes/<int:pk>/results/", resident.attempt_results, name="attempt_results"),
    path(
        "authoring/questions/<int:pk>/preview/",
        authoring.question_preview,
        name="question_preview",
    ),
]
