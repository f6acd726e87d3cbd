"""Deployment checks Django cannot know about."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def site_url_is_public(app_configs: Any, **kwargs: Any) -> list[Warning]:
    host = urlsplit(settings.SITE_URL).hostname or ""
    if host in {"127.0.0.1", "localhost", ""} or not settings.SITE_URL.startswith("https://"):
        return [
            Warning(
                "SITE_URL is not a public https address; links in e-mails (invitations, "
                "notifications) will not work.",
                hint="Set SITE_URL=https://weibao.example.gov.cn",
                id="weibao.W001",
            )
        ]
    return []
