"""Repetition counting and exercise recognition on pose traces built here."""

from __future__ import annotations

import math
import random

import pytest

from services.vision.repetitions import PoseSample, analyse, classify, count_cycles

FPS = 10.0


def trace(
    exercise: str, repetitions: int, *, period: float = 2.0, noise: float = 4.0, seed: int = 1
) -> list[PoseSample]:
    """N repetitions of an exercise as MediaPipe-derived angles would show them: the
    moving joint goes open-closed-open once a period, with jitter; a still second before
    and after."""
    rng = random.Random(seed)
    moving = {"squats": "knee"}.get(exercise, "elbow")
    open_angle, closed_angle = (175.0, 80.0) if moving == "knee" else (170.0, 75.0)
    tilt = 75.0 if exercise == "push-ups" else 8.0
    hanging = exercise == "pull-ups"
    samples = []
    total = 1.0 + repetitions * period + 1.0
    for i in range(int(total * FPS)):
        t = i / FPS
        phase = t - 1.0
        if 0 <= phase < repetitions * period:
            depth = (1 - math.cos(2 * math.pi * phase / period)) / 2
        else:
            depth = 0.0
        angle = open_angle - depth * (open_angle - closed_angle) + rng.gauss(0, noise)
        still = 172.0 + rng.gauss(0, noise)
        samples.append(
            PoseSample(
                time=t,
                knee=angle if moving == "knee" else still,
                elbow=angle if moving == "elbow" else 165.0 + rng.gauss(0, noise),
                torso_tilt=tilt + rng.gauss(0, 3),
                wrists_above_shoulders=hanging,
            )
        )
    return samples


@pytest.mark.parametrize("exercise", ["squats", "push-ups", "pull-ups", "dips"])
@pytest.mark.parametrize("repetitions", [1, 3, 8])
def test_n_repetitions_count_n(exercise: str, repetitions: int) -> None:
    result = analyse(trace(exercise, repetitions))
    assert result.exercise == exercise
    assert result.count == repetitions
    # Each repetition's deepest point is near the middle of its period.
    for number, repetition in enumerate(result.repetitions):
        expected_bottom = 1.0 + number * 2.0 + 1.0
        assert abs(repetition.bottom - expected_bottom) <= 0.4
        assert repetition.start < repetition.bottom < repetition.end


@pytest.mark.parametrize("period", [0.8, 1.5, 4.0])
def test_tempo_does_not_change_the_count(period: float) -> None:
    assert analyse(trace("squats", 5, period=period)).count == 5


def test_heavy_jitter_around_a_threshold_counts_once() -> None:
    times = [i / FPS for i in range(60)]
    # Open, then down to closed with jitter of +-15 degrees around the middle, back open.
    angles = [170.0] * 10 + [125 + (15 if i % 2 else -15) for i in range(10)] + [70.0] * 10
    angles += [125 + (15 if i % 2 else -15) for i in range(10)] + [170.0] * 20
    assert len(count_cycles(times, angles, window=1)) == 1


def test_standing_still_is_no_exercise() -> None:
    still = [
        PoseSample(
            time=i / FPS,
            knee=172 + (i % 3),
            elbow=165 - (i % 4),
            torso_tilt=5,
            wrists_above_shoulders=False,
        )
        for i in range(50)
    ]
    result = analyse(still)
    assert result.exercise is None
    assert result.count == 0


def test_too_short_a_trace_is_no_exercise() -> None:
    assert classify(trace("squats", 1)[:2]) is None
    assert count_cycles([0.0], [170.0]) == []


def test_a_repetition_cut_off_by_the_end_is_not_counted() -> None:
    samples = trace("dips", 3)
    # Stop at the bottom of the third repetition.
    cut = [s for s in samples if s.time <= 1.0 + 2 * 2.0 + 1.0]
    assert analyse(cut).count == 2


def test_times_and_angles_must_match() -> None:
    with pytest.raises(ValueError):
        count_cycles([0.0, 0.1], [170.0])
