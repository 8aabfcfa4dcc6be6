"""The app's models, one module per area; everything is re-exported here, so that
``from questions.models import Question`` (and the migrations' references) keep working."""

from questions.models.attempts import Attempt, AttemptItem
from questions.models.bank import (
    CHOICE_LETTERS,
    IMAGE_EXTENSIONS,
    IMAGE_MAX_BYTES,
    Choice,
    Citation,
    Illustrated,
    Question,
    QuestionQuerySet,
    Reference,
    StatusChange,
    Topic,
    assessed_condition,
    pending_assessments,
    validate_image_size,
)
from questions.models.cohorts import (
    JOIN_CODE_ALPHABET,
    Accommodation,
    Assignment,
    AssignmentGrant,
    Cohort,
    CohortLogEntry,
    default_time_zone,
    new_join_code,
    normalize_join_code,
    validate_time_zone,
)
from questions.models.diagrams import Diagram, validate_svg
from questions.models.feedback import ErrorReport
from questions.models.item_totals import ItemChoiceCount, ItemSecondsCount, ItemTotal
from questions.models.learning import RecallCard
from questions.models.notifications import Notification, ScheduledRun
from questions.models.people import ResidentProfile, SiteSetting
from questions.models.simulations import ExamSimulation

__all__ = [
    "validate_svg",
    "CHOICE_LETTERS",
    "IMAGE_EXTENSIONS",
    "IMAGE_MAX_BYTES",
    "JOIN_CODE_ALPHABET",
    "Accommodation",
    "Assignment",
    "AssignmentGrant",
    "CohortLogEntry",
    "Notification",
    "ScheduledRun",
    "default_time_zone",
    "validate_time_zone",
    "Attempt",
    "AttemptItem",
    "Choice",
    "Diagram",
    "Citation",
    "Cohort",
    "ErrorReport",
    "ExamSimulation",
    "Illustrated",
    "ItemChoiceCount",
    "ItemSecondsCount",
    "ItemTotal",
    "Question",
    "QuestionQuerySet",
    "Reference",
    "ResidentProfile",
    "RecallCard",
    "SiteSetting",
    "StatusChange",
    "Topic",
    "new_join_code",
    "normalize_join_code",
    "assessed_condition",
    "pending_assessments",
    "validate_image_size",
]
