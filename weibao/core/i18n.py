"""Data kept in both languages (names, titles, checklist texts): pick the reader's."""

from __future__ import annotations

from django.utils.translation import get_language


def is_english() -> bool:
    return (get_language() or "").startswith("en")


def localized(chinese: str, english: str) -> str:
    """The English text for English readers when there is one; the Chinese text otherwise."""
    return english if english and is_english() else chinese
