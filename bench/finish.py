"""How much finishing costs (issue 20): FFmpeg's CPU seconds and wall time per
finished video, for each preset, on an 8 s 1080x1920 clip with sound (a moving
test pattern made here by FFmpeg, as KIE's clip would arrive; the 16:9 preset
on a 1920x1080 one, as KIE films it), and the finished file's size.  Then the
same finishes run N at a time, as the media workers' threads would, for the
finishes per minute one host sustains.

Then what finishing does to the rest of the host (``--lag-jobs``, 0 to skip):
a real I/O worker (``pipeline`` queue, the pipeline's actors and a probe) and a
real media worker (``media`` queue, ``worker.media_threads``) on a real Redis
and SQLite, with the sandbox's Telegram.  Probes go to the I/O queue ten times
a second — sent to run at once, as a status edit is, and with a 1 s delay, as a
poll is — and note how late they ran: first with nothing else running, then
while that many jobs' 8 s clips are finished at once for Wildberries (and sent
to the chat).  FFmpeg runs at ``formats.nice`` (``--nice``).

    .venv/bin/python bench/finish.py [--seconds 8] [--runs 3] [--parallel 2] [--x264-preset veryfast]
                                     [--lag-jobs 20] [--nice 10]

Prints one line per preset (median of --runs), the parallel figure, then the
probes' lateness p50/p95/max idle and during the finishes, and the finishes
per minute.  The goals: at most 1 CPU-second per 8 s clip for a crop +
re-encode at veryfast, and no rise in the I/O queue's lag.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from neurocards.media import ffmpeg, finishing  # noqa: E402
from neurocards.settings import load_settings  # noqa: E402


def make_clip(folder: Path, seconds: int, size: str = "1080x1920") -> Path:
    path = folder / f"kie-{size}.mp4"
    ffmpeg.run(["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=24:duration={seconds}", "-f", "lavfi", "-i",
                f"sine=frequency=440:duration={seconds}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
                "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(path)],
               timeout_s=300)
    return path


def finish_once(clip: Path, probe, preset, fit: str, x264_preset: str, dest: Path) -> finishing.Finished:
    return finishing.finish(clip, probe, dest, aspect_ratio=preset.aspect_ratio, max_width=preset.width,
                            max_bytes=int(preset.max_mb * 1024 * 1024), sound=preset.sound, fit=fit,
                            x264_preset=x264_preset)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=2, help="finishes at once (the media threads)")
    parser.add_argument("--x264-preset", default=None, help="default: formats.x264_preset")
    parser.add_argument("--lag-jobs", type=int, default=20, help="finishes at once beside the I/O probes (0: skip)")
    parser.add_argument("--nice", type=int, default=None, help="FFmpeg's nice; default: formats.nice")
    parser.add_argument("--idle-s", type=float, default=10.0, help="probing with nothing else running")
    args = parser.parse_args()
    formats = load_settings().formats
    x264_preset = args.x264_preset or formats.x264_preset
    with tempfile.TemporaryDirectory(prefix="bench-finish-") as tmp:
        folder = Path(tmp)
        clip = make_clip(folder, args.seconds)
        filmed = {"16:9": make_clip(folder, args.seconds, "1920x1080")}
        probe = ffmpeg.probe(clip)
        print(f"clip: {probe.width}x{probe.height}, {probe.duration_s:.1f} s, {probe.size / 1e6:.1f} MB; "
              f"x264 preset {x264_preset}; median of {args.runs} runs")
        print(f"{'preset':<12} {'format':<6} {'out':>10} {'CPU s':>7} {'wall s':>7} {'MB':>6} encodes")
        for preset in formats.presets:
            fit = formats.fit.get(preset.aspect_ratio, "crop")
            source = filmed.get(preset.aspect_ratio, clip)
            runs = [finish_once(source, ffmpeg.probe(source), preset, fit, x264_preset, folder / f"{preset.name}.mp4")
                    for _ in range(args.runs)]
            out = runs[-1].probe
            print(f"{preset.name:<12} {preset.aspect_ratio:<6} {f'{out.width}x{out.height}':>10} "
                  f"{statistics.median(r.cpu_s for r in runs):7.2f} {statistics.median(r.seconds for r in runs):7.2f} "
                  f"{out.size / 1e6:6.2f} {runs[-1].encodes}")
        preset = formats.preset("", "3:4")
        count = args.parallel * args.runs
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(args.parallel) as pool:
            done = list(pool.map(lambda n: finish_once(clip, probe, preset, "crop", x264_preset,
                                                       folder / f"parallel-{n}.mp4"), range(count)))
        wall = time.monotonic() - started
        print(f"{count} finishes for {preset.name}, {args.parallel} at a time: {wall:.1f} s, "
              f"{count / wall * 60:.1f} per minute, {sum(d.cpu_s for d in done) / count:.2f} CPU s each")
        if args.lag_jobs:
            from bench.finish_lag import measure

            measure(clip, jobs=args.lag_jobs, x264_preset=x264_preset,
                    nice=formats.nice if args.nice is None else args.nice, idle_s=args.idle_s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
