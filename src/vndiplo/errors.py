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


def utf16_file(path: str, encoding: str) -> VndiploError:
    return VndiploError(
        f"{path} is {encoding} text, not UTF-8",
        "Windows tools (Notepad's \"Unicode\", Excel's \"Unicode text\") save UTF-16",
        f"Convert it with `iconv -f {encoding} -t UTF-8 {path} > converted.txt` (or save it as UTF-8) and run the command again.",
    )


def bad_document_id(where: str, doc_id: object, rule: str) -> VndiploError:
    return VndiploError(
        f"{where}: unusable document id {doc_id!r}",
        rule,
        "Ids are non-empty strings of letters, digits, `.`, `_` and `-` starting with a letter or digit "
        "(at most 200 characters); rename the file or fix the record's `id`.",
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


def bad_conllu(path: str, line_number: int, reason: str) -> VndiploError:
    return VndiploError(
        f"{path} is not a usable CoNLL-U treebank file",
        f"line {line_number}: {reason}" if line_number else reason,
        "Give a UD treebank file whose sentences carry `# sent_id` and `# text` comment lines.",
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


def malformed_span(origin: str, doc_id: object, raw: object, reason: str) -> VndiploError:
    return VndiploError(
        f"{origin}: malformed span {str(raw)[:200]} in document {doc_id!r}",
        reason,
        "Fix the record: a span is [start, end, \"LABEL\"] with integer character offsets into `text`.",
    )


def repeated_document(path: str, doc_id: str, first_line: int, second_line: int) -> VndiploError:
    return VndiploError(
        f"{path}: document {doc_id!r} occurs twice",
        f"lines {first_line} and {second_line}",
        "Keep one record per document in an annotator's file (merge the two by hand) and run the command again.",
    )


def file_system(error: OSError) -> VndiploError:
    """An OSError (read-only folder, a folder where a file is wanted, a full disk) as one message."""
    where = " → ".join(str(name) for name in (error.filename, error.filename2) if name is not None)
    return VndiploError(
        f"Could not read or write {where}" if where else "The operating system refused a file operation",
        error.strerror or str(error),
        "Check that the path is a file (not a folder), that its folder exists and is writable, and that the disk has room.",
    )


def dataset_half_swapped(out: str) -> VndiploError:
    return VndiploError(
        f"The dataset in {out} is half replaced",
        "a `vndiplo dataset` run was interrupted while it swapped its finished outputs in",
        f"Run `vndiplo dataset … --out {out}` again: it completes the swap before anything else.",
    )


def dataset_busy(out: str) -> VndiploError:
    return VndiploError(
        f"Another `vndiplo dataset` run is writing into {out}",
        "two runs at once would mix their outputs",
        "Wait for it to finish (or give this run another --out) and run the command again.",
    )


def missing_file(path: str, what: str, next_step: str) -> VndiploError:
    return VndiploError(f"{what} not found: {path}", "", next_step)


# --- Doccano ----------------------------------------------------------------------------

def doccano_missing_credentials(missing: list[str]) -> VndiploError:
    return VndiploError(
        "Doccano credentials missing: " + ", ".join(missing),
        "they come from the options (--username, --password, --url) or the environment",
        "Set DOCCANO_USERNAME and DOCCANO_PASSWORD (and DOCCANO_URL for a server other than "
        "http://127.0.0.1:8000), or pass the options; they are never stored in a file.",
    )


def doccano_unreachable(url: str, reason: str) -> VndiploError:
    return VndiploError(
        f"No Doccano server answers at {url}",
        reason,
        "Start one with `vndiplo doccano serve` (or check DOCCANO_URL / --url) and run the command again.",
    )


def doccano_not_doccano(url: str, detail: str) -> VndiploError:
    return VndiploError(
        f"The server at {url} does not answer like Doccano 1.8",
        detail,
        "Check DOCCANO_URL / --url: it is the address you open in the browser, e.g. http://127.0.0.1:8000.",
    )


def doccano_login_failed(url: str, username: str) -> VndiploError:
    return VndiploError(
        f"Doccano refused the login of {username!r} at {url}",
        "wrong user name or password",
        "Check DOCCANO_USERNAME / DOCCANO_PASSWORD (or --username / --password); "
        "`vndiplo doccano serve` (re)sets the admin password to the one you give it.",
    )


def doccano_request_failed(what: str, status: int | str, answer: str) -> VndiploError:
    return VndiploError(
        f"Doccano could not {what}",
        f"HTTP {status}: {answer[:500]}",
        "Look at the Doccano server log (.doccano/data/logs/) and run the command again.",
    )


def doccano_forbidden(username: str, what: str) -> VndiploError:
    return VndiploError(
        f"Doccano user {username!r} may not {what}",
        "the account is not an admin of the server or of this project",
        "Run the command with the admin account that `vndiplo doccano serve` created, "
        "or make this user a project admin in Doccano (Members).",
    )


def doccano_not_a_member(username: str, project: str) -> VndiploError:
    return VndiploError(
        f"Doccano user {username!r} is not a member of a project named {project!r}",
        "an account sees only the projects it is a member of, and only the server admin creates projects",
        f"Ask the admin to add {username!r} to the project (the project's Members page → Add Member, role Annotator: "
        "an ordinary Annotator member may push suggestions), or check --project; "
        "to create the project, push once with the admin account.",
    )


def doccano_project_not_found(name: str, url: str, available: list[str]) -> VndiploError:
    known = ", ".join(repr(n) for n in available) if available else "none"
    return VndiploError(
        f"No Doccano project named {name!r} at {url}",
        f"projects this account can see: {known}",
        "Check --project, or create the project with `vndiplo doccano push CORPUS --project NAME`.",
    )


def doccano_project_ambiguous(name: str, ids: list[int]) -> VndiploError:
    oldest, *newer = sorted(ids)
    return VndiploError(
        f"Several Doccano projects are named {name!r}",
        "project ids: " + ", ".join([f"{oldest} (the oldest)", *map(str, newer)]),
        "Rename all but one of them in Doccano (Settings), or delete the ones that hold no work, so the name picks one project.",
    )


def doccano_documents_too_large(documents: list[tuple[str, int]], limit: int) -> VndiploError:
    listing = [f"{doc_id}: {size:,} bytes" for doc_id, size in documents]
    return VndiploError(
        f"{len(documents)} documents are too large for Doccano",
        f"Doccano refuses an upload above {limit:,} bytes (its JSON, non-ASCII characters count 6 bytes each):\n"
        + truncated_list(listing, 20, "\n", "\n"),
        "Split these documents into shorter ones and ingest again, or leave them out of the push (--order / a smaller corpus file).",
    )


def doccano_wrong_project(name: str, problem: str, fix: str) -> VndiploError:
    return VndiploError(f"Doccano project {name!r} cannot be used for vndiplo", problem, fix)


def doccano_unknown_labels(project: str, unknown: list[str], known: list[str]) -> VndiploError:
    return VndiploError(
        f"Doccano project {project!r} has labels the spec does not know: {', '.join(unknown)}",
        "the spec's labels are " + ", ".join(known),
        "Delete those labels in Doccano (Labels page) after moving their spans to spec labels, "
        "or add them to the spec and configs/labels.json first.",
    )


def doccano_export_failed(project: str, detail: str) -> VndiploError:
    return VndiploError(
        f"Doccano could not export project {project!r}",
        detail,
        "The export runs in Doccano's task worker: check that it runs (`vndiplo doccano serve` starts it) "
        "and look at .doccano/data/logs/task.log.",
    )


def truncated_list(items: list[str], limit: int, separator: str, gap: str) -> str:
    """The first `limit` items joined by `separator`, then `gap` and how many more there are."""
    more = f"{gap}… and {len(items) - limit} more" if len(items) > limit else ""
    return separator.join(items[:limit]) + more


def doccano_changed_documents(problems: list[str]) -> VndiploError:
    return VndiploError(
        f"{len(problems)} documents in Doccano do not match the corpus",
        truncated_list(problems, 50, "\n", "\n"),
        "Pull against the corpus the documents were pushed from (--corpus), or pass --skip-changed "
        "to write the other documents and leave these out.",
    )


def pre_annotations_mismatch(path: str, problems: list[str]) -> VndiploError:
    return VndiploError(
        f"{path}: {len(problems)} pre-annotated documents do not match the corpus",
        truncated_list(problems, 50, "\n", "\n"),
        "Pre-annotate the same corpus file you push (`vndiplo predict corpus/docs.jsonl FILE.jsonl`).",
    )


def doccano_install_failed(venv: str, log: str, tail: str) -> VndiploError:
    return VndiploError(
        f"Could not install Doccano into {venv}",
        f"pip failed; the end of {log}:\n{tail}",
        "Check that PyPI is reachable (pip install works) and run the command again; "
        "delete the folder to start the installation from scratch.",
    )


def doccano_start_failed(what: str, log: str, tail: str) -> VndiploError:
    return VndiploError(
        f"Doccano's {what} did not start",
        f"the end of {log}:\n{tail}",
        "Fix the cause shown above and run `vndiplo doccano serve` again.",
    )


def doccano_port_in_use(port: int, detail: str) -> VndiploError:
    return VndiploError(
        f"Port {port} on 127.0.0.1 is already in use",
        detail,
        "Stop what runs there (`vndiplo doccano stop` if it is Doccano) or pick another port with --port.",
    )


def doccano_already_running(url: str, state: str) -> VndiploError:
    return VndiploError(
        f"A Doccano server started by vndiplo is already running at {url}",
        f"state file: {state}",
        "Use it, or stop it first with `vndiplo doccano stop`.",
    )


def unknown_document_ids(ids: list[str], where: str) -> VndiploError:
    return VndiploError(
        f"{len(ids)} document ids are not in {where}",
        truncated_list([repr(i) for i in ids], 20, ", ", " "),
        "Use ids of the corpus file you push (the `id` field of corpus/docs.jsonl).",
    )


# --- a team's Doccano server: team mode, PostgreSQL, backups (issue 16) -----------------------


def doccano_weak_password(username: str, problems: list[str], minimum: int) -> VndiploError:
    return VndiploError(
        f"The admin password of {username!r} is too weak for a server other computers can reach",
        "; ".join(problems),
        f"Choose a password of at least {minimum} characters that is not a common one and does not contain the user name "
        "(a phrase of four or five unrelated words is easy to type and hard to guess), `export DOCCANO_PASSWORD=…`, and run the command again.",
    )


def doccano_default_secret_key(reason: str) -> VndiploError:
    return VndiploError(
        "Doccano's secret key is not fit for a team server",
        f"{reason}: anyone who knows the key can forge a login session",
        "Stop the server, delete the `secret_key` file in the data folder (vndiplo makes a new random one; everyone logs in again) and run the command again.",
    )


def doccano_bad_team_option(option: str, value: str, expected: str) -> VndiploError:
    return VndiploError(f"{option} {value!r} is not usable", f"expected {expected}", f"Fix {option} and run the command again.")


def doccano_bad_database_url(url: str, reason: str) -> VndiploError:
    return VndiploError(
        "The --database address is not a PostgreSQL database vndiplo can use",
        reason,
        "Give it as postgresql://USER:PASSWORD@HOST:PORT/DATABASE (the database must exist and be empty the first time), "
        "or use --postgres for a private PostgreSQL under .doccano/.",
    )


def postgres_missing(searched: str) -> VndiploError:
    return VndiploError(
        "PostgreSQL's server programs (initdb, pg_ctl, pg_dump) were not found",
        f"looked in {searched} and on PATH",
        "Install them with `sudo apt-get install postgresql` (Debian/Ubuntu) and run the command again, "
        "or give an existing server with --database postgresql://…",
    )


def postgres_failed(what: str, log: str, tail: str) -> VndiploError:
    return VndiploError(
        f"PostgreSQL could not {what}",
        f"the end of {log}:\n{tail}",
        "Fix the cause shown above and run the command again.",
    )


def doccano_database_failed(what: str, log: str, tail: str) -> VndiploError:
    return VndiploError(
        f"Doccano's database could not {what}",
        f"the end of {log}:\n{tail}",
        "Fix the cause shown above and run the command again; the data folder's database is left as it was.",
    )


def doccano_database_not_empty(what: str, detail: str) -> VndiploError:
    return VndiploError(
        f"The target database is not empty: {what}",
        detail,
        "Restore or migrate into an empty database only (a new --data-dir, a new --postgres cluster, or a newly created PostgreSQL database), "
        "so that nothing in it is overwritten.",
    )


def doccano_server_running(url: str, what: str) -> VndiploError:
    return VndiploError(
        f"{what} needs the Doccano server at {url} stopped",
        "copying a database that annotators are writing to would lose their latest work",
        "Stop it with `vndiplo doccano stop` (or Ctrl-C in its terminal) and run the command again.",
    )


def doccano_backup_invalid(path: str, reason: str) -> VndiploError:
    return VndiploError(
        f"{path} is not a complete vndiplo backup of Doccano",
        reason,
        "Give the folder `vndiplo doccano backup` wrote (doccano-backup-<time>/, holding manifest.json).",
    )


def doccano_restore_mismatch(differences: list[str]) -> VndiploError:
    return VndiploError(
        "The restored Doccano does not hold what the backup holds",
        truncated_list(differences, 20, "\n", "\n"),
        "Keep the backup; look at the server logs in the data folder and restore again into a new, empty data folder.",
    )


def bad_knowledge_base(detail: str) -> VndiploError:
    """The entity_ids component could not read its knowledge base (configs/kb/entities.jsonl or a model's copy)."""
    return VndiploError(
        "The knowledge base of entity_ids cannot be read",
        detail,
        "Fix the file named above (one entity a line, see configs/kb/README.md), or [initialize.components.entity_ids] kb_path in the config.",
    )
