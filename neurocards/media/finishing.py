"""KIE's clip made into the file a seller can put on their card as it is (issue 20).

:func:`frame` decides the picture: the preset's format exactly, cut from the
clip (``crop`` keeps the centre, where the prompt keeps the product; ``pad``
keeps all of it on a white field), never larger than the preset's frame nor
blown up past the clip's own pixels, both sides even.  :func:`finish` encodes
it — H.264 (High, yuv420p) + AAC, the clip's frame rate, ``+faststart`` — and
makes it fit: a file over the preset's cap is encoded again at the bitrate its
duration allows (two tries at most).  :func:`cover` takes the cover frame
Telegram shows before the video plays.

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
    encodes: int  # 1, or more when it had to be made smaller
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
        scale = f"scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2"
        vf = f"{scale},pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=white"
    else:  # cut first, then scale: fewer pixels through the scaler (bench/finish.py: ~5% less CPU)
        vf = f"crop='min(iw,ih*{a}/{b})':'min(ih,iw*{b}/{a})',scale={width}:{height}"
    return Frame(width, height, f"{vf},setsar=1")


def finish(source: Path, source_probe: Probe, dest: Path, *, aspect_ratio: str, max_width: int, max_bytes: int,
           sound: bool, fit: str = "crop", x264_preset: str = "veryfast", crf: int = 23, audio_kbps: int = 128,
           timeout_s: float = 240.0) -> Finished:
    """Encode ``source`` into ``dest`` in ``aspect_ratio``, under ``max_bytes``."""
    picture = frame(source_probe, aspect_ratio, max_width, fit)
    keep_sound = sound and source_probe.audio_codec is not None
    duration_s = max(source_probe.duration_s, 0.5)
    cpu_s = seconds = 0.0
    rate, asked_kbps = ["-crf", str(crf)], max_bytes * 8 / duration_s / 1000  # what the cap allows in all
    for encodes in range(1, MAX_ENCODES + 1):
        took = ffmpeg.run(_encode_args(source, dest, picture, source_probe.fps, rate, keep_sound, audio_kbps,
                                       x264_preset), timeout_s=timeout_s)
        cpu_s, seconds = cpu_s + took.cpu_s, seconds + took.seconds
        size = dest.stat().st_size
        if size <= max_bytes:
            return Finished(dest, ffmpeg.probe(dest), encodes, cpu_s, seconds)
        # aim under the cap: the first time at what it allows, then less by as much as the last try overshot
        if encodes > 1:
            asked_kbps *= max_bytes / size
        total_kbps = asked_kbps * SIZE_MARGIN
        audio_kbps = min(audio_kbps, max(32, int(total_kbps / 4))) if keep_sound else 0
        video_kbps = max(int(total_kbps - audio_kbps), 30)
        rate = ["-b:v", f"{video_kbps}k", "-maxrate", f"{video_kbps}k", "-bufsize", f"{video_kbps * 2}k"]
    raise TooLarge(f"{dest.stat().st_size} bytes after {MAX_ENCODES} encodes; cap {max_bytes}")


def _encode_args(source: Path, dest: Path, picture: Frame, fps: float | None, rate: list[str], keep_sound: bool,
                 audio_kbps: int, x264_preset: str) -> list[str]:
    args = ["-i", str(source), "-map", "0:v:0", "-vf", picture.filter, "-c:v", "libx264", "-preset", x264_preset,
            *rate, "-profile:v", "high", "-pix_fmt", "yuv420p"]
    if fps:
        args += ["-r", f"{fps:g}"]
    if keep_sound:
        args += ["-map", "0:a:0", "-c:a", "aac", "-b:a", f"{audio_kbps}k"]
    else:
        args += ["-an"]
    return [*args, "-movflags", "+faststart", "-f", "mp4", str(dest)]


def cover(video: Path, dest: Path, *, at_s: float = 0.5, timeout_s: float = 30.0) -> Path:
    """The cover frame: the picture at ``at_s`` (the first second), as a JPEG at
    most :data:`COVER_SIDE_PX` a side."""
    side = COVER_SIDE_PX
    ffmpeg.run(["-ss", f"{at_s:g}", "-i", str(video), "-frames:v", "1", "-vf",
                f"scale={side}:{side}:force_original_aspect_ratio=decrease", "-q:v", "5", "-f", "image2",
                str(dest)], timeout_s=timeout_s)
    return dest
