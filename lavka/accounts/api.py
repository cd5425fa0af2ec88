from __future__ import annotations

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lavka.accounts.models import User
from lavka.core.roles import role_names


class MeSerializer(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "time_zone", "language", "roles", "date_joined"]

    def get_roles(self, user: User) -> list[str]:
        return sorted(role_names(user))


class MeView(APIView):
    """The account the request is authenticated as."""

    serializer_class = MeSerializer

    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)
