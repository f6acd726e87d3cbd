"""Pages of internal reports: the public pages a reporter uses without an account (report by the
poster's QR code, follow it by receipt code, raise it to the county bureau), the employee's pages,
the unit's queue and a report's page with its steps, the reward policy and the bureau's
oversight. Thin: reads go through the selectors (`visible_to`), every write is a service call
(the same ones the API makes)."""

from weibao.reporting.views.public import report_escalate, report_public, report_status
from weibao.reporting.views.queue import (
    report_action,
    report_detail,
    report_list,
    report_photo,
    report_reporter,
)
from weibao.reporting.views.staff import (
    report_create,
    report_mine,
    report_oversight,
    report_policy,
)

__all__ = [
    "report_action",
    "report_create",
    "report_detail",
    "report_escalate",
    "report_list",
    "report_mine",
    "report_oversight",
    "report_photo",
    "report_policy",
    "report_public",
    "report_reporter",
    "report_status",
]
