from django.urls import path

from lavka.content import views

app_name = "content"

urlpatterns = [
    path("blog/", views.blog, name="blog"),
    path("pages/<str:slug>/", views.page_detail, name="page_detail"),
]
