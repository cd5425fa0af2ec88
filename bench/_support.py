"""What the benches share: a fresh database for the run, worker processes on the
configured broker, the simulators as their own processes, free ports; and for the
throughput benches, gunicorn on production settings and the HTTP load (wrk, or a Python
generator) measured in rounds.

Imported before Django is set up (`fresh_environment` decides the settings); the
functions that read the database import Django's parts themselves.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def wait_for_http(port: int, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer {path} on port {port}")


def fresh_environment(tmp: Path, *, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """The bench's environment, also applied to this process: the real settings, files
    under `tmp`, and a fresh database (a SQLite file in `tmp`, or `<name>_bench` made
    anew on the PostgreSQL server of DATABASE_URL). `drop`: variables to unset."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "lavka.settings"
    env["LAVKA_VAR_DIR"] = str(tmp)
    env.setdefault("LOG_LEVEL", "WARNING")  # a line per HTTP call would be measured too
    for name in drop:
        env.pop(name, None)
        os.environ.pop(name, None)
    database_url = env.get("DATABASE_URL", "")
    if database_url.startswith("postgres"):
        base, _, name = database_url.rpartition("/")
        bench_name = f"{name or 'lavka'}_bench"
        admin = f"{base}/postgres"
        subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {bench_name}"], check=True)
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {bench_name}"], check=True)
        env["DATABASE_URL"] = f"{base}/{bench_name}"
    os.environ.update(env)
    return env


def start_worker(
    env: dict[str, str], log_path: Path, *, hostname: str, queues: str
) -> subprocess.Popen[bytes]:
    """One Celery worker process (concurrency 1) in its own session, its output in
    `log_path`; started, not yet known to be consuming."""
    from lavka.core.tests.support import celery_worker_command

    log = open(log_path, "wb")  # noqa: SIM115 - the process holds it
    return subprocess.Popen(
        celery_worker_command(hostname=hostname, queues=queues, loglevel="WARNING"),
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_workers(
    count: int, env: dict[str, str], log_dir: Path, *, queues: str, name: str = "bench"
) -> list[subprocess.Popen[bytes]]:
    """`count` worker processes (concurrency 1 each), returned once each has written its
    heartbeat row (it is connected and consuming), so the clock starts with them ready."""
    from lavka.core.models import WorkerHeartbeat

    procs, hostnames = [], []
    for number in range(count):
        hostname = f"{name}{number}-{time.time_ns()}@localhost"
        hostnames.append(hostname)
        log_path = log_dir / f"{hostname.split('@')[0]}.log"
        procs.append(start_worker(env, log_path, hostname=hostname, queues=queues))
    deadline = time.monotonic() + 60
    while WorkerHeartbeat.objects.filter(hostname__in=hostnames).count() < count:
        if time.monotonic() > deadline or any(proc.poll() is not None for proc in procs):
            stop_workers(procs)
            raise RuntimeError(f"workers did not start; see the logs in {log_dir}")
        time.sleep(0.2)
    time.sleep(1)  # the heartbeat comes as the consumer starts: let it reach the queues
    return procs


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to a process started in its own session (and its children); SIGKILL if it
    has not stopped in 30 s."""
    stop_workers([process])


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def start_simulator(name: str, log_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`python -m services.simulators.<name>` on a free loopback port; its URL."""
    port = free_port()
    log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 - the process holds it
    process = subprocess.Popen(
        [sys.executable, "-m", f"services.simulators.{name}", "--port", str(port)],
        cwd=BASE_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for_port(port)
    return process, f"http://127.0.0.1:{port}"


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


# --- the throughput benches: gunicorn on production settings, HTTP load in rounds ----------


def production_environment(
    tmp: Path, *, database_suffix: str, allowed_hosts: str
) -> tuple[dict[str, str], str | None]:
    """The environment of the bench and its gunicorn (and worker), also applied to this
    process: production settings on plain HTTP on loopback, files under `tmp`, a fresh
    database (a SQLite file in `tmp`, or `<name><database_suffix>` made anew on the
    PostgreSQL server of DATABASE_URL); and that PostgreSQL database, for
    `drop_database` at the end, if one was made."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="lavka.settings",
        LAVKA_VAR_DIR=str(tmp),
        # Production settings, on plain HTTP on loopback.
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_BEHIND_PROXY="false",
        DJANGO_ALLOWED_HOSTS=allowed_hosts,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.pop("EMAIL_URL", None)
    made_database = None
    database_url = env.get("DATABASE_URL", "")
    if database_url.startswith("postgres"):
        base, _, name = database_url.rpartition("/")
        name = name.split("?", 1)[0] or "lavka"
        made = f"{name}{database_suffix}"
        admin = f"{base}/postgres"
        subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{made}"'], check=True)
        subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{made}"'], check=True)
        env["DATABASE_URL"] = f"{base}/{made}"
        made_database = f"{admin}|{made}"
    os.environ.update(env)
    return env, made_database


def drop_database(made: str | None) -> None:
    if made:
        admin, name = made.split("|")
        subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])


def start_gunicorn(
    env: dict[str, str], port: int, log_dir: Path, application: str, *options: str
) -> subprocess.Popen[bytes]:
    """gunicorn serving `application` with 2 sync workers, its output in
    `log_dir/gunicorn.log`; `options`: more of its command-line options."""
    gunicorn = VENV_BIN / "gunicorn"
    log = open(log_dir / "gunicorn.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [
            str(gunicorn if gunicorn.exists() else "gunicorn"),
            application,
            f"--bind=127.0.0.1:{port}",
            "--workers=2",
            "--backlog=2048",
            *options,
            f"--chdir={BASE_DIR}",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@dataclass
class LoadResult:
    requests_per_second: float
    p99_ms: float
    completed: int
    bad: int  # responses other than 2xx/3xx, and socket errors


Load = Callable[[str, float, int, int], LoadResult]

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def run_wrk(url: str, duration: float, threads: int, connections: int) -> LoadResult:
    output = subprocess.run(
        [
            shutil.which("wrk") or "/usr/bin/wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--latency",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    completed = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_ok = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    bad = int(non_ok.group(1)) if non_ok else 0
    if errors:
        bad += sum(int(n) for n in errors.groups())
    return LoadResult(
        requests_per_second=rate,
        p99_ms=float(p99.group(1)) * UNITS_MS[p99.group(2)] if p99 else float("nan"),
        completed=completed,
        bad=bad,
    )


def run_python_load(url: str, duration: float, threads: int, connections: int) -> LoadResult:
    """wrk's job with threads and http.client, when wrk is not installed (slower)."""
    match = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    assert match is not None
    host, port, path = match.group(1), int(match.group(2)), match.group(3)
    latencies: list[float] = []
    bad = 0
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def client() -> None:
        nonlocal bad
        mine: list[float] = []
        failures = 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection(host, port, timeout=10)
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                connection.close()
                if response.status >= 400:
                    failures += 1
            except OSError:
                failures += 1
                continue
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            bad += failures

    started = time.monotonic()
    workers = [threading.Thread(target=client) for _ in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
    return LoadResult(len(latencies) / elapsed, p99, len(latencies), bad)


def combine(rows: list[LoadResult]) -> LoadResult:
    """Rounds of one endpoint: the mean rate, the median p99, all responses."""
    p99s = sorted(row.p99_ms for row in rows)
    return LoadResult(
        requests_per_second=sum(row.requests_per_second for row in rows) / len(rows),
        p99_ms=p99s[len(p99s) // 2],
        completed=sum(row.completed for row in rows),
        bad=sum(row.bad for row in rows),
    )


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """--duration, --rounds, --threads and --connections, read by `measure_in_rounds`."""
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per endpoint")
    parser.add_argument(
        "--rounds", type=int, default=4, help="turns the endpoints take within --duration"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)


def choose_load(python_load: bool) -> tuple[Load, bool]:
    """wrk if it is installed and not refused (`--python-load`), else the Python
    generator; and whether it is wrk."""
    use_wrk = not python_load and shutil.which("wrk") is not None
    return (run_wrk if use_wrk else run_python_load), use_wrk


def measure_in_rounds(
    load: Load, root: str, targets: dict[str, str], args: argparse.Namespace
) -> dict[str, LoadResult]:
    """Each of `targets` (name: path under `root`) warmed up, then loaded for
    ``args.duration`` seconds in all, the endpoints taking turns ``args.rounds`` times so
    that other work on the machine weighs on all of them alike; a line a turn, and each
    endpoint's rounds combined."""
    for path in targets.values():  # warm up: imports, caches, connections
        load(f"{root}{path}", min(2.0, args.duration), args.threads, args.connections)
    width = max(len(name) for name in targets) + 1
    rounds: dict[str, list[LoadResult]] = {name: [] for name in targets}
    for number in range(args.rounds):
        for name, path in targets.items():
            row = load(f"{root}{path}", args.duration / args.rounds, args.threads, args.connections)
            rounds[name].append(row)
            print(
                f"round {number + 1} {name:<{width}}{row.requests_per_second:>9.0f} req/s  "
                f"p99 {row.p99_ms:7.1f} ms  ({row.completed} responses, {row.bad} bad)",
                flush=True,
            )
    return {name: combine(rows) for name, rows in rounds.items()}
