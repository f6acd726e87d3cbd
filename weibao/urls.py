from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from weibao.accounts import api as accounts_api
from weibao.core import views as core_views
from weibao.core.api.audit import AuditEntryViewSet
from weibao.core.api.notifications import NotificationViewSet
from weibao.core.api.tabular import import_urls
from weibao.enforcement import api as enforcement_api
from weibao.hazards import api as hazards_api
from weibao.inspections import api as inspections_api
from weibao.ledger import api as ledger_api
from weibao.ledger import api_firing as ledger_firing_api
from weibao.registry import api as registry_api
from weibao.registry.api import JurisdictionViewSet
from weibao.registry.imports import IMPORTER as REGISTRY_IMPORTER
from weibao.reporting import api as reporting_api

router = SimpleRouter(trailing_slash=True)
router.register("jurisdictions", JurisdictionViewSet, basename="jurisdiction")
router.register("agencies", accounts_api.AgencyViewSet, basename="agency")
router.register("audit", AuditEntryViewSet, basename="audit")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("enterprises", registry_api.EnterpriseViewSet, basename="enterprise")
router.register("permits", registry_api.PermitViewSet, basename="permit")
router.register("sites", registry_api.SiteViewSet, basename="site")
router.register("people", registry_api.PersonViewSet, basename="person")
router.register("certificates", registry_api.CertificateViewSet, basename="certificate")
inspections_api.register(router)
hazards_api.register(router)
enforcement_api.register(router)
reporting_api.register(router)
ledger_api.register(router)
ledger_firing_api.register(router)

api_v1 = [
    path("auth/token/", accounts_api.TokenView.as_view(), name="api-token"),
    path("auth/token/revoke/", accounts_api.TokenRevokeView.as_view(), name="api-token-revoke"),
    path("me/", accounts_api.MeView.as_view(), name="api-me"),
    *import_urls(REGISTRY_IMPORTER),
    *reporting_api.public_urlpatterns,
    *ledger_api.urlpatterns,
    *ledger_firing_api.urlpatterns,
    *router.urls,
]

urlpatterns = [
    path("", include("weibao.accounts.urls")),
    path("", include("weibao.core.urls")),
    path("", include("weibao.registry.urls")),
    path("", include("weibao.inspections.urls")),
    path("", include("weibao.hazards.urls")),
    path("", include("weibao.enforcement.urls")),
    path("", include("weibao.reporting.urls")),
    path("", include("weibao.ledger.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", core_views.healthz, name="healthz"),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "weibao.core.views.handler400"
handler403 = "weibao.core.views.handler403"
handler404 = "weibao.core.views.handler404"
handler500 = "weibao.core.views.handler500"
