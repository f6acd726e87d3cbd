from django.urls import path

from weibao.hazards import views

urlpatterns = [
    path("hazards/", views.hazard_list, name="hazard-list"),
    path("hazards/new/", views.hazard_create, name="hazard-create"),
    path("hazards/statistics/", views.hazard_statistics, name="hazard-statistics"),
    path("hazards/<int:pk>/", views.hazard_detail, name="hazard-detail"),
    path("hazards/<int:pk>/files/<int:file_pk>/", views.hazard_file, name="hazard-file"),
    path(
        "hazards/<int:pk>/acceptance-record.pdf",
        views.hazard_acceptance_record,
        name="hazard-acceptance-record",
    ),
    path("hazards/<int:pk>/<slug:action>/", views.hazard_action, name="hazard-action"),
]
