from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from weibao.enforcement.models import Case, LegalProvision


@admin.register(LegalProvision)
class LegalProvisionAdmin(admin.ModelAdmin[LegalProvision]):
    """Where an administrator checks the shipped provisions against the official texts. A
    change of legal content clears `verified` unless the same save ticks it (the checker
    confirms the new text at once); the API always clears it and has its own verify step."""

    list_display = ["code", "law", "article", "clause", "title", "verified", "is_active"]
    list_filter = ["verified", "is_active", "law"]
    search_fields = ["code", "title", "title_en", "violation"]
    readonly_fields = ["verified_by", "verified_at"]

    def save_model(
        self, request: HttpRequest, obj: LegalProvision, form: Any, change: bool
    ) -> None:
        changed = set(form.changed_data)
        if "verified" in changed and obj.verified:
            obj.verified_by = request.user  # type: ignore[assignment]
            obj.verified_at = timezone.now()
        elif changed & set(LegalProvision.LEGAL_FIELDS) or not obj.verified:
            obj.verified = False
            obj.verified_by = None
            obj.verified_at = None
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # cases point at it: set it out of use instead


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin[Case]):
    """Read-only: cases change only through their procedure (pages and API)."""

    list_display = ["reference", "title", "enterprise", "status", "deadline"]
    list_filter = ["status", "origin"]
    search_fields = ["number", "title", "enterprise__name"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
