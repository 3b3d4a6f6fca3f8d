"""The outside calls alone: what ``bench/pipeline.py``'s jobs cost in the service
clients themselves, with no Dramatiq, no database, no Redis and no budgets.

Run by ``bench/pipeline.py`` as a process of its own, with the stack's
environment and a JSON file of prepared jobs (id, photo, chat, status message).
Each job makes the calls the pipeline makes, through the same clients, to the
same stand-ins, on a process of the same shape (``--threads`` threads, and one
event-loop thread for aiogram, as Dramatiq's ``AsyncIO`` middleware has):

    OpenAI prompt (openai) -> KIE upload, create, poll (httpx) -> download 1 MB
    (httpx, to storage) -> the status edits (aiogram) -> sendVideo 1 MB (aiogram)

Prints one JSON line: jobs, seconds, and this process's CPU seconds over the
timed run.  The pipeline can never be cheaper than this, whatever its
orchestration: it is the floor the bench's ratio is read against.

    python -m bench.client_floor --jobs-file jobs.json --threads 8 --edits 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiogram.types import FSInputFile


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs-file", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--edits", type=int, default=5, help="status edits per job, as the pipeline made")
    args = parser.parse_args()

    from neurocards.clients.telegram import create_bot, prepare_answers
    from neurocards.context import Context
    from neurocards.media.storage import photo_mime_type
    from neurocards.settings import load_settings

    settings = load_settings()
    context = Context(settings)
    kie, writer, storage = context.kie, context.prompt_writer, context.storage
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    bot = asyncio.run_coroutine_threadsafe(_make_bot(create_bot, settings), loop).result()
    prepare_answers(("EditMessageText", "SendVideo"))

    def on_loop(coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

    def one_job(job: dict) -> None:
        photo = Path(job["photo_path"])
        prompt = writer.write_prompt(photo.read_bytes(), photo_mime_type(photo), job["product_info"])
        image_url = kie.upload_image(photo.read_bytes(), f"{job['id']}{photo.suffix}", photo_mime_type(photo))
        task_id = kie.create_task(model=settings.kie.model, prompt=prompt, image_url=image_url,
                                  aspect_ratio=settings.kie.aspect_ratio, callback_url=None)
        status = kie.get_task(task_id, settings.kie.model)
        video = storage.video_path(f"floor-{job['id']}")
        storage.download_video(status.result_url, video)
        for n in range(args.edits):
            on_loop(bot.edit_message_text(chat_id=job["chat_id"], message_id=job["status_message_id"],
                                          text=f"Step {n}"))
        on_loop(bot.send_video(chat_id=job["chat_id"], video=FSInputFile(video, chunk_size=1024 * 1024),
                               caption=job["product_info"], supports_streaming=True))

    jobs = json.loads(args.jobs_file.read_text())
    one_job(jobs[0])  # a warm-up, as the pipeline's worker has had
    started_cpu, started = time.process_time(), time.monotonic()
    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(one_job, jobs[1:]))
    print(json.dumps({"jobs": len(jobs) - 1, "elapsed_s": time.monotonic() - started,
                      "cpu_s": time.process_time() - started_cpu}))
    return 0


async def _make_bot(create_bot, settings):
    return create_bot(settings)


if __name__ == "__main__":
    sys.exit(main())
