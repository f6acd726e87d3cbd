"""Form widgets shared by the apps' pages."""

from __future__ import annotations

from typing import Any

from django import forms


class DatePicker(forms.DateInput):
    """The browser's date picker. Its value must be ISO (YYYY-MM-DD) whatever the language: a
    browser drops a localized one ("2025/03/14" in Chinese), so a prefilled date would come back
    empty."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")
