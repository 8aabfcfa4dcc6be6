"""What the site tells people, and how: a ``Notification`` row per person and event (the
bell), e-mailed through an outbox when mail is configured and the person's preference
allows.

Everything here runs in background jobs (django-tasks, database backend): the domain
functions that cause an event call ``events`` inside their transaction, which only
enqueues a job (a row in the same transaction: none if it rolls back); the worker
(``manage.py db_worker``) runs ``tasks``, which create the rows (``fanout``) and send the
e-mails (``outbox``). This package sits below ``quizzes`` (which calls its hooks) and
imports only the models and ``people``.
"""
