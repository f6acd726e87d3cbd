"""Pages of the enforcement app (cases, provisions, reviews)."""

from django.urls import path

from weibao.enforcement import views

urlpatterns = [
    path("cases/", views.case_list, name="case-list"),
    path("cases/new/", views.case_create, name="case-create"),
    path("cases/reviews/", views.case_reviews, name="case-reviews"),
    path("cases/provisions/", views.provision_list, name="provision-list"),
    path("cases/<int:pk>/", views.case_detail, name="case-detail"),
    path("cases/<int:pk>/edit/", views.case_edit, name="case-edit"),
    path("cases/<int:pk>/documents/<int:doc_pk>/", views.case_document, name="case-document"),
    path("cases/<int:pk>/<slug:action>/", views.case_action, name="case-action"),
]
