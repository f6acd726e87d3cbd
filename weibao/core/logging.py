"""Log records carry the request id, so a log line can be matched to its request and audit entry."""

from __future__ import annotations

import logging
import re

from weibao.core import context


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = context.current()
        record.request_id = ctx.request_id if ctx else "-"
        return True


# A receipt code is how an anonymous reporter follows a report: the public status endpoint has
# it in its path, so Django's "Not Found: /api/v1/public/internal-reports/<code>/" lines would
# otherwise write reporters' codes (and guesses at them) into the logs.
_RECEIPT_IN_PATH = re.compile(r"(/public/internal-reports/)[^/\s\"']+")


class RedactReceiptsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _RECEIPT_IN_PATH.sub(r"\1<receipt>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
