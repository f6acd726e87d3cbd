"""Loaded with `-p` (pyproject addopts) so it runs before pytest-django reads the settings."""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("AUTH_THROTTLE_RATE", "1000/min")
