from lavka.content.blocks import BlockKind, register
from lavka.content.tests.extra_kind.models import QuoteBlock


def register_quote() -> None:
    register(
        BlockKind(
            key="quote",
            model=QuoteBlock,
            template="content_extra_kind/quote.html",
            serializer="lavka.content.tests.extra_kind.api.QuoteBlockSerializer",
        )
    )
