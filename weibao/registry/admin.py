from django.contrib import admin

from weibao.registry.models import (
    Certificate,
    ComplianceRule,
    Enterprise,
    Jurisdiction,
    Permit,
    Person,
    Site,
)


@admin.register(Jurisdiction)
class JurisdictionAdmin(admin.ModelAdmin[Jurisdiction]):
    list_display = ["code", "name", "name_en", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name", "name_en"]


@admin.register(ComplianceRule)
class ComplianceRuleAdmin(admin.ModelAdmin[ComplianceRule]):
    """Where an administrator switches rules on or off and tunes their thresholds."""

    list_display = ["code", "title", "level", "enabled"]
    list_editable = ["enabled"]
    list_filter = ["level", "enabled"]
    readonly_fields = ["code"]

    def has_add_permission(self, request: object) -> bool:
        return False  # a rule needs its check in code (weibao.registry.compliance)

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False  # switch it off instead: history keeps what it was


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin[Enterprise]):
    list_display = ["name", "uscc", "jurisdiction", "status"]
    list_filter = ["status", "jurisdiction"]
    search_fields = ["name", "uscc"]


@admin.register(Permit)
class PermitAdmin(admin.ModelAdmin[Permit]):
    list_display = ["number", "kind", "enterprise", "expires_on"]
    list_filter = ["kind"]
    search_fields = ["number", "enterprise__name"]
    raw_id_fields = ["enterprise"]


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin[Site]):
    list_display = ["name", "kind", "enterprise"]
    list_filter = ["kind"]
    raw_id_fields = ["enterprise"]


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin[Person]):
    list_display = ["name", "post", "enterprise", "is_active"]
    list_filter = ["post", "is_active"]
    search_fields = ["name", "enterprise__name"]
    raw_id_fields = ["enterprise"]
    exclude = ["identity_number"]  # shown and changed only where the permission is checked

    def has_add_permission(self, request: object) -> bool:
        return False  # people are registered through the unit page or the API


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin[Certificate]):
    list_display = ["number", "kind", "person", "expires_on"]
    list_filter = ["kind"]
    raw_id_fields = ["person"]
