"""API shapes for checklists, campaigns, draws, conflicts and inspections.

Inputs are strict (strings are strings, booleans are booleans) and every reference is resolved
through `visible_to(user)`: an id the caller may not see reads as "does not exist".
"""

from weibao.inspections.serializers.campaigns import (
    CampaignInput,
    CampaignOutput,
    ChecklistDetailOutput,
    ChecklistInput,
    ChecklistItemOutput,
    ChecklistOutput,
    ConflictInput,
    ConflictOutput,
    DrawInput,
    DrawOutput,
    ProgressOutput,
)
from weibao.inspections.serializers.inspections import (
    AnswerInput,
    AnswerOutput,
    FileInput,
    HazardRefOutput,
    InspectionDetailOutput,
    InspectionInput,
    InspectionOutput,
    InspectionUpdateInput,
    PhotoOutput,
)

__all__ = [
    "AnswerInput",
    "AnswerOutput",
    "CampaignInput",
    "CampaignOutput",
    "ChecklistDetailOutput",
    "ChecklistInput",
    "ChecklistItemOutput",
    "ChecklistOutput",
    "ConflictInput",
    "ConflictOutput",
    "DrawInput",
    "DrawOutput",
    "FileInput",
    "HazardRefOutput",
    "InspectionDetailOutput",
    "InspectionInput",
    "InspectionOutput",
    "InspectionUpdateInput",
    "PhotoOutput",
    "ProgressOutput",
]
