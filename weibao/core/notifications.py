"""In-app notifications (and their e-mail copies).

A notification stores a message key and its parameters, not rendered text, so each reader sees
it in their own language; the e-mail copy is rendered in the recipient's language.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django_tasks import task

logger = logging.getLogger(__name__)

# verb → message with %(name)s parameters. Add one line per kind of notification.
MESSAGES: dict[str, Any] = {
    "inspection.submitted": _(
        "%(unit)s: inspection record %(number)s was submitted; hazards found: %(count)d."
    ),
    "compliance.new": _("%(unit)s: new compliance findings: %(count)d (major hazards: %(major)d)."),
    "hazard.due_soon": _(
        "%(unit)s: hazard %(reference)s is due on %(deadline)s (days left: %(days)d)."
    ),
    "hazard.due_today": _("%(unit)s: hazard %(reference)s is due today (%(deadline)s)."),
    "hazard.overdue_unit": _("%(unit)s: hazards that became overdue on %(date)s: %(count)d."),
    "hazard.overdue_county": _(
        "%(area)s: hazards that became overdue on %(date)s: %(count)d (units: %(units)d)."
    ),
    "case.proposed": _(
        "%(unit)s: case %(reference)s was proposed because hazards were left overdue "
        "(facts: %(count)d); confirm or dismiss it by %(deadline)s."
    ),
    "case.evidence": _(
        "%(unit)s: proposed case %(reference)s has new facts of hazards left overdue "
        "(facts: %(count)d)."
    ),
    "report.submitted": _(
        "%(unit)s: new internal hazard report %(reference)s; verify it by %(deadline)s."
    ),
    "report.escalated": _(
        "%(unit)s: internal report %(reference)s was raised to the bureau by its reporter "
        "because the unit did not verify it in time."
    ),
    "report.updated": _("Your internal report %(reference)s to %(unit)s has a new step."),
    "report.due_today": _(
        "%(unit)s: internal reports whose time limit for verification ends today (%(date)s): "
        "%(count)d."
    ),
    "report.overdue_unit": _(
        "%(unit)s: internal reports left unverified past the time limit on %(date)s: %(count)d."
    ),
    "report.overdue_county": _(
        "%(area)s: internal reports left unverified past the unit's time limit on %(date)s: "
        "%(count)d (units: %(units)d)."
    ),
    "ledger.not_received": _(
        "%(unit)s: %(code)s (quantity %(quantity)s) was shipped at %(at)s and not received "
        "within %(hours)d hours; the quantity reaches the criminal threshold."
    ),
    "ledger.not_closed": _(
        "%(unit)s: %(code)s (quantity %(quantity)s) was issued at %(at)s and neither fired nor "
        "returned that day; the quantity reaches the criminal threshold."
    ),
    "ledger.lost": _(
        "%(unit)s: %(code)s (quantity %(quantity)s) was reported lost at %(at)s and has not "
        "been found; the quantity reaches the criminal threshold."
    ),
}


def render(verb: str, params: dict[str, Any]) -> str:
    template = MESSAGES.get(verb)
    if template is None:
        return verb
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        logger.exception("notification %s has bad parameters %r", verb, params)
        return verb


def notify(*, recipients: Iterable[Any], verb: str, params: dict[str, Any], url: str = "") -> int:
    """Create one notification per recipient and, after commit, e-mail those with an address."""
    from weibao.core.models import Notification

    if verb not in MESSAGES:
        raise ValueError(f"unknown notification verb {verb!r}")
    rows = Notification.objects.bulk_create(
        Notification(recipient=user, verb=verb, params=params, url=url)
        for user in {u.pk: u for u in recipients if u.is_active}.values()
    )
    ids = [n.pk for n in rows]
    if ids:
        transaction.on_commit(lambda: send_notification_emails.enqueue(ids))
    return len(ids)


@task()
def send_notification_emails(notification_ids: list[int]) -> int:
    from weibao.core.models import Notification

    sent = 0
    for note in Notification.objects.filter(pk__in=notification_ids).select_related("recipient"):
        user = note.recipient
        if not user.email:
            continue
        with translation.override(user.language or settings.LANGUAGE_CODE):
            subject = str(_("Weibao notification"))
            body = render(note.verb, note.params)
            if note.url:
                body += "\n\n" + settings.SITE_URL.rstrip("/") + note.url
        send_mail(subject, body, None, [user.email], fail_silently=False)
        sent += 1
    return sent
