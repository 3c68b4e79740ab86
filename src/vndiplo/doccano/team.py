"""Team mode: a Doccano server other computers reach, and the checks it must pass before it starts.

On loopback (the default) only people at the server's own computer can log
in. A team server listens on an address of the network, so whatever a
stranger could try there must be closed first: the admin password has to be
strong, the Django secret key has to be this install's own (Doccano 1.8.4
falls back to a key published in its source, with which anyone can forge a
session), Django must answer only the host names the team uses
(`ALLOWED_HOSTS`), trust form posts only from the public address
(`CSRF_TRUSTED_ORIGINS`), and, behind an https reverse proxy, send its
cookies over https only.

"Strong" here is what NIST SP 800-63B asks of a memorised secret, kept plain:
at least :data:`MIN_PASSWORD_LENGTH` characters, not a common or default
password (nor one with a few digits or symbols added), not the user name,
and not one character or a keyboard run repeated. No rules about character
classes: a long phrase is stronger than a short jumble.

Everything here is pure (no I/O): :func:`team_settings_text` is the settings
module `vndiplo.doccano.server` writes for a team server.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlparse

from .. import errors

TEAM_SETTINGS_MODULE = "vndiplo_doccano_team_settings"
MIN_PASSWORD_LENGTH = 12
MIN_SECRET_KEY_LENGTH = 40
# The commonest passwords, the defaults of Doccano's documentation and images and of this README's
# first drafts, compared after lower-casing and removing digits and symbols at either end (so
# "Password123!" counts as "password").
COMMON_PASSWORDS = frozenset(
    {
        "password", "passwort", "passw0rd", "p@ssw0rd", "pass", "admin", "administrator", "root", "doccano",
        "changeme", "letmein", "welcome", "qwerty", "qwertyuiop", "asdfghjkl", "zxcvbnm", "azerty", "abc",
        "abcdef", "iloveyou", "monkey", "dragon", "master", "secret", "superuser", "login", "default", "test",
        "guest", "user", "football", "baseball", "sunshine", "princess", "trustno", "vndiplo", "annotator",
        "pick-a-long-password", "matkhau", "mat-khau", "vietnam", "hanoi",
    }
)
# Doccano 1.8.4's config/settings/base.py: SECRET_KEY = env("SECRET_KEY", <this>), i.e. what every
# Doccano without its own key signs sessions with.
DOCCANO_DEFAULT_SECRET_KEY = "v8sk33sy82!uw3ty=!jjv5vp7=s2phrzw(m(hrn^f7e_#1h2al"
_KEYBOARD_RUNS = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm")


def password_problems(password: str, username: str) -> list[str]:
    """Why `password` is too weak for a server others can reach (empty when it is strong enough)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"it has {len(password)} characters; a team server needs at least {MIN_PASSWORD_LENGTH}")
    lowered = password.lower()
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", lowered)
    if lowered in COMMON_PASSWORDS or core in COMMON_PASSWORDS:
        problems.append("it is a common or default password (digits and symbols at its ends do not change that)")
    if username and username.lower() in lowered:
        problems.append("it contains the user name")
    if len(set(lowered)) < 5:
        problems.append("it uses fewer than five different characters")
    elif any(lowered in run or lowered in run[::-1] for run in _KEYBOARD_RUNS):
        problems.append("it is a run of neighbouring keys")
    return problems


def check_admin_password(username: str, password: str) -> None:
    """Refuse a team server whose admin password is weak (see the module's definition of strong)."""
    problems = password_problems(password, username)
    if problems:
        raise errors.doccano_weak_password(username, problems, MIN_PASSWORD_LENGTH)


def check_secret_key(key: str) -> None:
    """Refuse a team server that would sign sessions with Doccano's published key or a short one."""
    if key.strip() == DOCCANO_DEFAULT_SECRET_KEY:
        raise errors.doccano_default_secret_key("it is the key published in Doccano's source")
    if len(key.strip()) < MIN_SECRET_KEY_LENGTH:
        raise errors.doccano_default_secret_key(f"it has {len(key.strip())} characters, fewer than {MIN_SECRET_KEY_LENGTH}")


@dataclass(frozen=True)
class TeamMode:
    """Where a team server listens and the address its users open.

    `bind` is the address gunicorn binds (e.g. 0.0.0.0, or the address of one
    network card; 127.0.0.1 behind a reverse proxy on the same computer);
    `public_url` is what annotators type into the browser (the reverse
    proxy's https address), default http://BIND:PORT.
    """

    bind: str
    port: int
    public_url: str

    @property
    def public_host(self) -> str:
        return urlparse(self.public_url).hostname or ""

    @property
    def secure(self) -> bool:
        return urlparse(self.public_url).scheme == "https"

    @property
    def allowed_hosts(self) -> list[str]:
        """The host names Django answers: the public one, the bound address, and loopback for the local tools."""
        hosts = [self.public_host]
        if self.bind not in ("0.0.0.0", "::"):
            hosts.append(self.bind)
        hosts += ["127.0.0.1", "localhost"]
        return list(dict.fromkeys(h for h in hosts if h))

    @property
    def trusted_origins(self) -> list[str]:
        """Origins whose form posts Django accepts (Django 4 wants the scheme): the public URL's."""
        parsed = urlparse(self.public_url)
        return [f"{parsed.scheme}://{parsed.netloc}"]


def team_mode(bind: str, port: int, public_url: str | None = None) -> TeamMode:
    """A checked :class:`TeamMode`: an IP address to bind, an http(s) public URL with a host name."""
    try:
        ipaddress.ip_address(bind)
    except ValueError:
        raise errors.doccano_bad_team_option("--host", bind, "an IP address of this computer (e.g. 0.0.0.0 for every network card, or 192.168.1.20)") from None
    if public_url is None:
        shown = "127.0.0.1" if bind in ("0.0.0.0", "::") else (f"[{bind}]" if ":" in bind else bind)
        public_url = f"http://{shown}:{port}"
    parsed = urlparse(public_url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.path not in ("", "/") or parsed.query:
        raise errors.doccano_bad_team_option("--public-url", public_url, "the address annotators open, e.g. https://annotate.example.org (no path)")
    return TeamMode(bind, port, f"{parsed.scheme}://{parsed.netloc}")


def team_settings_text(team: TeamMode) -> str:
    """The Django settings module of a team server: Doccano's production settings, narrowed to the team's hosts.

    With an https public URL the reverse proxy terminates TLS and says so in
    `X-Forwarded-Proto`; Django then marks its session and CSRF cookies
    Secure and treats the request as https. Gunicorn binds the address, so
    nothing else can set that header unless it reaches the bound port.
    """
    lines = [
        '"""Written by vndiplo for `vndiplo doccano serve --host`: Doccano\'s production settings for a team server."""',
        "from config.settings.production import *  # noqa: F401,F403",
        "",
        f"ALLOWED_HOSTS = {team.allowed_hosts!r}",
        f"CSRF_TRUSTED_ORIGINS = {team.trusted_origins!r}",
        f"SESSION_COOKIE_SECURE = {team.secure!r}",
        f"CSRF_COOKIE_SECURE = {team.secure!r}",
        "SESSION_COOKIE_HTTPONLY = True",
    ]
    # Doccano trusts X-Forwarded-Proto from anyone; only an https set-up behind a proxy needs it.
    lines.append(f"SECURE_PROXY_SSL_HEADER = {('HTTP_X_FORWARDED_PROTO', 'https') if team.secure else None!r}")
    return "\n".join(lines) + "\n"


def serve_team_mode(username: str, password: str, host: str | None, port: int, public_url: str | None = None) -> TeamMode | None:
    """The team mode `serve` asks for (None: loopback), refused before anything starts when it cannot be safe."""
    if public_url and not host:
        raise errors.VndiploError(
            "--public-url needs --host", "the public address only matters for a server other computers reach",
            "Add --host (e.g. --host 127.0.0.1 behind a reverse proxy on this computer).",
        )
    if not host:
        return None
    team = team_mode(host, port, public_url)
    check_admin_password(username, password)
    return team
