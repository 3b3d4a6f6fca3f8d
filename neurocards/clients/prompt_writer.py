"""The OpenAI client that writes a video prompt from a product photo and the seller's line.

Synchronous on purpose: it runs in Dramatiq worker threads.  It knows nothing of
jobs, credits or the database; errors from ``openai`` (rate limits, timeouts,
bad requests, bad keys...) propagate unchanged, for the caller's error taxonomy
to classify.  The SDK's own retries are off by default because the pipeline
retries through Dramatiq.
"""

from __future__ import annotations

import base64
import functools
import logging
import string
from collections.abc import Sequence
from importlib import resources
from typing import Any, NamedTuple

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

__all__ = [
    "PromptWriter",
    "Written",
    "Image",
    "Refused",
    "instructions",
    "PromptWriterError",
    "EmptyPrompt",
    "ContentFiltered",
    "ModelRefused",
    "fallback_prompt",
    "cap_text",
]

#: The template file: system instructions, a ``[user]`` line, then the user text.
TEMPLATE_FILE = "video_prompt.txt"
#: The line that separates the system instructions from the user text in the template.
USER_MARKER = "\n[user]\n"
#: The longest prompt we hand on; the template asks for 900, video models take ~1000.
MAX_PROMPT_CHARS = 900
#: What the model is told when the seller wrote nothing.
NO_INFO = "(no description: rely on the photo)"
#: How a model's refusal written as plain text starts (lower-cased).
REFUSAL_OPENINGS = ("i'm sorry", "i’m sorry", "i am sorry", "sorry, i can", "i can't", "i can’t", "i cannot")


class PromptWriterError(Exception):
    """The model answered, but not with a usable prompt."""


class EmptyPrompt(PromptWriterError):
    """The answer was empty or a refusal."""


class ModelRefused(EmptyPrompt):
    """The model refused to write about the photo (its ``refusal``, or a plain-text apology)."""


class ContentFiltered(PromptWriterError):
    """OpenAI's content filter stopped the answer (finish_reason ``content_filter``)."""


class Written(NamedTuple):
    """A prompt, and what writing it took."""

    prompt: str
    input_tokens: int = 0
    output_tokens: int = 0


class Refused(NamedTuple):
    """A prompt the video model refused on its content policy, and what it said."""

    prompt: str
    message: str = ""


class PromptWriter:
    """Writes one English image-to-video prompt per product photo with a vision model.

    ``timeout_s`` bounds each request; ``max_info_chars`` caps the seller's line
    (the bot's limit, so a long paste cannot blow up the request).
    """

    logger = logging.getLogger(f"{__name__}.PromptWriter")

    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        timeout_s: float = 60.0,
        max_info_chars: int = 500,
        max_retries: int = 0,
    ) -> None:
        self.base_url = base_url
        self.model = model
        self.max_info_chars = max_info_chars
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=max_retries)
        self._api_key, self._timeout_s = api_key, timeout_s
        self._async: openai.AsyncOpenAI | None = None

    def __repr__(self) -> str:
        return f"PromptWriter(base_url={self.base_url!r}, model={self.model!r})"

    def write_prompt(self, image: bytes, mime_type: str, product_info: str) -> str:
        """The model's prompt for ``image`` (raw bytes of type ``mime_type``), stripped.

        Raises :class:`ContentFiltered` or :class:`EmptyPrompt` when the answer is
        unusable, and whatever ``openai`` raises when the request fails.
        """
        return self.write(image, mime_type, product_info).prompt

    def write(self, image: bytes, mime_type: str, product_info: str, *, more_images: Sequence[Image] = (),
              style: str = "", brief: str = "", refused: Refused | None = None) -> Written:
        """:meth:`write_prompt`, with the tokens the request took (``usage``).

        ``more_images`` are the product's other photos; ``style`` is our own
        guidance for the look (a catalogue style, trusted: it goes with the
        instructions); ``brief`` the concept the seller picked (it goes with
        the seller's text, as information); ``refused``: the video model refused
        the last prompt, and this one must avoid what it flagged.
        """
        info = cap_text(product_info, self.max_info_chars) or NO_INFO
        images = [Image(image, mime_type), *more_images]
        completion = self._client.chat.completions.create(
            model=self.model,
            messages=build_messages(images, info, style=style, brief=cap_text(brief, self.max_info_chars),
                                    refused=refused),
        )
        written = written_of(completion)
        self.logger.debug("Wrote a %d-char prompt (%s).", len(written.prompt), describe(completion))
        return written

    async def awrite(self, image: bytes, mime_type: str, product_info: str, *, more_images: Sequence[Image] = (),
                     style: str = "", brief: str = "") -> Written:
        """:meth:`write` on the asyncio client: for the bot, which writes the prompt
        before charging (a refused photo costs the seller nothing), on its event loop."""
        if self._async is None:
            self._async = openai.AsyncOpenAI(base_url=self.base_url, api_key=self._api_key,
                                             timeout=self._timeout_s, max_retries=0)
        info = cap_text(product_info, self.max_info_chars) or NO_INFO
        completion = await self._async.chat.completions.create(
            model=self.model,
            messages=build_messages([Image(image, mime_type), *more_images], info, style=style,
                                    brief=cap_text(brief, self.max_info_chars)),
        )
        return written_of(completion)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def __enter__(self) -> PromptWriter:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class Image(NamedTuple):
    data: bytes
    mime_type: str


#: Told to the prompt writer when the video model refused its last prompt.
SAFER_RULE = ("- The video model refused the previous prompt on its content policy. Write a new one that shows the "
              "same product but avoids whatever could have been flagged: no people, weapons, blood, fire, "
              "alcohol, medical or adult themes, brand names or text; calm, neutral, literal wording.")


def build_messages(images: Sequence[Image], product_info: str, *, style: str = "", brief: str = "",
                   refused: Refused | None = None) -> list[ChatCompletionMessageParam]:
    """The system instructions (with the style's guidance), then the seller's line,
    the brief and each photo as a data URL.

    The seller's text goes in the user message, never the system one, so it
    cannot pose as our instructions.
    """
    text = load_template()[1].substitute(product_info=product_info)
    if brief:
        text += f"\n\nThe concept the seller picked for the video: {brief}"
    if len(images) > 1:
        text += (f"\n\nThe {len(images)} photos show the same product from different sides: describe it exactly "
                 "as they show it.")
    if refused is not None:
        text += f"\n\nThe refused prompt: {cap_text(refused.prompt, MAX_PROMPT_CHARS)}"
        if refused.message:
            text += f"\nWhat the video model said: {cap_text(refused.message, 200)}"
    parts: list = [{"type": "text", "text": text}]
    for image in images:
        data_url = f"data:{image.mime_type};base64,{base64.b64encode(image.data).decode('ascii')}"
        parts.append({"type": "image_url", "image_url": {"url": data_url, "detail": "auto"}})
    return [
        {"role": "system", "content": instructions(style, safer=refused is not None)},
        {"role": "user", "content": parts},
    ]


def instructions(style: str = "", *, safer: bool = False) -> str:
    """The system instructions, with the style's guidance as one more rule (and,
    ``safer``, the rule for a prompt the video model refused)."""
    rules = [f"- The look to give the video: {style}" if style else "", SAFER_RULE if safer else ""]
    return load_template()[0].substitute(style="\n".join(rule for rule in rules if rule)).replace("\n\n\n", "\n\n")


@functools.cache
def load_template() -> tuple[string.Template, string.Template]:
    """The system instructions (``$style``: the style's rule line, or nothing) and
    the user-text template from ``video_prompt.txt``."""
    text = resources.files(__package__).joinpath(TEMPLATE_FILE).read_text("utf-8")
    system, marker, user = text.partition(USER_MARKER)
    if not marker:
        raise RuntimeError(f"{TEMPLATE_FILE} has no {USER_MARKER.strip()} line")
    return string.Template(system.strip()), string.Template(user.strip())


def prompt_of(completion: ChatCompletion) -> str:
    """The usable prompt in ``completion``, capped at :data:`MAX_PROMPT_CHARS`."""
    request = describe(completion)
    if not completion.choices:
        raise EmptyPrompt(f"the answer has no choices ({request})")
    choice = completion.choices[0]
    if choice.finish_reason == "content_filter":
        raise ContentFiltered(f"the content filter stopped the answer ({request})")
    if choice.message.refusal:
        raise ModelRefused(f"the model refused ({request})")
    prompt = (choice.message.content or "").strip()
    if not prompt:
        raise EmptyPrompt(f"the answer is empty ({request})")
    if prompt.lower().startswith(REFUSAL_OPENINGS):
        raise ModelRefused(f"the model refused in plain text ({request})")
    return cap_text(prompt, MAX_PROMPT_CHARS)


def written_of(completion: ChatCompletion) -> Written:
    """The usable prompt in ``completion`` and the tokens it took (``usage``)."""
    usage = completion.usage
    return Written(prompt_of(completion), getattr(usage, "prompt_tokens", 0) or 0,
                   getattr(usage, "completion_tokens", 0) or 0)


def describe(completion: ChatCompletion) -> str:
    """Which model and request answered, for messages and support tickets."""
    return f"model {completion.model}, request {getattr(completion, '_request_id', None)}"


def cap_text(text: str, max_chars: int) -> str:
    """``text`` stripped, on one line, and at most ``max_chars`` long.

    Longer text is cut at the last word boundary that fits and ends with "…",
    so the model never sees half a word.
    """
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    if text[max_chars - 1] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-") + "…"


def fallback_prompt(product_info: str) -> str:
    """A decent prompt written without the model, for when OpenAI is unavailable.

    Deterministic: the same line always gives the same prompt.  The seller's
    line is quoted as-is (in any language) so the video model knows the product.
    """
    info = cap_text(product_info, 200).replace('"', "'")
    product = f'the product from the photo ("{info}")' if info else "the product from the photo"
    return (
        f"Slow, smooth cinematic dolly-in on {product}, standing at the center of a clean, "
        "softly lit studio set with a seamless backdrop. A gentle band of light sweeps across "
        "the product, revealing its material, colour and texture, while faint dust particles "
        "drift in the background and the depth of field stays shallow. The product stays "
        "exactly as in the photo, sharp and centered for the whole shot. Vertical 9:16 framing, "
        "8 seconds, one continuous camera move, no cuts, no text overlays, no logos, no people."
    )
