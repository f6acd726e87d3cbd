"""Log records carry the request id, so a log line can be matched to its request and audit entry."""

from __future__ import annotations

import logging

from weibao.core import context


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = context.current()
        record.request_id = ctx.request_id if ctx else "-"
        return True
