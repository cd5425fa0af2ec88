"""Sample inputs made here from material whose licence permits shipping it: a rendered
car plate, and videos of a drawn figure doing squats, pull-ups, dips and push-ups whose head is the
face from NASA's public-domain portrait of Eileen Collins (scikit-image's astronaut.png).

    services/vision/.venv/bin/python -m services.vision.samples OUTPUT_DIR

writes faces.png (the portrait itself), plate.png, squats.mp4, pull-ups.mp4, dips.mp4 and
push-ups.mp4.
Used by the tests and the bench; needs the test requirements (scikit-image, and
matplotlib's DejaVu font).
"""

from __future__ import annotations

import io
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PLATE_SIZE = (520, 112)  # GOST R 50577 type 1 plate, millimetres


def astronaut() -> np.ndarray:
    import skimage.data

    return np.asarray(skimage.data.astronaut())


def plate_font(size: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans Bold as matplotlib's wheel ships it (DejaVu fonts licence, free)."""
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"
    return ImageFont.truetype(str(path), size)


def render_plate(number: str, region: str) -> Image.Image:
    """A Russian private-car plate: white field, black rim, the number on the left, the
    region and RUS on the right."""
    width, height = PLATE_SIZE
    plate = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(plate)
    draw.rectangle([0, 0, width - 1, height - 1], outline="black", width=5)
    draw.line([(400, 0), (400, height)], fill="black", width=4)
    draw.text((200, 56), number, font=plate_font(84), fill="black", anchor="mm")
    region_size = 60 if len(region) == 2 else 46
    draw.text((460, 42), region, font=plate_font(region_size), fill="black", anchor="mm")
    draw.text((460, 92), "RUS", font=plate_font(18), fill="black", anchor="mm")
    return plate


def car_scene(number: str, region: str, plate_width: int = 260) -> np.ndarray:
    """A plain picture of the back of a dark car with the plate on its bumper; the plate
    sits at x 640 +- plate_width/2, y 500."""
    scene = Image.new("RGB", (1280, 720), (92, 96, 104))
    draw = ImageDraw.Draw(scene)
    draw.rectangle([300, 250, 980, 650], fill=(40, 40, 60))
    draw.rectangle([330, 280, 950, 420], fill=(120, 140, 160))
    plate = render_plate(number, region)
    size = (plate_width, round(plate_width * PLATE_SIZE[1] / PLATE_SIZE[0]))
    scene.paste(plate.resize(size, Image.Resampling.LANCZOS), (640 - plate_width // 2, 500))
    return np.asarray(scene)


# ---------------------------------------------------------------------------- figure


def _limb(
    draw: ImageDraw.ImageDraw,
    a: tuple[float, float],
    b: tuple[float, float],
    width: int,
    color: tuple[int, int, int],
) -> None:
    draw.line([a, b], fill=color, width=width)
    r = width // 2
    for x, y in (a, b):
        draw.ellipse([x - r, y - r, x + r, y + r], fill=color)


Point = tuple[float, float]
Joints = dict[str, dict[str, Point]]


def _head() -> Image.Image:
    return Image.fromarray(astronaut()).crop((165, 55, 280, 185))


def draw_person(
    joints: Joints,
    head: Image.Image,
    size: tuple[int, int],
    bars: Sequence[tuple[Point, Point]] = (),
) -> np.ndarray:
    """A drawn person, seen from the front, at these joint positions (left and right
    shoulder, elbow, wrist, hip, knee, ankle), with the given bars drawn first."""
    width, height = size
    image = Image.new("RGB", size, (205, 215, 225))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, height - 80, width, height], fill=(120, 110, 100))
    for a, b in bars:
        _limb(draw, a, b, 12, (90, 90, 90))
    trousers, shirt, skin = (40, 50, 120), (200, 60, 50), (225, 185, 160)
    for j in joints.values():
        _limb(draw, j["hip"], j["knee"], 44, trousers)
        _limb(draw, j["knee"], j["ankle"], 38, trousers)
        x, y = j["ankle"]
        draw.ellipse([x - 25, y - 8, x + 25, y + 14], fill=(30, 30, 30))
    left, right = joints["left"], joints["right"]
    draw.polygon(
        [
            left["shoulder"],
            right["shoulder"],
            (right["hip"][0] + 12, right["hip"][1]),
            (left["hip"][0] - 12, left["hip"][1]),
        ],
        fill=shirt,
    )
    for j in joints.values():
        _limb(draw, j["shoulder"], j["elbow"], 30, shirt)
        _limb(draw, j["elbow"], j["wrist"], 24, skin)
    cx = (left["shoulder"][0] + right["shoulder"][0]) / 2
    shoulder_y = (left["shoulder"][1] + right["shoulder"][1]) / 2
    _limb(draw, (cx, shoulder_y - 5), (cx, shoulder_y - 30), 34, skin)
    image.paste(head.resize((96, 108)), (int(cx - 48), int(shoulder_y - 130)))
    return np.asarray(image)


def _elbow(shoulder: Point, wrist: Point, upper: float, fore: float, outward: float) -> Point:
    """Where the elbow is, given shoulder and wrist, bending to the side `outward` (+1/-1)."""
    dx, dy = wrist[0] - shoulder[0], wrist[1] - shoulder[1]
    reach = max(1e-6, math.hypot(dx, dy))
    along = (upper**2 - fore**2 + reach**2) / (2 * reach)
    side = math.sqrt(max(0.0, upper**2 - along**2))
    ux, uy = dx / reach, dy / reach
    # The perpendicular that points away from the body's middle line.
    px, py = -uy, ux
    if px * outward < 0:
        px, py = -px, -py
    return (shoulder[0] + ux * along + px * side, shoulder[1] + uy * along + py * side)


def _reach(upper: float, fore: float, elbow_angle: float) -> float:
    angle = math.radians(elbow_angle)
    return math.sqrt(upper**2 + fore**2 - 2 * upper * fore * math.cos(angle))


def squat_frame(
    knee_angle: float, head: Image.Image | None = None, size: tuple[int, int] = (480, 640)
) -> np.ndarray:
    """A drawn person seen from the front at this knee angle (180 standing): the knees
    go out and the hips down as the angle closes. MediaPipe finds its pose."""
    width, height = size
    bend = math.radians((180 - knee_angle) / 2)
    thigh = shin = 130
    cx = width // 2
    floor = height - 90
    joints: Joints = {}
    for side, sign in (("left", -1), ("right", 1)):
        ankle = (cx + sign * 45, floor)
        knee = (ankle[0] + sign * shin * math.sin(bend) * 0.8, ankle[1] - shin * math.cos(bend))
        hip = (cx + sign * 35, knee[1] - thigh * math.cos(bend))
        joints[side] = {"ankle": ankle, "knee": knee, "hip": hip}
    shoulder_y = joints["left"]["hip"][1] - 170
    for side, sign in (("left", -1), ("right", 1)):
        joints[side]["shoulder"] = (cx + sign * 60, shoulder_y)
        joints[side]["elbow"] = (cx + sign * 75, shoulder_y + 90)
        joints[side]["wrist"] = (cx + sign * 80, shoulder_y + 175)
    return draw_person(joints, head or _head(), size)


def _hanging_body(cx: float, shoulder_y: float, joints: Joints) -> None:
    for side, sign in (("left", -1), ("right", 1)):
        hip = (cx + sign * 35, shoulder_y + 170)
        knee = (cx + sign * 38, hip[1] + 125)
        ankle = (cx + sign * 40, knee[1] + 120)
        joints.setdefault(side, {}).update(hip=hip, knee=knee, ankle=ankle)


def pull_up_frame(
    elbow_angle: float, head: Image.Image | None = None, size: tuple[int, int] = (480, 720)
) -> np.ndarray:
    """Hanging from a bar with a wide grip, seen from the front: as the elbows bend (out
    to the sides) the body rises towards the bar."""
    width, _ = size
    cx, bar_y, upper, fore = width / 2, 150.0, 95.0, 90.0
    joints: Joints = {}
    reach = _reach(upper, fore, elbow_angle)
    across = 110 - 60  # wrist is 110 px from the middle, shoulder 60
    shoulder_y = bar_y + 8 + math.sqrt(max(1.0, reach**2 - across**2))
    for side, sign in (("left", -1), ("right", 1)):
        wrist = (cx + sign * 110, bar_y + 8)
        shoulder = (cx + sign * 60, shoulder_y)
        joints[side] = {
            "wrist": wrist,
            "shoulder": shoulder,
            "elbow": _elbow(shoulder, wrist, upper, fore, sign),
        }
    _hanging_body(cx, shoulder_y, joints)
    return draw_person(joints, head or _head(), size, bars=[((40, bar_y), (width - 40, bar_y))])


def dip_frame(
    elbow_angle: float, head: Image.Image | None = None, size: tuple[int, int] = (480, 720)
) -> np.ndarray:
    """Supported on two parallel bars, seen from the front: as the elbows bend (out to
    the sides) the body sinks between the bars."""
    width, _ = size
    cx, bar_y, upper, fore = width / 2, 380.0, 95.0, 90.0
    joints: Joints = {}
    reach = _reach(upper, fore, elbow_angle)
    across = 95 - 60
    shoulder_y = bar_y - math.sqrt(max(1.0, reach**2 - across**2))
    for side, sign in (("left", -1), ("right", 1)):
        wrist = (cx + sign * 95, bar_y)
        shoulder = (cx + sign * 60, shoulder_y)
        joints[side] = {
            "wrist": wrist,
            "shoulder": shoulder,
            "elbow": _elbow(shoulder, wrist, upper, fore, sign),
        }
    _hanging_body(cx, shoulder_y, joints)
    bars = [((cx - 95, bar_y + 10), (cx - 95, 700)), ((cx + 95, bar_y + 10), (cx + 95, 700))]
    return draw_person(joints, head or _head(), size, bars=bars)


def push_up_frame(
    elbow_angle: float, head: Image.Image | None = None, size: tuple[int, int] = (720, 480)
) -> np.ndarray:
    """Seen from the side, head to the left, hands on the floor under the shoulders and
    the body straight to the feet: as the elbows bend (backwards) the body lowers."""
    width, height = size
    floor = height - 60
    upper, fore = 95.0, 90.0
    reach = _reach(upper, fore, elbow_angle)
    image = Image.new("RGB", size, (205, 215, 225))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, floor, width, height], fill=(120, 110, 100))
    wrist = (200.0, floor - 5.0)
    shoulder = (210.0, floor - 5 - math.sqrt(max(1.0, reach**2 - 100)))
    elbow = _elbow(shoulder, wrist, upper, fore, 1)
    ankle = (610.0, floor - 12.0)

    def along(fraction: float) -> Point:
        return (
            shoulder[0] + (ankle[0] - shoulder[0]) * fraction,
            shoulder[1] + (ankle[1] - shoulder[1]) * fraction,
        )

    hip, knee = along(0.45), along(0.72)
    trousers, shirt, skin = (40, 50, 120), (200, 60, 50), (225, 185, 160)
    for shift in (0, 8):  # the far leg a little behind the near one
        _limb(draw, (hip[0] + shift, hip[1]), (knee[0] + shift, knee[1]), 40, trousers)
        _limb(draw, (knee[0] + shift, knee[1]), (ankle[0] + shift, ankle[1]), 34, trousers)
    _limb(draw, shoulder, hip, 60, shirt)
    for shift in (0, 10):
        _limb(draw, (shoulder[0] + shift, shoulder[1]), (elbow[0] + shift, elbow[1]), 28, shirt)
        _limb(draw, (elbow[0] + shift, elbow[1]), (wrist[0] + shift, wrist[1]), 22, skin)
    image.paste(
        (head or _head()).resize((90, 100)), (int(shoulder[0] - 115), int(shoulder[1] - 75))
    )
    return np.asarray(image)


FRAME_MAKERS = {
    "squats": (squat_frame, 170.0, 90.0),
    "pull-ups": (pull_up_frame, 170.0, 70.0),
    "dips": (dip_frame, 170.0, 80.0),
    "push-ups": (push_up_frame, 170.0, 75.0),
}


def exercise_frames(
    exercise: str, repetitions: int, fps: int = 15, period: float = 2.0
) -> list[np.ndarray]:
    """A second at rest, N repetitions of `period` seconds, a second at rest."""
    make, rest, deepest = FRAME_MAKERS[exercise]
    head = _head()
    still = make(rest, head)
    frames = [still] * fps
    steps = round(fps * period)
    for _ in range(repetitions):
        for i in range(steps):
            depth = (1 - math.cos(2 * math.pi * i / steps)) / 2
            frames.append(make(rest - (rest - deepest) * depth, head))
    frames += [still] * fps
    return frames


def squat_frames(repetitions: int, fps: int = 15, period: float = 2.0) -> list[np.ndarray]:
    return exercise_frames("squats", repetitions, fps, period)


def encode_video(frames: list[np.ndarray], fps: int, codec: str = "mpeg4") -> bytes:
    """An MP4 file of these RGB frames; no frames gives a header with an empty stream."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.pix_fmt = "yuv420p"
        if frames:
            stream.height, stream.width = frames[0].shape[:2]
        else:
            stream.width, stream.height = 64, 64
            container.start_encoding()
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


def main(output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / "faces.png").write_bytes(png(astronaut()))
    (output / "plate.png").write_bytes(png(car_scene("А123ВС", "77")))
    for exercise in FRAME_MAKERS:
        (output / f"{exercise}.mp4").write_bytes(encode_video(exercise_frames(exercise, 3), 15))
    print(f"samples written to {output}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "vision-samples"))
