"""Walk one large JSON document without holding it whole.

Telegram Desktop writes a whole export as one ``result.json`` that can run
to gigabytes; :class:`JsonStream` lets a reader step through its objects and
arrays key by key and decode only the values it wants (one message at a
time, each at most ``limit`` characters), skipping the rest in small pieces.

Memory is the decode buffer (about one chunk, 1 MiB, plus the value being
decoded) whatever the document's size; every byte is looked at a bounded
number of times, so a walk is linear in the file's size. A value over its
limit, or one nested too deeply to decode, is skipped (:class:`BadValue`,
the walk goes on after it); text
that is not JSON raises :class:`Malformed` with the character offset, and the
walk cannot go on.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import Any

from drugwatch.io.limits import CappedReader

_CHUNK = 1 << 20
_WS = re.compile(r"[ \t\n\r]*")
_STRUCTURE = re.compile(r'["{}\[\]]')
_QUOTE_OR_ESCAPE = re.compile(r'["\\]')
_SCALAR = re.compile(r"[^\s,\]}]+")
_DECODER = json.JSONDecoder()

#: Longest object key or chat header value (name, type, id) decoded whole.
MAX_KEY_CHARS = 65_536


class Malformed(ValueError):
    """The document is not JSON from this point on; nothing after it can be read."""


class BadValue(ValueError):
    """One value cannot be decoded (too long, nested too deeply); it has been skipped and the walk goes on."""


class ValueTooLarge(BadValue):
    """One value is longer than its limit; it has been skipped."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"longer than {limit:,} characters (at least {size:,})")
        self.size = size
        self.limit = limit


class JsonStream:
    """A cursor over the JSON text of ``handle`` (read in 1 MiB chunks, decoded as UTF-8)."""

    def __init__(self, handle: CappedReader) -> None:
        self._handle = handle
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._buf = ""
        self._pos = 0
        self._dropped = 0
        self._eof = False

    # -- buffer --------------------------------------------------------------

    @property
    def offset(self) -> int:
        """Characters consumed so far (for error messages)."""
        return self._dropped + self._pos

    def _fill(self) -> bool:
        """Read one more chunk; ``False`` at the end of the file."""
        if self._eof:
            return False
        data = self._handle.read(_CHUNK)
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise Malformed(f"not UTF-8 text near character {self.offset:,}: {exc.reason}") from None
        if not data:
            self._eof = True
        # Keep only what is not consumed yet, so the buffer stays about one value long.
        self._dropped += self._pos
        self._buf = self._buf[self._pos :] + text
        self._pos = 0
        return bool(data) or bool(text)

    def peek(self) -> str:
        """The next non-blank character without consuming it; ``""`` at the end."""
        while True:
            blank = _WS.match(self._buf, self._pos)
            assert blank is not None  # the pattern matches the empty string
            self._pos = blank.end()
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill():
                return ""

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            shown = repr(found) if found else "the end of the file"
            raise Malformed(f"expected {char!r} at character {self.offset:,}, found {shown}")
        self._pos += 1

    # -- values --------------------------------------------------------------

    def read_value(self, limit: int) -> Any:
        """Decode the next value whole; :class:`ValueTooLarge` (and skip it) past ``limit`` characters."""
        if not self.peek():
            raise Malformed(f"the file ends at character {self.offset:,} where a value was expected")
        while True:
            try:
                value, end = _DECODER.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                incomplete = exc.pos >= len(self._buf) - 8 or exc.msg.startswith("Unterminated string")
                if not incomplete or self._eof:
                    raise Malformed(f"invalid JSON at character {self._dropped + exc.pos:,}: {exc.msg}") from None
                self._grow(limit)
                continue
            except RecursionError:
                start = self.offset
                self.skip_value()  # iterative, so any depth can be passed over
                raise BadValue(f"nested too deeply to decode (at character {start:,})") from None
            except ValueError as exc:  # e.g. an integer of more than 4,300 digits
                start = self.offset
                self.skip_value()
                raise BadValue(f"cannot be decoded (at character {start:,}): {exc}") from None
            if end == len(self._buf) and not self._eof:
                # A bare number may go on in the next chunk.
                self._grow(limit)
                continue
            if end - self._pos > limit:
                size = end - self._pos
                self._pos = end
                raise ValueTooLarge(size, limit)
            self._pos = end
            return value

    def _grow(self, limit: int) -> None:
        pending = len(self._buf) - self._pos
        if pending > limit:
            self.skip_value()
            raise ValueTooLarge(pending, limit)
        if not self._fill():
            raise Malformed(f"the file ends inside a value that starts at character {self.offset:,}")

    def skip_value(self) -> None:
        """Consume the next value without decoding it, in bounded pieces."""
        first = self.peek()
        if first in "{[":
            depth = 0
            while True:
                match = _STRUCTURE.search(self._buf, self._pos)
                if match is None:
                    self._pos = len(self._buf)
                    if not self._fill():
                        raise Malformed("the file ends inside an object or array")
                    continue
                self._pos = match.end()
                char = match.group()
                if char == '"':
                    self._skip_string_rest()
                elif char in "{[":
                    depth += 1
                else:
                    depth -= 1
                    if depth == 0:
                        return
        elif first == '"':
            self._pos += 1
            self._skip_string_rest()
        elif first:
            while True:
                match = _SCALAR.match(self._buf, self._pos)
                if match is None:
                    raise Malformed(f"unexpected {self._buf[self._pos]!r} at character {self.offset:,}")
                if match.end() == len(self._buf) and self._fill():
                    continue
                self._pos = match.end()
                return
        else:
            raise Malformed("the file ends where a value was expected")

    def _skip_string_rest(self) -> None:
        while True:
            match = _QUOTE_OR_ESCAPE.search(self._buf, self._pos)
            if match is None:
                self._pos = len(self._buf)
                if not self._fill():
                    raise Malformed("the file ends inside a string")
                continue
            if match.group() == '"':
                self._pos = match.end()
                return
            if match.end() >= len(self._buf):  # an escape split across chunks
                self._pos = match.start()
                if not self._fill():
                    raise Malformed("the file ends inside a string")
                continue
            self._pos = match.end() + 1

    # -- containers ----------------------------------------------------------

    def keys(self) -> Iterator[str]:
        """The keys of the object that starts here; the caller reads or skips each value."""
        self.expect("{")
        if self.peek() == "}":
            self._pos += 1
            return
        while True:
            if self.peek() != '"':
                raise Malformed(f"expected a key at character {self.offset:,}")
            key = self.read_value(MAX_KEY_CHARS)
            self.expect(":")
            yield key
            after = self.peek()
            self._pos += 1
            if after == "}":
                return
            if after != ",":
                raise Malformed(f"expected ',' or '}}' at character {self.offset - 1:,}, found {after!r}")

    def items(self) -> Iterator[int]:
        """Indexes of the array that starts here; the caller reads or skips each value."""
        self.expect("[")
        if self.peek() == "]":
            self._pos += 1
            return
        index = 0
        while True:
            yield index
            index += 1
            after = self.peek()
            self._pos += 1
            if after == "]":
                return
            if after != ",":
                raise Malformed(f"expected ',' or ']' at character {self.offset - 1:,}, found {after!r}")
