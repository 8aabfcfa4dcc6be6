from django.urls import path

from questions.views import (
    accounts,
    authoring,
    educator,
    notifications,
    public,
    quiz,
    resident,
    results,
    simulation,
)

app_name = "questions"

urlpatterns = [
    path("", public.home, name="home"),
    path("references/", public.reference_list, name="reference_list"),
    path("diagrams/<slug:slug>.svg", public.diagram_svg, name="diagram_svg"),
    path("signup/", accounts.signup, name="signup"),
    path("settings/", accounts.profile, name="profile"),
    path("dashboard/", resident.dashboard, name="dashboard"),
    path("cohorts/join/", resident.cohort_join, name="cohort_join"),
    path("assignments/<int:pk>/start/", resident.assignment_start, name="assignment_start"),
    path("quizzes/", resident.attempt_list, name="attempt_list"),
    path("quizzes/new/", resident.attempt_new, name="attempt_new"),
    path("quizzes/new/counts/", resident.attempt_counts, name="attempt_counts"),
    path("quizzes/<int:pk>/discard/", resident.attempt_discard, name="attempt_discard"),
    path("quizzes/<int:pk>/", quiz.attempt_detail, name="attempt_detail"),
    path(
        "quizzes/<int:pk>/questions/<int:position>/",
        quiz.attempt_question,
        name="attempt_question",
    ),
    path(
        "quizzes/<int:pk>/questions/<int:position>/answer/",
        quiz.attempt_answer,
        name="attempt_answer",
    ),
    path(
        "quizzes/<int:pk>/questions/<int:position>/report/",
        resident.error_report_new,
        name="error_report_new",
    ),
    path(
        "quizzes/<int:pk>/questions/<int:position>/miss/",
        results.item_miss_type,
        name="item_miss_type",
    ),
    path("reports/", resident.error_report_list, name="error_report_list"),
    path("notifications/", notifications.notification_list, name="notification_list"),
    path(
        "notifications/read-all/",
        notifications.notification_read_all,
        name="notification_read_all",
    ),
    path("notifications/<int:pk>/read/", notifications.notification_read, name="notification_read"),
    path("notifications/<int:pk>/open/", notifications.notification_open, name="notification_open"),
    path(
        "notifications/unsubscribe/<str:token>/",
        notifications.notification_unsubscribe,
        name="notification_unsubscribe",
    ),
    path("flashcards/missed.<str:fmt>", resident.flashcards, name="flashcards"),
    path("quizzes/<int:pk>/finish/", quiz.attempt_finish, name="attempt_finish"),
    path("quizzes/<int:pk>/submit/", quiz.attempt_submit, name="attempt_submit"),
    path(
        "quizzes/<int:pk>/questions/<int:position>/note/",
        quiz.item_note,
        name="item_note",
    ),
    path("quizzes/<int:pk>/results/", results.attempt_results, name="attempt_results"),
    path(
        "quizzes/<int:pk>/results/all/",
        results.attempt_results_all,
        name="attempt_results_all",
    ),
    path(
        "quizzes/<int:pk>/results/<int:position>/",
        results.attempt_result_item,
        name="attempt_result_item",
    ),
    path("notes/", results.note_list, name="note_list"),
    path("simulations/new/", simulation.simulation_new, name="simulation_new"),
    path("simulations/<int:pk>/", simulation.simulation_detail, name="simulation_detail"),
    path(
        "simulations/<int:pk>/start/",
        simulation.simulation_start_block,
        name="simulation_start_block",
    ),
    path(
        "simulations/<int:pk>/end-break/",
        simulation.simulation_end_break,
        name="simulation_end_break",
    ),
    path(
        "authoring/questions/<int:pk>/preview/",
        authoring.question_preview,
        name="question_preview",
    ),
    path(
        "authoring/item-analysis/",
        authoring.item_analysis,
        name="item_analysis",
    ),
    path("cohorts/", educator.cohort_list, name="cohort_list"),
    path("cohorts/<int:pk>/", educator.cohort_detail, name="cohort_detail"),
    path("cohorts/<int:pk>/export.csv", educator.cohort_export, name="cohort_export"),
    path(
        "cohorts/<int:pk>/residents/<int:user_pk>/",
        educator.cohort_resident,
        name="cohort_resident",
    ),
    path(
        "cohorts/<int:pk>/residents/<int:user_pk>/quizzes/<int:attempt_pk>/",
        educator.cohort_resident_attempt,
        name="cohort_resident_attempt",
    ),
    path("cohorts/<int:pk>/assignments/new/", educator.assignment_new, name="assignment_new"),
    path(
        "cohorts/<int:pk>/assignments/<int:assignment_pk>/",
        educator.assignment_detail,
        name="assignment_detail",
    ),
    path(
        "cohorts/<int:pk>/assignments/<int:assignment_pk>/monitor/",
        educator.assignment_monitor,
        name="assignment_monitor",
    ),
    path(
        "cohorts/<int:pk>/assignments/<int:assignment_pk>/edit/",
        educator.assignment_edit,
        name="assignment_edit",
    ),
    path(
        "cohorts/<int:pk>/assignments/<int:assignment_pk>/preview/",
        educator.assignment_preview,
        name="assignment_preview",
    ),
    path(
        "cohorts/<int:pk>/assignments/<int:assignment_pk>/close/",
        educator.assignment_close,
        name="assignment_close",
    ),
    path(
        "cohorts/<int:pk>/assignments/<int:assignment_pk>/release/",
        educator.assignment_release,
        name="assignment_release",
    ),
    path(
        "cohorts/<int:pk>/assignments/<int:assignment_pk>/archive/",
        educator.assignment_archive,
        name="assignment_archive",
    ),
    path(
        "cohorts/<int:pk>/assignments/<int:assignment_pk>/unarchive/",
        educator.assignment_unarchive,
        name="assignment_unarchive",
    ),
    path(
        "cohorts/<int:pk>/assignments/<int:assignment_pk>/residents/<int:user_pk>/",
        educator.assignment_resident,
        name="assignment_resident",
    ),
    path(
        "cohorts/<int:pk>/accommodations/",
        educator.cohort_accommodations,
        name="cohort_accommodations",
    ),
]
