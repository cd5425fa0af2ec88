"""Exercise kind and repetition count from a pose trace: pure functions over joint
angles in time, so they are tested on traces built in the tests.

A repetition of every supported exercise is one cycle of a joint angle from open to
closed and back: the knee for squats, the elbow for push-ups, pull-ups and dips. The
angle is smoothed, then counted with hysteresis (two thresholds inside the observed
range), so jitter around one threshold never counts twice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

EXERCISES = ("squats", "push-ups", "pull-ups", "dips")

# Smallest swing of the counted angle, in degrees, that is movement and not jitter.
MIN_AMPLITUDE = 35.0
# Thresholds sit this far inside the observed range from each end (fraction of range).
HYSTERESIS_MARGIN = 0.3
# The torso this far from vertical (degrees) is lying: push-ups.
LYING_TILT = 50.0


@dataclass(frozen=True)
class PoseSample:
    """One frame's pose reduced to what counting needs (angles in degrees).

    knee: hip-knee-ankle angle; elbow: shoulder-elbow-wrist angle; torso_tilt: angle of
    the shoulder-to-hip line from vertical; wrists_above_shoulders: the wrists are higher
    in the picture than the shoulders (hanging from a bar).
    """

    time: float
    knee: float
    elbow: float
    torso_tilt: float
    wrists_above_shoulders: bool


@dataclass(frozen=True)
class Repetition:
    start: float
    bottom: float
    end: float


@dataclass(frozen=True)
class ExerciseResult:
    exercise: str | None
    repetitions: list[Repetition]
    counted_angle: str | None

    @property
    def count(self) -> int:
        return len(self.repetitions)


def smooth(values: Sequence[float], window: int = 3) -> list[float]:
    """Centred moving average, window shrinking at the ends."""
    if window <= 1 or len(values) < 3:
        return list(values)
    half = window // 2
    out = []
    for i in range(len(values)):
        chunk = values[max(0, i - half) : i + half + 1]
        out.append(sum(chunk) / len(chunk))
    return out


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def count_cycles(
    times: Sequence[float], angles: Sequence[float], *, window: int = 3
) -> list[Repetition]:
    """Open-closed-open cycles of an angle, each with its start, deepest point and end.

    Counting starts once the angle has been open; a cycle ends when it is open again.
    """
    if len(times) != len(angles):
        raise ValueError("times and angles differ in length")
    values = smooth(angles, window)
    if len(values) < 3:
        return []
    low_end, high_end = percentile(values, 0.05), percentile(values, 0.95)
    span = high_end - low_end
    if span < MIN_AMPLITUDE:
        return []
    closed_below = low_end + HYSTERESIS_MARGIN * span
    open_above = high_end - HYSTERESIS_MARGIN * span
    repetitions: list[Repetition] = []
    state = "unknown"
    start = bottom_time = 0.0
    bottom_value = math.inf
    for moment, value in zip(times, values, strict=True):
        if state in ("unknown", "open") and value >= open_above:
            state, start = "open", moment
        elif state == "open" and value <= closed_below:
            state, bottom_value, bottom_time = "closed", value, moment
        elif state == "closed":
            if value < bottom_value:
                bottom_value, bottom_time = value, moment
            if value >= open_above:
                repetitions.append(Repetition(start=start, bottom=bottom_time, end=moment))
                state, start, bottom_value = "open", moment, math.inf
    return repetitions


def classify(samples: Sequence[PoseSample]) -> str | None:
    """The exercise a trace shows, or None when it shows no large movement."""
    if len(samples) < 3:
        return None
    knee = smooth([s.knee for s in samples])
    elbow = smooth([s.elbow for s in samples])
    knee_span = percentile(knee, 0.95) - percentile(knee, 0.05)
    elbow_span = percentile(elbow, 0.95) - percentile(elbow, 0.05)
    if max(knee_span, elbow_span) < MIN_AMPLITUDE:
        return None
    tilt = percentile([s.torso_tilt for s in samples], 0.5)
    if tilt >= LYING_TILT:
        return "push-ups"
    if knee_span > elbow_span:
        return "squats"
    hanging = sum(s.wrists_above_shoulders for s in samples) / len(samples)
    return "pull-ups" if hanging >= 0.5 else "dips"


def analyse(samples: Sequence[PoseSample]) -> ExerciseResult:
    """Exercise kind and its repetitions, counted on the angle that moves in it."""
    exercise = classify(samples)
    if exercise is None:
        return ExerciseResult(exercise=None, repetitions=[], counted_angle=None)
    angle = "knee" if exercise == "squats" else "elbow"
    times = [s.time for s in samples]
    values = [getattr(s, angle) for s in samples]
    return ExerciseResult(
        exercise=exercise, repetitions=count_cycles(times, values), counted_angle=angle
    )
