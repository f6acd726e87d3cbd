from django.urls import path

from weibao.core import views

urlpatterns = [
    path("history/", views.audit_list, name="audit-list"),
    path("notifications/", views.notifications, name="notifications"),
    path("history/<str:object_type>/<str:object_id>/", views.audit_list, name="audit-object"),
]
