from django.urls import path

from weibao.inspections import views

urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaign-list"),
    path("campaigns/new/", views.campaign_create, name="campaign-create"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign-detail"),
    path("campaigns/<int:pk>/edit/", views.campaign_edit, name="campaign-edit"),
    path("campaigns/<int:pk>/draw/", views.campaign_draw, name="campaign-draw"),
    path("inspections/", views.inspection_list, name="inspection-list"),
    path("inspections/new/", views.inspection_create, name="inspection-create"),
    path("inspections/<int:pk>/", views.inspection_detail, name="inspection-detail"),
    path("inspections/<int:pk>/edit/", views.inspection_edit, name="inspection-edit"),
    path("inspections/<int:pk>/photos/", views.inspection_photo_add, name="inspection-photo-add"),
    path(
        "inspections/<int:pk>/photos/<int:photo_pk>/",
        views.inspection_photo,
        name="inspection-photo",
    ),
    path(
        "inspections/<int:pk>/signature/", views.inspection_signature, name="inspection-signature"
    ),
    path(
        "inspections/<int:pk>/rectification-notice.pdf",
        views.inspection_notice,
        name="inspection-notice",
    ),
]
