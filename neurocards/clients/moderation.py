"""OpenAI's moderation endpoint: is a seller's description something we would be
refused for?  (Issue 21: no money taken for a refusal we can see coming.)

Synchronous, like the prompt writer; the bot calls it in a thread.  Errors from
``openai`` propagate: the caller decides that a check it could not make lets the
request go on (a moderation outage must not stop sellers).
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import openai

__all__ = ["Moderator", "Verdict"]

logger = logging.getLogger(__name__)


class Verdict(NamedTuple):
    flagged: bool
    categories: tuple[str, ...] = ()  # e.g. ("violence", "illicit/violent")


class Moderator:
    """``POST /v1/moderations`` for one text."""

    def __init__(self, base_url: str, api_key: str, model: str = "omni-moderation-latest",
                 timeout_s: float = 5.0) -> None:
        self.base_url = base_url
        self.model = model
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)

    def __repr__(self) -> str:
        return f"Moderator(base_url={self.base_url!r}, model={self.model!r})"

    def check(self, text: str) -> Verdict:
        result = self._client.moderations.create(model=self.model, input=text).results[0]
        hits = tuple(name for name, hit in result.categories.model_dump(by_alias=True).items() if hit)
        return Verdict(bool(result.flagged), hits)

    def close(self) -> None:
        self._client.close()
