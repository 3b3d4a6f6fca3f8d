"""The clips the KIE stand-in hands out: real mp4s that FFmpeg makes once per
machine — a moving test pattern with a tone, 9:16 or 16:9 as the task asked, a
few seconds — so finishing, delivery and the web chat run on real video
locally.  Made into a cache folder beside the system's temporary files, each
written whole before it is seen."""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

from ..media import ffmpeg

__all__ = ["clip", "CLIP_SECONDS"]

#: How long a stand-in clip lasts.
CLIP_SECONDS = 3
#: The picture per aspect ratio KIE films (Veo makes 9:16 and 16:9).
SIZES = {"9:16": (360, 640), "16:9": (640, 360)}
#: Bumped when the recipe changes, so an old cached clip is not reused.
VERSION = 1


@functools.cache
def clip(aspect_ratio: str) -> bytes:
    """The clip for a task filmed in ``aspect_ratio`` (16:9 for anything Veo would not make 9:16)."""
    width, height = SIZES.get(aspect_ratio, SIZES["16:9"])
    folder = Path(tempfile.gettempdir()) / "neurocards-sandbox-clips"
    folder.mkdir(exist_ok=True)
    path = folder / f"v{VERSION}-{width}x{height}-{CLIP_SECONDS}s.mp4"
    if not path.is_file():
        part = folder / f".{path.name}.{os.getpid()}.part"
        ffmpeg.run(["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=24:duration={CLIP_SECONDS}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:duration={CLIP_SECONDS}", "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "28", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
                    "-shortest", "-movflags", "+faststart", "-f", "mp4", str(part)], timeout_s=60)
        os.replace(part, path)
    return path.read_bytes()
