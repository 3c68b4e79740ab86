"""Text normalisation: the one place where document text is changed.

Offsets are sacred downstream: they index the NFC text that ingest stores.
So every change to characters happens here, once, before any offset exists.
"""

from __future__ import annotations

import re
import unicodedata

from . import errors

_WHITESPACE_RUN = re.compile(r"\s+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n|\u2028|\u2029")
# A whitespace token that holds a word character (one regex pass: predict counts every document's words).
_WORD_TOKEN = re.compile(r"(?<!\S)(?=\S*?\w)\S+")
_UTF8_BOM = b"\xef\xbb\xbf"


def utf16_encoding(data: bytes) -> str | None:
    """"UTF-16LE"/"UTF-16BE" when `data` looks like UTF-16 text (a byte-order mark, or NULs in every other byte)."""
    if data.startswith(b"\xff\xfe"):
        return "UTF-16LE"
    if data.startswith(b"\xfe\xff"):
        return "UTF-16BE"
    for encoding, high_bytes in (("UTF-16LE", data[1::2]), ("UTF-16BE", data[0::2])):
        if len(data) >= 2 and high_bytes.count(0) >= len(high_bytes) / 2:
            try:
                data.decode(encoding.lower())
            except UnicodeDecodeError:
                continue
            return encoding
    return None


def decode_utf8(data: bytes, path: str) -> str:
    """Decode strictly; UTF-16 is named as such; a NUL byte or an invalid sequence names its byte offset."""
    encoding = utf16_encoding(data)
    if encoding:
        raise errors.utf16_file(path, encoding)
    nul = data.find(b"\x00")
    if nul != -1:
        raise errors.binary_file(path, nul)
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    try:
        return data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise errors.not_utf8(path, exc.start, exc.reason) from None


def normalise_line(line: str) -> str:
    """NFC, every run of whitespace (tabs, NBSP, ...) made one space, ends stripped."""
    return _WHITESPACE_RUN.sub(" ", unicodedata.normalize("NFC", line)).strip()


def split_lines(text: str) -> list[str]:
    """Normalised, non-empty lines of a text, whatever its line endings."""
    lines = (normalise_line(line) for line in _LINE_BREAK.split(text))
    return [line for line in lines if line]


def is_word_bounded(text: str, start: int, end: int) -> bool:
    """`text[start:end]` neither starts nor ends inside a word (no letter or digit glued to either edge)."""
    return (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum())


def splits_a_word(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` cuts a word: a letter or digit on both sides of either edge."""
    def cut(at: int) -> bool:
        return 0 < at < len(text) and text[at - 1].isalnum() and text[at].isalnum()

    return cut(start) or cut(end)


def count_words(text: str) -> int:
    """Whitespace tokens holding a letter or digit (syllables, for Vietnamese)."""
    return len(_WORD_TOKEN.findall(text))


# Treebank text: spaces around punctuation and bracket placeholders.
_TREEBANK_BRACKETS = {"LBKT": "(", "RBKT": ")"}
_CLOSING_PUNCTUATION = set(",.;:!?…)")
_NO_SPACE_BEFORE = re.compile(r"\s+([,.;:!?%…)\]}])")
_NO_SPACE_AFTER = re.compile(r"([(\[{])\s+")


def detokenise_treebank(line: str) -> str:
    """Restore running text from UD/VTB tokenised text.

    `Matxcơva , mùa xuân năm 2004 .` becomes `Matxcơva, mùa xuân năm 2004.`;
    `LBKT`/`RBKT` become brackets; straight double quotes are attached to the
    words they enclose, alternating opening and closing. Words are unchanged.
    """
    tokens = [_TREEBANK_BRACKETS.get(token, token) for token in line.split()]
    out: list[str] = []
    quote_open = False
    glue_next = False
    for index, token in enumerate(tokens):
        if token == '"':
            following = tokens[index + 1] if index + 1 < len(tokens) else ""
            closes = quote_open or following == "" or following in _CLOSING_PUNCTUATION
            if closes:
                if out:
                    out[-1] += '"'
                else:
                    out.append('"')
            else:
                out.append('"')
                glue_next = True
            quote_open = not closes
            continue
        if glue_next and out:
            out[-1] += token
            glue_next = False
        else:
            out.append(token)
    text = " ".join(out)
    text = _NO_SPACE_BEFORE.sub(r"\1", text)
    text = _NO_SPACE_AFTER.sub(r"\1", text)
    return text
