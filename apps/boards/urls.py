from django.urls import path

from apps.boards import views

app_name = "boards"
urlpatterns = [
    path("", views.board_list, name="list"),
    path("<int:pk>/", views.board_page, name="board"),
    path("<int:pk>/rename", views.rename, name="rename"),
    path("<int:pk>/share", views.share, name="share"),
    path("<int:pk>/delete", views.delete, name="delete"),
]
