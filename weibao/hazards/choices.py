"""Codes shared by checklists, inspections and hazards (kept here so both apps import one place)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class HazardLevel(models.TextChoices):
    """一般隐患 / 重大隐患 (SAWS Order 16; MIIT 2024 major-hazard criteria)."""

    GENERAL = "general", _("General hazard")
    MAJOR = "major", _("Major hazard")


class HazardCategory(models.TextChoices):
    LICENCE = "licence", _("Licences and permits")
    ORGANISATION = "organisation", _("Safety organisation and responsibility")
    PERSONNEL = "personnel", _("Personnel and certificates")
    QUANTITY = "quantity", _("Quantities, varieties and capacity")
    STORAGE = "storage", _("Storage and magazines")
    EQUIPMENT = "equipment", _("Equipment and safety systems")
    OPERATION = "operation", _("Operations and procedures")
    SECURITY = "security", _("Security: guarding, alarms, video")
    TRANSPORT = "transport", _("Transport and handover")
    FLOW = "flow", _("Flow records and traceability")
    EMERGENCY = "emergency", _("Emergency plans and drills")
    MANAGEMENT = "management", _("Management systems and records")
    ENVIRONMENT = "environment", _("Site environment")
    OTHER = "other", _("Other")
