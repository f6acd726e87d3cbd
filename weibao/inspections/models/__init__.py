"""Checklists, campaigns with random spot-check draws, and inspections (检查) with their answers."""

from weibao.inspections.models.campaigns import Campaign, CampaignDraw, InspectorConflict
from weibao.inspections.models.checklists import Checklist, ChecklistItem
from weibao.inspections.models.common import ancestor_codes, split_codes, user_home_code
from weibao.inspections.models.inspections import Answer, AnswerPhoto, Inspection

__all__ = [
    "Answer",
    "AnswerPhoto",
    "Campaign",
    "CampaignDraw",
    "Checklist",
    "ChecklistItem",
    "Inspection",
    "InspectorConflict",
    "ancestor_codes",
    "split_codes",
    "user_home_code",
]
