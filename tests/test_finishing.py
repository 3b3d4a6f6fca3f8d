"""Finishing with real FFmpeg on real files (issue 20): every format is exactly
what it says, under its cap, H.264 + AAC with the index first; a file over the
cap is made smaller; broken clips get a clear outcome.  The clips are made
here by FFmpeg (a moving pattern with a tone), as KIE's would arrive."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from neurocards.context import Context
from neurocards.errors import PipelineError
from neurocards.media import ffmpeg, finishing
from neurocards.media.local import finish_video
from neurocards.models import Job
from neurocards.settings import load_settings
from neurocards.users import register

SECONDS = 2


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """A 9:16 and a 16:9 clip with sound, one without, and broken files."""
    folder = tmp_path_factory.mktemp("clips")
    made = {}
    for name, size, sound in (("vertical", "360x640", True), ("horizontal", "640x360", True),
                              ("silent", "360x640", False)):
        path = folder / f"{name}.mp4"
        audio = ["-f", "lavfi", "-i", f"sine=frequency=440:duration={SECONDS}", "-c:a", "aac", "-shortest"]
        ffmpeg.run(["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={SECONDS}",
                    *(audio if sound else []), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    str(path)], timeout_s=60)
        made[name] = path
    whole = made["vertical"].read_bytes()
    made["truncated"] = folder / "truncated.mp4"
    made["truncated"].write_bytes(whole[: len(whole) // 3])  # the moov (faststart off: at the end) is gone
    made["empty"] = folder / "empty.mp4"
    made["empty"].write_bytes(b"")
    made["not_video"] = folder / "not_video.mp4"
    made["not_video"].write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 500)
    made["sound_only"] = folder / "sound_only.mp4"
    ffmpeg.run(["-f", "lavfi", "-i", f"sine=frequency=440:duration={SECONDS}", "-c:a", "aac",
                str(made["sound_only"])], timeout_s=60)
    return made


@pytest.mark.parametrize("ratio, max_width, size", [
    ("3:4", 900, (360, 480)),  # Wildberries / Ozon card, as large as the film allows
    ("4:5", 1080, (360, 450)),
    ("1:1", 1080, (360, 360)),
    ("9:16", 1080, (360, 640)),  # as filmed: remuxed, not encoded
    ("3:4", 240, (240, 320)),  # a preset frame smaller than the film
])
def test_a_vertical_film_is_finished_in_exactly_the_format_asked(clips, tmp_path, ratio, max_width, size):
    source = ffmpeg.probe(clips["vertical"])
    done = finishing.finish(clips["vertical"], source, tmp_path / "out.mp4", aspect_ratio=ratio,
                            max_width=max_width, max_bytes=50 * 2**20, sound=True, x264_preset="ultrafast")
    got = done.probe
    assert (got.width, got.height) == size
    assert got.width * int(ratio.split(":")[1]) == got.height * int(ratio.split(":")[0])
    assert (got.video_codec, got.audio_codec, got.fps) == ("h264", "aac", 25.0)
    assert got.faststart and ffmpeg.mp4_boxes(done.path).index("moov") < ffmpeg.mp4_boxes(done.path).index("mdat")
    assert got.duration_s == pytest.approx(SECONDS, abs=0.1)
    assert (done.encodes, done.fallback) == (0 if ratio == "9:16" else 1, "")


def test_a_clip_that_is_the_frame_asked_is_remuxed_with_its_index_first(clips, tmp_path):
    source = ffmpeg.probe(clips["vertical"])
    assert not source.faststart and source.pixel_format == "yuv420p"  # as KIE might send it
    done = finishing.finish(clips["vertical"], source, tmp_path / "out.mp4", aspect_ratio="9:16", max_width=1080,
                            max_bytes=50 * 2**20, sound=True, x264_preset="ultrafast")
    assert done.encodes == 0 and done.probe.faststart
    assert done.probe.video_codec == "h264" and done.probe.audio_codec == "aac"
    assert (done.probe.width, done.probe.height) == (360, 640) and done.probe.fps == 25.0
    # the same pictures, not a new encode: FFmpeg's per-frame checksums of the video streams match
    assert _frame_sums(done.path) == _frame_sums(clips["vertical"])


def test_a_clip_in_the_frame_but_a_pixel_format_players_may_refuse_is_encoded(tmp_path):
    source_path = tmp_path / "yuv444.mp4"
    ffmpeg.run(["-f", "lavfi", "-i", f"testsrc2=size=360x640:rate=25:duration={SECONDS}", "-c:v", "libx264",
                "-preset", "ultrafast", "-pix_fmt", "yuv444p", str(source_path)], timeout_s=60)
    source = ffmpeg.probe(source_path)
    assert source.pixel_format == "yuv444p"
    done = finishing.finish(source_path, source, tmp_path / "out.mp4", aspect_ratio="9:16", max_width=1080,
                            max_bytes=50 * 2**20, sound=True, x264_preset="ultrafast")
    assert done.encodes == 1 and ffmpeg.probe(done.path).pixel_format == "yuv420p"


def test_a_remuxed_clip_over_the_cap_is_encoded_to_fit(clips, tmp_path):
    source = ffmpeg.probe(clips["vertical"])
    cap = int(source.size * 0.5)
    done = finishing.finish(clips["vertical"], source, tmp_path / "out.mp4", aspect_ratio="9:16", max_width=1080,
                            max_bytes=cap, sound=True, x264_preset="ultrafast")
    assert done.encodes >= 1 and done.probe.size <= cap and (done.probe.width, done.probe.height) == (360, 640)


def _frame_sums(path: Path) -> list[str]:
    import subprocess

    out = subprocess.run([ffmpeg.binary(), "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "framemd5", "-"],
                         capture_output=True, check=True).stdout.decode()
    return [line.rsplit(",", 1)[-1].strip() for line in out.splitlines() if line and not line.startswith("#")]


def test_pad_keeps_the_whole_picture_inside_the_format(clips, tmp_path):
    source = ffmpeg.probe(clips["horizontal"])
    done = finishing.finish(clips["horizontal"], source, tmp_path / "out.mp4", aspect_ratio="1:1", max_width=1080,
                            max_bytes=50 * 2**20, sound=True, fit="pad", x264_preset="ultrafast")
    assert (done.probe.width, done.probe.height) == (640, 640)  # the film's whole width, white above and below


def test_a_file_over_the_cap_is_encoded_again_to_fit(clips, tmp_path):
    source = ffmpeg.probe(clips["vertical"])
    first = finishing.finish(clips["vertical"], source, tmp_path / "first.mp4", aspect_ratio="3:4", max_width=900,
                             max_bytes=50 * 2**20, sound=True, x264_preset="ultrafast")
    cap = int(first.probe.size * 0.6)  # a preset's cap the plain encode overshoots
    done = finishing.finish(clips["vertical"], source, tmp_path / "out.mp4", aspect_ratio="3:4", max_width=900,
                            max_bytes=cap, sound=True, x264_preset="ultrafast")
    assert done.encodes >= 2 and done.fallback == "reencoded"
    assert done.path.stat().st_size <= cap and done.probe.size <= cap
    assert (done.probe.width, done.probe.height) == (360, 480)


def test_a_preset_without_sound_and_a_clip_without_sound_come_out_silent(clips, tmp_path):
    for clip, sound in ((clips["vertical"], False), (clips["silent"], True)):
        done = finishing.finish(clip, ffmpeg.probe(clip), tmp_path / "out.mp4", aspect_ratio="3:4", max_width=900,
                                max_bytes=50 * 2**20, sound=sound, x264_preset="ultrafast")
        assert done.probe.audio_codec is None and done.probe.video_codec == "h264"


def test_the_cover_is_a_small_jpeg_of_the_first_second(clips, tmp_path):
    cover = finishing.cover(clips["vertical"], tmp_path / "cover.jpg")
    data = cover.read_bytes()
    assert data[:3] == b"\xff\xd8\xff" and len(data) < 200_000  # Telegram's thumbnail: JPEG, < 200 kB
    from PIL import Image

    with Image.open(cover) as image:
        assert max(image.size) <= finishing.COVER_SIDE_PX and image.size == (180, 320)


@pytest.mark.parametrize("name", ["truncated", "empty", "not_video"])
def test_a_file_ffmpeg_cannot_read_is_said_so(clips, name):
    with pytest.raises(ffmpeg.FFmpegError):
        ffmpeg.probe(clips[name])


def test_a_sound_only_file_has_no_picture(clips):
    probe = ffmpeg.probe(clips["sound_only"])
    assert not probe.has_video and probe.audio_codec == "aac"


# -- a job's clip: what the seller gets when the clip is broken or finishing fails --------------------


@pytest.fixture
def context(sqlite_url, settings_env, monkeypatch):
    settings_env(DATABASE__URL=sqlite_url, SANDBOX__ENABLED="on", FORMATS__X264_PRESET="ultrafast")
    context = Context(load_settings())
    yield context
    context.close()


def job_with_clip(context, clip: Path, aspect_ratio: str = "3:4") -> Job:
    register(5, "en", welcome_credits=0)
    job = Job.create(id=uuid.uuid4(), user=5, chat_id=5, status="finishing", aspect_ratio=aspect_ratio)
    stored = context.storage.video_path(job.id)
    stored.write_bytes(clip.read_bytes())
    Job.update(video_path=str(stored), video_bytes=stored.stat().st_size).where(Job.id == job.id).execute()
    return Job.get_by_id(job.id)


def test_a_jobs_clip_is_finished_for_its_formats_default_preset(context, clips):
    finished = finish_video(context, job_with_clip(context, clips["vertical"]))
    assert finished.preset == "wildberries" and finished.fallback == ""
    assert (finished.probe.width, finished.probe.height) == (360, 480)
    assert finished.cover is not None and finished.cover.is_file()


@pytest.mark.parametrize("name", ["truncated", "not_video", "sound_only"])
def test_a_broken_clip_fails_the_job_in_plain_words(context, clips, name):
    with pytest.raises(PipelineError) as failed:
        finish_video(context, job_with_clip(context, clips[name]))
    assert failed.value.failure.error_class == "video_invalid"


def test_a_clip_ffmpeg_cannot_finish_in_time_goes_as_it_is(context, clips):
    context.settings.formats.finish_timeout_s = 0.001
    job = job_with_clip(context, clips["vertical"])
    finished = finish_video(context, job)
    assert finished.fallback == "raw" and finished.path == Path(job.video_path)
    assert (finished.probe.width, finished.probe.height) == (360, 640)
