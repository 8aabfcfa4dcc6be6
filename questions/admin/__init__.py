"""The admin, one module per area; importing them registers their model admins."""

from questions.admin import bank, cohorts, feedback, questions, site

__all__ = ["bank", "cohorts", "feedback", "questions", "site"]
