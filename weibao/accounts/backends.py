from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend


class UserBackend(ModelBackend):
    """ModelBackend that loads the user's agency with the user: every request needs it."""

    def get_user(self, user_id: Any) -> Any:
        from weibao.accounts.models import User

        try:
            user = User.objects.select_related("agency").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
