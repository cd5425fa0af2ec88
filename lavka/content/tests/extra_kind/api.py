from rest_framework import serializers

from lavka.content.tests.extra_kind.models import QuoteBlock


class QuoteBlockSerializer(serializers.ModelSerializer):
    """A quote and who said it."""

    class Meta:
        model = QuoteBlock
        fields = ["text", "author"]
