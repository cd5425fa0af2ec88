"""The embedded broker loses no message while producers and a consumer race."""

from __future__ import annotations

import contextlib
import multiprocessing
from pathlib import Path

from kombu import Connection

PRODUCERS = 3
MESSAGES_EACH = 1500


def connect(folder: Path) -> Connection:
    return Connection(
        "filesystem://",
        transport="lavka.core.broker:Transport",
        transport_options={
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "processed_folder": str(folder.parent / "processed"),
            "control_folder": str(folder.parent / "control"),
            "store_processed": False,
        },
    )


def produce(folder: str, producer: int) -> None:
    with connect(Path(folder)) as connection:
        queue = connection.SimpleQueue("race")
        for number in range(MESSAGES_EACH):
            queue.put({"producer": producer, "number": number, "padding": "x" * 2000})
        queue.close()


def test_messages_written_while_a_consumer_polls_all_arrive_whole(tmp_path: Path) -> None:
    # given producer processes writing into the queue folder
    folder = tmp_path / "queue"
    folder.mkdir()
    (tmp_path / "processed").mkdir()
    context = multiprocessing.get_context("spawn")
    producers = [
        context.Process(target=produce, args=(str(folder), index)) for index in range(PRODUCERS)
    ]
    for process in producers:
        process.start()

    # when a consumer reads as fast as it can at the same time
    received = set()
    with connect(folder) as connection:
        queue = connection.SimpleQueue("race")
        while len(received) < PRODUCERS * MESSAGES_EACH:
            message = queue.get(block=True, timeout=30)
            received.add((message.payload["producer"], message.payload["number"]))
            message.ack()
        queue.close()
    for process in producers:
        process.join(timeout=30)

    # then every message arrived, once, and nothing is left half-written
    assert received == {(p, n) for p in range(PRODUCERS) for n in range(MESSAGES_EACH)}
    assert list(folder.iterdir()) == []


def test_a_message_appears_in_the_queue_folder_only_when_it_is_whole(tmp_path: Path) -> None:
    import os
    import threading

    # given a watcher noting the size of every queued message file it sees
    folder = tmp_path / "queue"
    folder.mkdir()
    (tmp_path / "processed").mkdir()
    seen: dict[str, set[int]] = {}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for name in os.listdir(folder):
                if name.endswith(".msg"):
                    with contextlib.suppress(FileNotFoundError):
                        seen.setdefault(name, set()).add(os.stat(folder / name).st_size)

    watcher = threading.Thread(target=watch)
    watcher.start()

    # when large messages are put (each takes a while to write)
    try:
        with connect(folder) as connection:
            queue = connection.SimpleQueue("large")
            for number in range(5):
                queue.put({"number": number, "padding": "x" * 30_000_000})
            queue.close()
    finally:
        stop.set()
        watcher.join()

    # then every message file was only ever seen at its full size
    final_sizes = {name: os.stat(folder / name).st_size for name in os.listdir(folder)}
    assert len(final_sizes) == 5
    assert seen and all(sizes == {final_sizes[name]} for name, sizes in seen.items())
