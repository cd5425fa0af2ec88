#!/usr/bin/env python
"""Throughput of the reference vision service (services/vision), measured side by side in
one run: the service itself is started with uvicorn, 1 and then 2 worker processes, and
loaded by CLIENTS concurrent clients for --duration seconds per endpoint:

  faces     POST /v1/faces    NASA's astronaut portrait, 512 x 512 PNG   -> images/s
  plates    POST /v1/plates   a rendered car with a Russian plate, 1280 x 720 PNG -> images/s
  exercise  POST /v1/exercise a 9 s, 15 frames/s, 480 x 640 video of 3 squats -> frames/s
            (frames decoded per second; the pose model sees every 2nd, at ~7.5 frames/s)

Run it with the vision service's own environment (it has the sample makers' packages):

    make vision-env && services/vision/.venv/bin/python bench/vision.py [--duration 15]

With `--lavka`, it then measures Lavka's end-to-end latency (upload to result page) p50
and p95 under 10 concurrent visitors against a 1-worker service, beside the same call
made straight to the service: bench/demos_latency.py, run with Lavka's own .venv.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench._support import free_port  # noqa: E402
from services.vision import samples  # noqa: E402


def start_service(workers: int, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "services.vision.app:app",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--log-level", "warning",
        ],
        cwd=BASE_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    ready = 0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service stopped; see {log_path}")
        try:
            # Each worker loads its own models; wait until several answers say ready.
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                ready += 1
                if ready >= 3 * workers:
                    return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the service did not get ready; see {log_path}")


def stop_service(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def load(
    url: str, path: str, name: str, data: bytes, mime: str, clients: int, duration: float
) -> tuple[int, int, float]:
    """Requests done, units done (1 per image, frames per video), seconds."""
    done = [0, 0]
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def client() -> None:
        with httpx.Client(timeout=120) as session:
            while time.monotonic() < stop_at:
                response = session.post(url + path, files={"file": (name, data, mime)})
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:200]}")
                    return
                body = response.json()
                with lock:
                    done[0] += 1
                    done[1] += body.get("frames_decoded", 1)

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{path}: {errors[0]}")
    return done[0], done[1], time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per endpoint")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument(
        "--lavka", action="store_true", help="also Lavka's end-to-end latency (10 visitors)"
    )
    parser.add_argument("--lavka-only", action="store_true", help="only Lavka's latency")
    args = parser.parse_args()

    inputs = {
        "faces": (
            "/v1/faces",
            "faces.png",
            samples.png(samples.astronaut()),
            "image/png",
            "images/s",
        ),
        "plates": (
            "/v1/plates",
            "plate.png",
            samples.png(samples.car_scene("А123ВС", "77")),
            "image/png",
            "images/s",
        ),
        "exercise": (
            "/v1/exercise",
            "squats.mp4",
            samples.encode_video(samples.squat_frames(3), 15),
            "video/mp4",
            "frames/s",
        ),
    }
    log_dir = Path(os.environ.get("LAVKA_VAR_DIR", BASE_DIR / "var")) / "bench-vision"
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} CPUs; {args.clients} clients; {args.duration:g} s per endpoint; "
          f"VISION_CONCURRENCY={os.environ.get('VISION_CONCURRENCY', '2')} per worker")  # fmt: skip
    results: dict[str, dict[int, float]] = {key: {} for key in inputs}
    if args.lavka_only:
        args.workers, args.lavka = "", True
    for workers in [int(w) for w in args.workers.split(",") if w]:
        started = time.monotonic()
        process, url = start_service(workers, log_dir / f"uvicorn-{workers}.log")
        print(f"\n{workers} worker(s): ready in {time.monotonic() - started:.1f} s")
        try:
            for key, (path, name, data, mime, unit) in inputs.items():
                # One warm-up request per client, not counted.
                load(url, path, name, data, mime, args.clients, 0.0)
                requests, units, seconds = load(
                    url, path, name, data, mime, args.clients, args.duration
                )
                rate = units / seconds
                results[key][workers] = rate
                print(f"  {key:9} {rate:8.2f} {unit:9} ({requests} requests in {seconds:.1f} s, "
                      f"{seconds / max(1, requests) * args.clients:.2f} s per request)")  # fmt: skip
        finally:
            stop_service(process)
    if all(len(by_workers) == 2 for by_workers in results.values()):
        print("\nratio 2 workers / 1 worker:")
        for key, by_workers in results.items():
            low, high = sorted(by_workers)
            print(f"  {key:9} {by_workers[high] / by_workers[low]:.2f}")
    if args.lavka:
        lavka_latency(log_dir, inputs["faces"][2])


def lavka_latency(log_dir: Path, image: bytes) -> None:
    """Lavka's own environment runs the visitors (this one has no Django)."""
    sample = log_dir / "faces.png"
    sample.write_bytes(image)
    process, url = start_service(1, log_dir / "uvicorn-lavka.log")
    print("\nLavka end to end (1 service worker):")
    try:
        subprocess.run(
            [str(BASE_DIR / ".venv" / "bin" / "python"), str(BASE_DIR / "bench" / "demos_latency.py"),
             "--vision-url", url, "--image", str(sample)],
            cwd=BASE_DIR, check=True,
        )  # fmt: skip
    finally:
        stop_service(process)


if __name__ == "__main__":
    main()
