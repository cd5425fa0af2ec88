from __future__ import annotations

from typing import Any

from allauth.account.utils import has_verified_email
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lavka.accounts import login_throttle, services
from lavka.accounts.actions import CreateApiToken
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


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, write_only=True, style={"input_type": "password"}
    )
    name = serializers.CharField(
        max_length=100, help_text=gettext_lazy("What uses it, e.g. 'accounting script'.")
    )

    def validate_name(self, name: str) -> str:
        try:
            return services.clean_token_name(name)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict["name"]) from error


class IssuedTokenSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="token.pk")
    name = serializers.CharField(source="token.name")
    prefix = serializers.CharField(source="token.prefix")
    created_at = serializers.DateTimeField(source="token.created_at")
    token = serializers.CharField(
        source="raw", help_text=gettext_lazy("Shown only this once; Lavka keeps only a hash.")
    )


class TokenErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(TokenErrorSerializer, description=description)


class TokenCreateView(APIView):
    """Trade an email and password for a personal API token (for scripts).

    The password is checked exactly like a login on the site, against the same lockout:
    five wrong passwords for an account, wherever they were typed, refuse the next ones
    for a while with 429 and Retry-After. Blocked accounts and unverified addresses get
    no token.
    """

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    serializer_class = TokenRequestSerializer

    @extend_schema(
        auth=[],
        request=TokenRequestSerializer,
        responses={
            201: IssuedTokenSerializer,
            400: _error("Invalid input, or a wrong email or password."),
            403: _error(
                "The account is blocked, its address is not verified yet, or it is not a creator."
            ),
            429: _error("Too many failed attempts; try again after Retry-After seconds."),
        },
    )
    def post(self, request: Request) -> Response:
        form = TokenRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        email, password = form.validated_data["email"], form.validated_data["password"]
        try:
            user = login_throttle.check_password(request._request, email=email, password=password)
        except login_throttle.LockedOut as locked:
            raise exceptions.Throttled(wait=locked.retry_after, detail=locked.message) from None
        if user is None:
            wrong = _("The email address and/or password you specified are not correct.")
            return Response(
                {"detail": wrong, "non_field_errors": [wrong]}, status=status.HTTP_400_BAD_REQUEST
            )
        if not user.is_active:
            reason = user.blocked_reason or _("No reason was given.")
            raise exceptions.PermissionDenied(_("This account is blocked: %s") % reason)
        if not has_verified_email(user):
            raise exceptions.PermissionDenied(
                _("Verify your email address first: follow the link in the email we sent.")
            )
        try:
            issued = CreateApiToken(user, user=user, name=form.validated_data["name"]).execute()
        except DjangoPermissionDenied:
            raise exceptions.PermissionDenied(
                _("The API is for creators; a manager grants the creator role.")
            ) from None
        except DjangoValidationError as error:
            raise exceptions.ValidationError({"name": error.messages}) from error
        return Response(IssuedTokenSerializer(issued).data, status=status.HTTP_201_CREATED)
