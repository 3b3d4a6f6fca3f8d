"""KIE's clip made into the file a seller can put on their card as it is (issue 20).

:func:`frame` decides the picture: the preset's format exactly, cut from the
clip (``crop`` keeps the centre, where the prompt keeps the product; ``pad``
keeps all of it on a white field), never larger than the preset's frame nor
blown up past the clip's own pixels, both sides even.  :func:`finish` makes
it — H.264 (High, yuv420p) + AAC, the clip's frame rate, ``+faststart`` — and
makes it fit: a file over the preset's cap is encoded again at the bitrate its
duration allows (two tries at most).  :func:`cover` takes the cover frame
Telegram shows before the video plays.

What costs nothing is not paid for (bench/finish.py): a clip that already is
the frame asked for (9:16 or 16:9 as filmed, H.264 yuv420p, AAC or silent) is
only remuxed with its index first, no encode; an encode copies KIE's AAC sound
rather than encoding it again, until the file has to be made smaller; the
picture is scaled down by area averaging, the cheapest good downscaler.

Paths and settings in, files and facts out: nothing here knows about jobs.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from . import ffmpeg
from .ffmpeg import FFmpegError, Probe

__all__ = ["Frame", "Finished", "frame", "finish", "cover", "TooLarge", "COVER_SIDE_PX"]

#: Telegram's thumbnail: a JPEG at most 320 px a side (and 200 kB).
COVER_SIDE_PX = 320
#: What a re-encode aims under the cap, for the container and the encoder's drift.
SIZE_MARGIN = 0.92
#: Encodes at most: the first, then two that aim at a bitrate.
MAX_ENCODES = 3


class TooLarge(FFmpegError):
    """Even at the lowest bitrate tried, the file is over the cap."""


@dataclasses.dataclass(frozen=True)
class Frame:
    width: int
    height: int
    filter: str  # FFmpeg's -vf


@dataclasses.dataclass(frozen=True)
class Finished:
    path: Path
    probe: Probe
    encodes: int  # 0: remuxed as filmed; 1; more when it had to be made smaller
    cpu_s: float
    seconds: float

    @property
    def fallback(self) -> str:
        return "reencoded" if self.encodes > 1 else ""


def _ratio(aspect_ratio: str) -> tuple[int, int]:
    a, b = aspect_ratio.split(":")
    return int(a), int(b)


def frame(source: Probe, aspect_ratio: str, max_width: int, fit: str = "crop") -> Frame:
    """The output picture for ``source`` in ``aspect_ratio``: the largest
    ``a·k × b·k`` (``k`` even, so both sides are) that the clip's pixels and the
    preset's ``max_width`` allow."""
    a, b = _ratio(aspect_ratio)
    w, h = source.width, source.height
    if fit == "pad":  # all of the clip inside the frame: the frame holds the clip's larger side
        k_source = max(w / a, h / b)
    else:  # the frame cut from inside the clip
        k_source = min(w / a, h / b)
    k = max(2, math.floor(min(k_source, max_width / a) / 2) * 2)
    width, height = a * k, b * k
    if fit == "pad":
        scale = f"scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2:flags=area"
        vf = f"{scale},pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=white"
    else:  # cut first, then scale: fewer pixels through the scaler (bench/finish.py: ~5% less CPU)
        vf = f"crop='min(iw,ih*{a}/{b})':'min(ih,iw*{b}/{a})',scale={width}:{height}:flags=area"
    return Frame(width, height, f"{vf},setsar=1")


def finish(source: Path, source_probe: Probe, dest: Path, *, aspect_ratio: str, max_width: int, max_bytes: int,
           sound: bool, fit: str = "crop", x264_preset: str = "veryfast", crf: int = 23, audio_kbps: int = 128,
           timeout_s: float = 240.0, nice: int = 0) -> Finished:
    """Make ``source`` into ``dest`` in ``aspect_ratio``, under ``max_bytes``;
    FFmpeg runs at ``nice`` (:func:`ffmpeg.run`)."""
    picture = frame(source_probe, aspect_ratio, max_width, fit)
    keep_sound = sound and source_probe.audio_codec is not None
    copy_sound = keep_sound and source_probe.audio_codec == "aac"
    duration_s = max(source_probe.duration_s, 0.5)
    cpu_s = seconds = 0.0
    if _as_filmed(source_probe, picture):
        took = ffmpeg.run(_remux_args(source, dest, keep_sound), timeout_s=timeout_s, nice=nice)
        cpu_s, seconds = took.cpu_s, took.seconds
        if dest.stat().st_size <= max_bytes:
            return Finished(dest, ffmpeg.probe(dest), 0, cpu_s, seconds)
    # the bitrate asked: at first what the cap allows in all, under a margin
    rate, total_kbps = ["-crf", str(crf)], max_bytes * 8 / duration_s / 1000 * SIZE_MARGIN
    for encodes in range(1, MAX_ENCODES + 1):
        took = ffmpeg.run(_encode_args(source, dest, picture, source_probe.fps, rate, keep_sound, copy_sound,
                                       audio_kbps, x264_preset), timeout_s=timeout_s, nice=nice)
        cpu_s, seconds = cpu_s + took.cpu_s, seconds + took.seconds
        size = dest.stat().st_size
        if size <= max_bytes:
            return Finished(dest, ffmpeg.probe(dest), encodes, cpu_s, seconds)
        copy_sound = False  # made smaller: the sound too gets its share of the cap
        if encodes > 1:  # the encoder overshot what it was asked: ask less, by as much, aiming under the margin
            total_kbps *= max_bytes * SIZE_MARGIN / size
        audio_kbps = min(audio_kbps, max(32, int(total_kbps / 4))) if keep_sound else 0
        video_kbps = max(int(total_kbps - audio_kbps), 30)
        rate = ["-b:v", f"{video_kbps}k", "-maxrate", f"{video_kbps}k", "-bufsize", f"{video_kbps * 2}k"]
    raise TooLarge(f"{dest.stat().st_size} bytes after {MAX_ENCODES} encodes; cap {max_bytes}")


def _as_filmed(source: Probe, picture: Frame) -> bool:
    """Whether the clip already is the file asked for but for its index's place:
    the frame exactly, a picture every player takes, square pixels."""
    return ((source.width, source.height) == (picture.width, picture.height) and source.video_codec == "h264"
            and source.pixel_format == "yuv420p" and source.square_pixels
            and source.audio_codec in (None, "aac"))


def _remux_args(source: Path, dest: Path, keep_sound: bool) -> list[str]:
    return ["-i", str(source), "-map", "0:v:0", "-c:v", "copy", *_sound_args(keep_sound, True, 0),
            "-movflags", "+faststart", "-f", "mp4", str(dest)]


def _sound_args(keep_sound: bool, copy_sound: bool, audio_kbps: int) -> list[str]:
    """The clip's sound copied, encoded at ``audio_kbps``, or left out."""
    if not keep_sound:
        return ["-an"]
    if copy_sound:
        return ["-map", "0:a:0", "-c:a", "copy"]
    return ["-map", "0:a:0", "-c:a", "aac", "-b:a", f"{audio_kbps}k"]


def _encode_args(source: Path, dest: Path, picture: Frame, fps: float | None, rate: list[str], keep_sound: bool,
                 copy_sound: bool, audio_kbps: int, x264_preset: str) -> list[str]:
    args = ["-i", str(source), "-map", "0:v:0", "-vf", picture.filter, "-c:v", "libx264", "-preset", x264_preset,
            *rate, "-profile:v", "high", "-pix_fmt", "yuv420p"]
    if fps:
        args += ["-r", f"{fps:g}"]
    return [*args, *_sound_args(keep_sound, copy_sound, audio_kbps), "-movflags", "+faststart", "-f", "mp4", str(dest)]


def cover(video: Path, dest: Path, *, at_s: float = 0.5, timeout_s: float = 30.0, nice: int = 0) -> Path:
    """The cover frame: the picture at ``at_s`` (the first second), as a JPEG at
    most :data:`COVER_SIDE_PX` a side."""
    side = COVER_SIDE_PX
    ffmpeg.run(["-ss", f"{at_s:g}", "-i", str(video), "-frames:v", "1", "-vf",
                f"scale={side}:{side}:force_original_aspect_ratio=decrease", "-q:v", "5", "-f", "image2",
                str(dest)], timeout_s=timeout_s, nice=nice)
    return dest
