from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from weibao.core.api.errors import DomainError

__all__ = ["DomainError", "ServiceValidationError"]


class ServiceValidationError(ValidationError):
    """Raised by services for bad input; pages show it on the form, the API answers 400."""

    def __init__(self, errors: dict[str, list[Any]], code: str | None = None) -> None:
        super().__init__(errors, code=code)
