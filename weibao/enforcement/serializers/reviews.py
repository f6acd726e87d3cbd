"""API shapes of case-quality reviews (精品案件评查) and their results per county."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from weibao.enforcement.models import CaseReview


class CaseReviewCoreOutput(serializers.ModelSerializer[CaseReview]):
    reviewer = serializers.IntegerField(source="reviewer_id")
    reviewer_name = serializers.SerializerMethodField()
    grade = serializers.ChoiceField(choices=CaseReview.Grade.choices)
    grade_display = serializers.CharField(source="get_grade_display")

    class Meta:
        model = CaseReview
        fields = [
            "id",
            "reviewer",
            "reviewer_name",
            *CaseReview.CRITERIA,
            "score",
            "grade",
            "grade_display",
            "comments",
            "reviewed_at",
        ]
        read_only_fields = fields

    def get_reviewer_name(self, obj: CaseReview) -> str:
        return str(obj.reviewer)


class CaseReviewOutput(CaseReviewCoreOutput):
    case = serializers.IntegerField(source="case_id")
    case_reference = serializers.CharField(source="case.reference")
    case_title = serializers.CharField(source="case.title")
    enterprise = serializers.IntegerField(source="case.enterprise_id")
    enterprise_name = serializers.CharField(source="case.enterprise.name")
    jurisdiction = serializers.CharField(source="case.enterprise.jurisdiction_id")

    class Meta(CaseReviewCoreOutput.Meta):
        fields = [
            "id",
            "case",
            "case_reference",
            "case_title",
            "enterprise",
            "enterprise_name",
            "jurisdiction",
            *CaseReviewCoreOutput.Meta.fields[1:],
        ]
        read_only_fields = fields


# One count per grade (`pass` is a Python keyword, hence the class is built from the grades).
GradeCountsOutput: type[serializers.Serializer[Any]] = type(
    "GradeCountsOutput",
    (serializers.Serializer,),
    {grade: serializers.IntegerField() for grade in CaseReview.Grade.values},
)


class ReviewSummaryOutput(serializers.Serializer[Any]):
    jurisdiction = serializers.CharField(source="code", help_text="the county's division code")
    jurisdiction_name = serializers.CharField(source="name")
    closed = serializers.IntegerField(help_text="closed cases")
    reviewed = serializers.IntegerField(help_text="closed cases reviewed")
    average_score = serializers.DecimalField(
        source="average", max_digits=4, decimal_places=1, allow_null=True
    )
    grades = GradeCountsOutput(help_text="reviews per grade")
