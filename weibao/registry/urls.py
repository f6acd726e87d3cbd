from django.urls import path

from weibao.registry import views

urlpatterns = [
    path("enterprises/", views.enterprise_list, name="enterprise-list"),
    path("enterprises/new/", views.enterprise_create, name="enterprise-create"),
    path("enterprises/<int:pk>/", views.enterprise_detail, name="enterprise-detail"),
    path("enterprises/<int:pk>/edit/", views.enterprise_edit, name="enterprise-edit"),
    path("registry/import/", views.registry_import, name="registry-import"),
    path("enterprises/<int:pk>/add/<str:what>/", views.unit_add, name="unit-add"),
    path(
        "enterprises/<int:pk>/people/<int:person_pk>/certificates/add/",
        views.certificate_add,
        name="certificate-add",
    ),
]
