"""The WSGI application (`gunicorn weibao.wsgi`)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "weibao.settings")
application = get_wsgi_application()


def _settle() -> None:
    """Load what the first request would (URL patterns, the API's views, translations), then
    move everything loaded so far out of the garbage collector's reach: it lives as long as the
    process, and scanning it made every full collection an 80-100 ms pause in a request."""
    from django.urls import get_resolver
    from django.utils import translation

    get_resolver().reverse_dict  # noqa: B018 - imports every view module, builds the lookups
    for language in ("zh-hans", "en"):
        with translation.override(language):
            translation.gettext("Weibao")
    gc.collect()
    gc.freeze()


_settle()
