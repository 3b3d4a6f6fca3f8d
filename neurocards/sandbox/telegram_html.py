"""Telegram's HTML parse mode: the plain text a user sees and its entities, or Telegram's error.

Follows TDLib's ``parse_html``: ``&lt; &gt; &amp; &quot;`` and numeric references are decoded and
any other ``&`` stays literal (Telegram accepts ``AT&T``); every ``<`` opens a tag, so an
unescaped ``<`` from user text fails with "Unsupported start tag", as it does in Telegram.
Offsets and lengths are in UTF-16 code units, like the Bot API's.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from .telegram_spec import BadCall

__all__ = ["parse_html", "utf16_len"]

#: Tag -> entity type, for the tags the Bot API allows.
TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "span": "spoiler",
    "tg-spoiler": "spoiler", "a": "text_link", "code": "code", "pre": "pre", "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}  # fmt: skip
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_REFERENCE = re.compile(r"&(?:#x([0-9a-fA-F]+)|#([0-9]+)|([a-zA-Z]+));?")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.-]*")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """``(text, entities)`` for ``source`` sent with ``parse_mode=HTML``; a 400 BadCall when
    Telegram could not parse it."""
    return _Parser(source).run()


@dataclasses.dataclass
class _Open:
    name: str
    attrs: dict[str, str]
    offset: int  # UTF-16 offset where the entity starts
    text_index: int  # index into the output where the entity starts


class _Parser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.out: list[str] = []
        self.offset = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        while self.pos < len(self.src):
            char = self.src[self.pos]
            if char == "&" and self._reference():
                continue
            if char != "<":
                self._emit(char)
                self.pos += 1
            elif self.src.startswith("</", self.pos):
                self._end_tag()
            else:
                self._start_tag()
        if self.stack:
            self._fail(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"')
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def _fail(self, detail: str) -> None:
        raise BadCall(400, f"Bad Request: can't parse entities: {detail}")

    def _byte_offset(self, index: int) -> int:
        return len(self.src[:index].encode("utf-8"))

    def _emit(self, text: str) -> None:
        self.out.append(text)
        self.offset += utf16_len(text)

    def _decode(self, index: int) -> tuple[str, int] | None:
        """The character a reference at ``index`` stands for and where it ends, if it is one."""
        match = _REFERENCE.match(self.src, index)
        if match is None:
            return None
        hex_digits, digits, name = match.groups()
        if name is not None:
            return (_NAMED[name], match.end()) if name in _NAMED else None
        code = int(hex_digits, 16) if hex_digits is not None else int(digits)
        if code == 0 or code >= 0x10FFFF or match.end() - index > 10:
            return None
        return chr(code), match.end()

    def _reference(self) -> bool:
        decoded = self._decode(self.pos)
        if decoded is None:
            return False
        self._emit(decoded[0])
        self.pos = decoded[1]
        return True

    def _skip_spaces(self) -> None:
        while self.pos < len(self.src) and self.src[self.pos].isspace():
            self.pos += 1

    def _at_end(self) -> bool:
        return self.pos >= len(self.src)

    def _start_tag(self) -> None:
        begin = self.pos
        self.pos += 1
        while not self._at_end() and not self.src[self.pos].isspace() and self.src[self.pos] != ">":
            self.pos += 1
        if self._at_end():
            self._fail(f"Unclosed start tag at byte offset {self._byte_offset(begin)}")
        name = self.src[begin + 1 : self.pos].lower()
        if name not in TAGS:
            self._fail(f'Unsupported start tag "{name}" at byte offset {self._byte_offset(begin)}')
        attrs = self._attributes(name, begin)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            self._fail(f'Tag "span" must have class "tg-spoiler" at byte offset {self._byte_offset(begin)}')
        self.pos += 1  # the '>'
        self.stack.append(_Open(name, attrs, self.offset, len(self.out)))

    def _attributes(self, tag: str, begin: int) -> dict[str, str]:
        attrs: dict[str, str] = {}
        while True:
            self._skip_spaces()
            if self._at_end():
                self._fail(f'Unclosed start tag "{tag}" at byte offset {self._byte_offset(begin)}')
            if self.src[self.pos] == ">":
                return attrs
            start = self.pos
            while not self._at_end() and self.src[self.pos] not in "=>" and not self.src[self.pos].isspace():
                self.pos += 1
            attribute = self.src[start : self.pos].lower()
            self._skip_spaces()
            if self._at_end() or self.src[self.pos] != "=":
                attrs[attribute] = ""  # a bare attribute, like <blockquote expandable>
                continue
            self.pos += 1
            self._skip_spaces()
            if self._at_end():
                self._fail(f'Unclosed start tag "{tag}" at byte offset {self._byte_offset(begin)}')
            attrs[attribute] = self._attribute_value()

    def _attribute_value(self) -> str:
        quote = self.src[self.pos]
        if quote not in "'\"":
            match = _NAME_TOKEN.match(self.src, self.pos)
            self.pos = match.end()
            if not self._at_end() and not self.src[self.pos].isspace() and self.src[self.pos] != ">":
                self._fail(f"Unexpected end of name token at byte offset {self._byte_offset(match.start())}")
            return match.group().lower()
        self.pos += 1
        value: list[str] = []
        while not self._at_end() and self.src[self.pos] != quote:
            decoded = self._decode(self.pos) if self.src[self.pos] == "&" else None
            if decoded is None:
                value.append(self.src[self.pos])
                self.pos += 1
            else:
                value.append(decoded[0])
                self.pos = decoded[1]
        self.pos += 1  # the closing quote
        return "".join(value)

    def _end_tag(self) -> None:
        begin = self.pos
        if not self.stack:
            self._fail(f"Unexpected end tag at byte offset {self._byte_offset(begin)}")
        self.pos += 2
        while not self._at_end() and not self.src[self.pos].isspace() and self.src[self.pos] != ">":
            self.pos += 1
        name = self.src[begin + 2 : self.pos].lower()
        self._skip_spaces()
        if self._at_end() or self.src[self.pos] != ">":
            self._fail(f"Unclosed end tag at byte offset {self._byte_offset(begin)}")
        self.pos += 1
        opened = self.stack.pop()
        if name and name != opened.name:
            self._fail(
                f'Unmatched end tag at byte offset {self._byte_offset(begin)}, '
                f'expected "</{opened.name}>", found "</{name}>"'
            )
        if self.offset > opened.offset:
            self._add_entity(opened)

    def _add_entity(self, opened: _Open) -> None:
        length = self.offset - opened.offset
        entity: dict[str, Any] = {"type": TAGS[opened.name], "offset": opened.offset, "length": length}
        if opened.name == "a":
            entity["url"] = opened.attrs.get("href") or "".join(self.out[opened.text_index :])
        elif opened.name == "blockquote" and "expandable" in opened.attrs:
            entity["type"] = "expandable_blockquote"
        elif opened.name == "tg-emoji":
            entity["custom_emoji_id"] = opened.attrs.get("emoji-id", "")
        elif opened.name == "code" and opened.attrs.get("class", "").startswith("language-"):
            entity["language"] = opened.attrs["class"][len("language-") :]
        elif opened.name == "pre" and self._last_is_code_of(entity):
            entity["language"] = self.entities.pop()["language"]
        self.entities.append(entity)

    def _last_is_code_of(self, entity: dict[str, Any]) -> bool:
        """A ``<pre><code class="language-x">`` pair: the code spans exactly the pre."""
        last = self.entities[-1] if self.entities else None
        return bool(
            last and last["type"] == "code" and last.get("language")
            and (last["offset"], last["length"]) == (entity["offset"], entity["length"])
        )
