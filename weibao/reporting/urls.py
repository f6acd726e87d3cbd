"""Pages of internal reports: the public reporting pages (no login) and the unit's and bureau's
pages. No receipt code ever appears in a URL: the status and escalation pages take it by POST."""

from django.urls import path

from weibao.reporting import downloads, views

urlpatterns = [
    # Public (the poster's QR code; the receipt holder).
    path("r/status/", views.report_status, name="report-status"),
    path("r/status/escalate/", views.report_escalate, name="report-escalate"),
    path("r/<str:token>/", views.report_public, name="report-public"),
    # Signed in.
    path("reports/", views.report_list, name="report-list"),
    path("reports/new/", views.report_create, name="report-create"),
    path("reports/mine/", views.report_mine, name="report-mine"),
    path("reports/policy/", views.report_policy, name="report-policy"),
    path("reports/oversight/", views.report_oversight, name="report-oversight"),
    path("reports/poster.pdf", downloads.poster, name="report-poster"),
    path("reports/export.xlsx", downloads.reports_export, name="report-export"),
    path("reports/<int:pk>/", views.report_detail, name="report-detail"),
    path("reports/<int:pk>/photos/<int:photo_pk>/", views.report_photo, name="report-photo"),
    path("reports/<int:pk>/reporter/", views.report_reporter, name="report-reporter"),
    path("reports/<int:pk>/<slug:action>/", views.report_action, name="report-action"),
]
