from django.contrib.auth import views as auth_views
from django.urls import path

from weibao.accounts import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password-change"),
    path(
        "accounts/password/done/",
        views.PasswordChangeDoneView.as_view(),
        name="password-change-done",
    ),
    path("agencies/", views.agencies, name="agencies"),
    path("jurisdictions/", views.jurisdictions, name="jurisdictions"),
    path("enterprises/<int:pk>/invite/", views.invitation_create, name="invitation-create"),
    path("invite/<str:token>/", views.invitation_accept, name="invitation-accept"),
]
