"""The embedded task broker: kombu's filesystem transport, with messages written safely.

Kombu writes a message straight into the queue folder, so a consumer polling the folder
can move and read the file before the producer has written it, get empty JSON and lose
the message (seen under load: a few in a few thousand). Here a message is written under
a hidden name that no consumer picks up, then renamed into the queue in one step.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: Any, message: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        hidden = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(hidden, "wb") as file:
                file.write(str_to_bytes(dumps(message)))
            os.replace(hidden, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
