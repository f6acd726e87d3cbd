"""Pages of internal reports: the public reporting pages and the unit's and bureau's pages."""

from typing import Any

urlpatterns: list[Any] = []
