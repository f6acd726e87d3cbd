"""Case-quality review (精品案件评查): a senior officer's checklist and score for a closed case."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from weibao.core.models import AuditedModel


class CaseReview(AuditedModel):
    # The six questions, in the order the form asks them.
    CRITERIA = (
        "facts_clear",
        "evidence_sufficient",
        "procedure_lawful",
        "basis_correct",
        "penalty_appropriate",
        "documents_complete",
    )

    class Grade(models.TextChoices):
        EXCELLENT = "excellent", _("Model case")
        GOOD = "good", _("Good")
        PASS = "pass", _("Acceptable")
        FAIL = "fail", pgettext_lazy("review grade", "Not acceptable")

    case = models.OneToOneField(
        "enforcement.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="review"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewer"), on_delete=models.PROTECT
    )
    facts_clear = models.BooleanField(_("facts clear"))
    evidence_sufficient = models.BooleanField(_("evidence sufficient"))
    procedure_lawful = models.BooleanField(_("procedure lawful"))
    basis_correct = models.BooleanField(_("legal basis correct"))
    penalty_appropriate = models.BooleanField(_("penalty appropriate"))
    documents_complete = models.BooleanField(_("documents complete"))
    score = models.PositiveSmallIntegerField(_("score"), validators=[MaxValueValidator(100)])
    comments = models.TextField(_("comments"), blank=True)
    reviewed_at = models.DateTimeField(_("reviewed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("case review")
        verbose_name_plural = _("case reviews")
        ordering = ["-reviewed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.score}"

    def audit_scope_code(self) -> str:
        return self.case.enterprise.jurisdiction_id

    @property
    def grade(self) -> str:
        """Model case (精品) needs 90 points and every criterion met."""
        if self.score >= 90 and all(getattr(self, name) for name in self.CRITERIA):
            return self.Grade.EXCELLENT
        if self.score >= 75:
            return self.Grade.GOOD
        if self.score >= 60:
            return self.Grade.PASS
        return self.Grade.FAIL

    def get_grade_display(self) -> str:
        return str(self.Grade(self.grade).label)
