from django.urls import path

from weibao.ledger import views
from weibao.ledger import views_declarations as declarations

urlpatterns = [
    path("ledger/", views.ledger_home, name="ledger-home"),
    path("ledger/items/<str:code>/", views.item_detail, name="ledger-item"),
    path("ledger/books/", views.unit_books, name="ledger-books"),
    path("ledger/books/site/<int:pk>/", views.site_books, name="ledger-site-books"),
    path("ledger/permits/", declarations.permit_list, name="ledger-permit-list"),
    path("ledger/permits/<int:pk>/", declarations.permit_detail, name="ledger-permit"),
    path("ledger/anomalies/", views.anomaly_list, name="ledger-anomaly-list"),
    path("ledger/anomalies/<int:pk>/", views.anomaly_detail, name="ledger-anomaly-detail"),
]
