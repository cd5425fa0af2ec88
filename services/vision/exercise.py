"""Pose of each sampled video frame (MediaPipe Pose, model complexity 1, the one whose
weights ship inside the wheel) reduced to the angles that repetitions.py counts."""

from __future__ import annotations

import math
import os
from typing import Any

import cv2
import numpy as np

from .inputs import VideoFrames
from .repetitions import ExerciseResult, PoseSample, analyse

# MediaPipe Pose landmark indices, (left, right).
SHOULDER, ELBOW, WRIST, HIP, KNEE, ANKLE = (
    (11, 12),
    (13, 14),
    (15, 16),
    (23, 24),
    (25, 26),
    (27, 28),
)
SKELETON = [
    (11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24),
    (23, 24), (23, 25), (25, 27), (24, 26), (26, 28),
]  # fmt: skip
MIN_VISIBILITY = 0.3


def new_pose_model() -> Any:
    # MediaPipe's C++ logging (glog) prints a warning per graph; keep errors only.
    os.environ.setdefault("GLOG_minloglevel", "2")
    import mediapipe as mp

    return mp.solutions.pose.Pose(
        static_image_mode=False,
        model_complexity=1,
        smooth_landmarks=True,
        min_detection_confidence=0.5,
        min_tracking_confidence=0.5,
    )


def joint_angle(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> float:
    """Angle ABC in degrees."""
    ab = (a[0] - b[0], a[1] - b[1])
    cb = (c[0] - b[0], c[1] - b[1])
    norm = math.hypot(*ab) * math.hypot(*cb)
    if norm == 0:
        return math.nan
    cosine = max(-1.0, min(1.0, (ab[0] * cb[0] + ab[1] * cb[1]) / norm))
    return math.degrees(math.acos(cosine))


def sample_from_points(time: float, points: np.ndarray) -> PoseSample | None:
    """A PoseSample from 33 landmarks given as rows (x px, y px, visibility)."""

    def side_angle(first: tuple[int, int], middle: tuple[int, int], last: tuple[int, int]) -> float:
        best, best_visibility = math.nan, -1.0
        for side in (0, 1):
            ids = (first[side], middle[side], last[side])
            visibility = min(points[i, 2] for i in ids)
            if visibility > best_visibility:
                best_visibility = visibility
                best = joint_angle(*(tuple(points[i, :2]) for i in ids))  # type: ignore[arg-type]
        return best if best_visibility >= MIN_VISIBILITY else math.nan

    knee = side_angle(HIP, KNEE, ANKLE)
    elbow = side_angle(SHOULDER, ELBOW, WRIST)
    shoulders = points[list(SHOULDER), :2].mean(axis=0)
    hips = points[list(HIP), :2].mean(axis=0)
    wrists = points[list(WRIST), :2].mean(axis=0)
    dx, dy = hips[0] - shoulders[0], hips[1] - shoulders[1]
    tilt = math.degrees(math.atan2(abs(dx), abs(dy))) if (dx or dy) else 0.0
    if math.isnan(knee) and math.isnan(elbow):
        return None
    return PoseSample(
        time=time,
        knee=180.0 if math.isnan(knee) else knee,
        elbow=180.0 if math.isnan(elbow) else elbow,
        torso_tilt=tilt,
        wrists_above_shoulders=bool(wrists[1] < shoulders[1]),
    )


def landmarks_to_points(landmarks: Any, width: int, height: int) -> np.ndarray:
    return np.array(
        [(lm.x * width, lm.y * height, lm.visibility) for lm in landmarks.landmark],
        dtype=np.float64,
    )


def trace_video(pose: Any, video: VideoFrames) -> tuple[list[PoseSample], dict[int, np.ndarray]]:
    """Pose samples of the frames where a person is found, and their landmark points."""
    pose.reset()
    samples: list[PoseSample] = []
    points_by_frame: dict[int, np.ndarray] = {}
    for index, (frame, moment) in enumerate(zip(video.frames, video.times, strict=True)):
        found = pose.process(frame)
        if found.pose_landmarks is None:
            continue
        points = landmarks_to_points(found.pose_landmarks, frame.shape[1], frame.shape[0])
        sample = sample_from_points(moment, points)
        if sample is not None:
            samples.append(sample)
            points_by_frame[index] = points
    return samples, points_by_frame


def preview(
    video: VideoFrames, result: ExerciseResult, points_by_frame: dict[int, np.ndarray]
) -> np.ndarray:
    """The frame at the first repetition's deepest point (else the middle one), with the
    skeleton and the verdict drawn on it (RGB)."""
    if not video.frames:
        return np.zeros((64, 64, 3), dtype=np.uint8)
    index = len(video.frames) // 2
    if result.repetitions:
        target = result.repetitions[0].bottom
        index = min(range(len(video.times)), key=lambda i: abs(video.times[i] - target))
    image = np.ascontiguousarray(video.frames[index].copy())
    points = points_by_frame.get(index)
    if points is not None:
        for a, b in SKELETON:
            if min(points[a, 2], points[b, 2]) >= MIN_VISIBILITY:
                pa = (int(points[a, 0]), int(points[a, 1]))
                pb = (int(points[b, 0]), int(points[b, 1]))
                cv2.line(image, pa, pb, (0, 255, 0), 2)
        for x, y, visibility in points[11:29]:
            if visibility >= MIN_VISIBILITY:
                cv2.circle(image, (int(x), int(y)), 3, (255, 0, 0), -1)
    label = f"{result.exercise or 'no exercise'}: {result.count}"
    scale = max(0.4, image.shape[1] / 800)
    cv2.putText(image, label, (8, int(30 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 4)
    cv2.putText(
        image, label, (8, int(30 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 0), 2
    )
    return image


def analyse_video(pose: Any, video: VideoFrames) -> tuple[ExerciseResult, np.ndarray, int]:
    samples, points_by_frame = trace_video(pose, video)
    result = analyse(samples)
    return result, preview(video, result, points_by_frame), len(samples)
