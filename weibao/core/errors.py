from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from weibao.core.api.errors import DomainError

__all__ = ["DomainError", "ServiceValidationError", "clean_and_save"]


class ServiceValidationError(ValidationError):
    """Raised by services for bad input; pages show it on the form, the API answers 400."""

    def __init__(self, errors: dict[str, list[Any]], code: str | None = None) -> None:
        super().__init__(errors, code=code)


def clean_and_save(obj: Any) -> None:
    """Validate a model instance and save it; model validation errors become the services'
    field-named 400 (`ServiceValidationError`)."""
    try:
        obj.full_clean()
    except ServiceValidationError:
        raise
    except ValidationError as exc:
        raise ServiceValidationError(exc.message_dict) from None
    obj.save()
