"""The catalogue of errors vndiplo raises.

Every failure a user can meet is a :class:`VndiploError` with a title, the
detail that names the file, document or offset, and the next step to take.
The CLI prints the three parts and exits 1; the library never prints.
Keeping the texts here makes the messages consistent across commands.
"""

from __future__ import annotations


class VndiploError(Exception):
    """A failure the user can act on: what went wrong, where, what to do."""

    def __init__(self, title: str, detail: str = "", next_step: str = "") -> None:
        self.title = title
        self.detail = detail
        self.next_step = next_step
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = [self.title]
        if self.detail:
            parts.append(self.detail)
        if self.next_step:
            parts.append(self.next_step)
        return "\n".join(parts)


def not_utf8(path: str, offset: int, reason: str) -> VndiploError:
    return VndiploError(
        f"{path} is not valid UTF-8",
        f"byte offset {offset}: {reason}",
        "Convert the file to UTF-8 (e.g. `iconv -f latin1 -t utf-8`) and run the command again.",
    )


def binary_file(path: str, offset: int) -> VndiploError:
    return VndiploError(
        f"{path} looks like a binary file",
        f"NUL byte at byte offset {offset}",
        "Only UTF-8 text (.txt) and JSON Lines (.jsonl) files can be ingested.",
    )


def empty_document(path: str, doc_id: str) -> VndiploError:
    return VndiploError(
        f"{path}: document {doc_id!r} is empty",
        "after whitespace normalisation and boilerplate removal no text is left",
        "Remove the file or give it the article text.",
    )


def bad_jsonl(path: str, line_number: int, reason: str) -> VndiploError:
    return VndiploError(
        f"{path}:{line_number}: malformed JSON Lines record",
        reason,
        "Each line must be one JSON object; fix that line and run the command again.",
    )


def duplicate_id(doc_id: str, first: str, second: str) -> VndiploError:
    return VndiploError(
        f"Two documents have the id {doc_id!r}",
        f"{first} and {second}",
        "Rename one of the files (ids are file stems) or give the JSONL record its own `id`.",
    )


def no_input_files(sources: list[str]) -> VndiploError:
    return VndiploError(
        "No .txt or .jsonl files found",
        "looked in: " + ", ".join(sources),
        "Point the command at article files or at folders that hold them.",
    )


def missing_file(path: str, what: str, next_step: str) -> VndiploError:
    return VndiploError(f"{what} not found: {path}", "", next_step)
