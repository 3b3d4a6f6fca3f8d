"""FFmpeg, as the project installs it (the ``imageio-ffmpeg`` wheel ships a static
build with libx264 and AAC): the binary, one bounded run of it, and what a file
holds (:func:`probe`), read from FFmpeg's own description of its input and from
the mp4's top-level boxes (whether the index, ``moov``, comes before the media,
``mdat``: what ``+faststart`` does, so a player starts before the download ends).

Nothing here knows about jobs: paths in, facts or files out.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import shutil
import subprocess
import time
from pathlib import Path

__all__ = ["FFmpegError", "FFmpegTimeout", "Probe", "binary", "run", "probe", "mp4_boxes"]


class FFmpegError(Exception):
    """FFmpeg could not read or write a file; the message is FFmpeg's last lines."""


class FFmpegTimeout(FFmpegError):
    """A run took longer than it was allowed."""


@functools.cache
def binary() -> str:
    """The ffmpeg executable the ``imageio-ffmpeg`` wheel carries."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclasses.dataclass(frozen=True)
class Run:
    seconds: float  # wall time
    cpu_s: float  # user + system time of the ffmpeg process


def run(args: list[str], *, timeout_s: float, nice: int = 0) -> Run:
    """``ffmpeg -hide_banner -nostdin -y -benchmark <args>``, killed past ``timeout_s``;
    its wall and CPU time (FFmpeg's own ``bench:`` line).

    ``nice`` lowers the run's CPU priority (``nice -n``, so every thread FFmpeg
    starts has it): a host's I/O workers — polls, status edits, sends — then get
    the CPU first when they want it, and an encode takes what is left
    (bench/finish.py measures their lag while finishes run).

    FFmpeg runs in a session of its own (as the probe does): a stop signal sent to
    the worker's process group (systemd, honcho) is the worker's to handle — it
    lets the message in hand finish — and must not kill the run under it, which
    would fail the job instead."""
    started = time.monotonic()
    lowered = [_nice(), "-n", str(nice)] if nice and _nice() else []
    process = subprocess.Popen([*lowered, binary(), "-hide_banner", "-nostdin", "-y", "-benchmark", *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise FFmpegTimeout(f"ffmpeg took longer than {timeout_s:.0f} s") from None
    if process.returncode != 0:
        raise FFmpegError(_last_lines(stderr))
    bench = _BENCH.search(stderr.decode(errors="replace"))
    return Run(time.monotonic() - started, float(bench[1]) + float(bench[2]) if bench else 0.0)


@functools.cache
def _nice() -> str | None:
    """coreutils' ``nice`` (it execs its command: the pid stays FFmpeg's)."""
    return shutil.which("nice")


_BENCH = re.compile(r"bench: utime=([\d.]+)s stime=([\d.]+)s")


def _last_lines(stderr: bytes, count: int = 3) -> str:
    lines = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return " | ".join(lines[-count:]) or "ffmpeg failed"


@dataclasses.dataclass(frozen=True)
class Probe:
    """What a media file holds, as far as delivery cares."""

    size: int
    duration_s: float
    width: int | None  # None: no video stream
    height: int | None
    fps: float | None
    video_codec: str | None
    audio_codec: str | None
    faststart: bool  # an mp4 whose moov comes before its mdat
    pixel_format: str | None = None  # the picture's, e.g. yuv420p
    square_pixels: bool = True  # no sample aspect ratio other than 1:1

    @property
    def has_video(self) -> bool:
        return self.width is not None


_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\S+.*?: Video: (\w+).*?, (\d{2,5})x(\d{2,5})(?:[ ,\[]).*?(?:([\d.]+) fps)?", re.S)
_AUDIO = re.compile(r"Stream #\S+.*?: Audio: (\w+)")
_PIXEL_FORMAT = re.compile(r": Video: [^,]+, (\w+)")
_SAR = re.compile(r"\[SAR (\d+):(\d+) ")


def probe(path: Path, *, timeout_s: float = 30.0) -> Probe:
    """What ``path`` holds; :class:`FFmpegError` when FFmpeg cannot read it at all."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise FFmpegError("the file is empty")
    process = subprocess.run([binary(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True,
                             timeout=timeout_s, start_new_session=True)
    info = process.stderr.decode(errors="replace")
    if "Invalid data found" in info or "moov atom not found" in info or "Input #0" not in info:
        raise FFmpegError(_last_lines(process.stderr))
    duration = _DURATION.search(info)
    video_line = next((line for line in info.splitlines() if ": Video: " in line), None)
    video = _VIDEO.search(video_line) if video_line else None
    fps = re.search(r"([\d.]+) fps", video_line) if video_line else None
    audio = _AUDIO.search(info)
    pixel_format = _PIXEL_FORMAT.search(video_line) if video_line else None
    sar = _SAR.search(video_line) if video_line else None
    return Probe(
        size=size,
        duration_s=(int(duration[1]) * 3600 + int(duration[2]) * 60 + float(duration[3])) if duration else 0.0,
        width=int(video[2]) if video else None,
        height=int(video[3]) if video else None,
        fps=float(fps[1]) if fps else None,
        video_codec=video[1] if video else None,
        audio_codec=audio[1] if audio else None,
        faststart=_moov_first(path),
        pixel_format=pixel_format[1] if pixel_format else None,
        square_pixels=sar is None or sar[1] == sar[2],
    )


def mp4_boxes(path: Path, limit: int = 64) -> list[str]:
    """The types of the file's top-level boxes, in order (``ftyp``, ``moov``, ``mdat``, …)."""
    boxes = []
    with open(path, "rb") as file:
        while len(boxes) < limit:
            header = file.read(8)
            if len(header) < 8:
                break
            size, kind = int.from_bytes(header[:4], "big"), header[4:8].decode("latin-1")
            if size == 1:  # a 64-bit size follows
                size = int.from_bytes(file.read(8), "big")
                skip = size - 16
            elif size == 0:  # to the end of the file
                boxes.append(kind)
                break
            else:
                skip = size - 8
            if skip < 0:
                break
            boxes.append(kind)
            file.seek(skip, 1)
    return boxes


def _moov_first(path: Path) -> bool:
    boxes = mp4_boxes(path)
    return "moov" in boxes and ("mdat" not in boxes or boxes.index("moov") < boxes.index("mdat"))
