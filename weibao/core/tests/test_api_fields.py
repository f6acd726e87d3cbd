"""The strict input fields every API serializer uses."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from weibao.core.api.serializers import StrictCharField


class Reason(serializers.Serializer[dict[str, str]]):
    reason = StrictCharField(max_length=5)


@pytest.mark.parametrize(
    ("sent", "valid"),
    [
        ("abcde", True),
        ("  abc  ", False),  # 7 characters as sent: the schema's maxLength is on those
        ("\x1fabcde", False),  # a control character Python counts as white space
        ("abcdef", False),
        (5, False),
    ],
)
def test_length_is_checked_on_the_text_as_sent(sent: object, valid: bool) -> None:
    serializer = Reason(data={"reason": sent})
    assert serializer.is_valid() is valid
    if valid:
        assert serializer.validated_data["reason"] == sent


def test_white_space_is_still_trimmed_within_the_limit() -> None:
    serializer = Reason(data={"reason": " ab "})
    assert serializer.is_valid()
    assert serializer.validated_data["reason"] == "ab"
