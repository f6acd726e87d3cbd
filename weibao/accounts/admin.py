from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from weibao.accounts.models import Agency, PartnerGrant, User


@admin.register(User)
class UserAdmin(BaseUserAdmin[User]):
    list_display = ["username", "full_name", "role", "agency", "is_active"]
    list_filter = ["role", "is_active"]
    search_fields = ["username", "full_name", "email"]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("Weibao"), {"fields": ("full_name", "phone", "role", "agency")}),
    )
    add_fieldsets = (
        *(BaseUserAdmin.add_fieldsets or ()),
        (_("Weibao"), {"fields": ("full_name", "role", "agency")}),
    )


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin[Agency]):
    list_display = ["name", "kind", "jurisdiction", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "name_en"]


@admin.register(PartnerGrant)
class PartnerGrantAdmin(admin.ModelAdmin[PartnerGrant]):
    list_display = ["agency", "resource", "jurisdiction", "is_active", "valid_until"]
