"""Writes for campaigns, draws and inspections: keyword-only, one transaction each.

Pages, the API, the demo and the hazard ledger (follow-up inspections) import from here.
"""

from weibao.inspections.services.campaigns import (
    campaign_create,
    campaign_draw,
    campaign_update,
    conflict_create,
    draw_replay,
)
from weibao.inspections.services.inspections import (
    EDITABLE,
    answer_photo_add,
    inspection_create,
    inspection_submit,
    inspection_update,
)

__all__ = [
    "EDITABLE",
    "answer_photo_add",
    "campaign_create",
    "campaign_draw",
    "campaign_update",
    "conflict_create",
    "draw_replay",
    "inspection_create",
    "inspection_submit",
    "inspection_update",
]
