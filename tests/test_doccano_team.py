"""Team mode's checks and settings (pure), the options `serve` refuses before starting anything, and one real team server."""

from __future__ import annotations

import pytest
import requests
from typer.testing import CliRunner

from vndiplo.cli import app
from vndiplo.doccano.backup import parse_interval
from vndiplo.doccano.postgres import check_database_url, database_choice, redacted
from vndiplo.doccano.team import DOCCANO_DEFAULT_SECRET_KEY, check_admin_password, check_secret_key, password_problems, team_mode, team_settings_text
from vndiplo.errors import VndiploError

from conftest import flat

runner = CliRunner()
STRONG = "mưa phùn trên hồ Gươm 1975"


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Ab1!xyz", "at least 12"),
        ("Password123!", "common or default"),
        ("!!doccano2024", "common or default"),
        ("pick-a-long-password", "common or default"),  # the README's own example
        ("admin-is-the-boss-here", "contains the user name"),
        ("aaaaaaaaaaaaaaaa", "fewer than five different"),
        ("abcdefghijklmnop", "neighbouring keys"),
        ("9876543210", "at least 12"),
    ],
)
def test_a_weak_admin_password_is_named_with_its_problem(password, problem):
    problems = password_problems(password, "admin")
    assert any(problem in p for p in problems), problems
    with pytest.raises(VndiploError, match="too weak"):
        check_admin_password("admin", password)


@pytest.mark.parametrize("password", [STRONG, "correct horse battery staple", "Tàu-ngầm-Kilo-636"])
def test_a_long_uncommon_password_without_the_user_name_is_strong(password):
    assert password_problems(password, "admin") == []
    check_admin_password("admin", password)


def test_doccanos_published_secret_key_and_short_keys_are_refused():
    with pytest.raises(VndiploError, match="published in Doccano's source"):
        check_secret_key(DOCCANO_DEFAULT_SECRET_KEY)
    with pytest.raises(VndiploError, match="fewer than 40"):
        check_secret_key("short-key")
    check_secret_key("x" * 20 + "y" * 50)


def test_team_settings_allow_the_public_host_trust_its_origin_and_secure_cookies_for_https():
    team = team_mode("0.0.0.0", 8000, "https://annotate.example.org/")
    assert team.public_url == "https://annotate.example.org"
    assert team.allowed_hosts == ["annotate.example.org", "127.0.0.1", "localhost"]
    text = team_settings_text(team)
    assert "from config.settings.production import *" in text
    assert "CSRF_TRUSTED_ORIGINS = ['https://annotate.example.org']" in text
    assert "SESSION_COOKIE_SECURE = True" in text and "CSRF_COOKIE_SECURE = True" in text
    assert "SECURE_PROXY_SSL_HEADER = ('HTTP_X_FORWARDED_PROTO', 'https')" in text


def test_a_plain_http_team_server_answers_its_address_and_trusts_no_forwarded_protocol():
    team = team_mode("192.168.1.20", 8000)
    assert team.public_url == "http://192.168.1.20:8000"
    assert team.allowed_hosts == ["192.168.1.20", "127.0.0.1", "localhost"]
    text = team_settings_text(team)
    assert "SESSION_COOKIE_SECURE = False" in text and "SECURE_PROXY_SSL_HEADER = None" in text


@pytest.mark.parametrize(("host", "url", "option"), [("annotate.example.org", None, "--host"), ("0.0.0.0", "ftp://x.org", "--public-url"), ("0.0.0.0", "https://x.org/doccano", "--public-url")])
def test_a_host_name_to_bind_or_a_public_url_with_a_path_is_refused(host, url, option):
    with pytest.raises(VndiploError, match=option):
        team_mode(host, 8000, url)


def test_serve_refuses_a_team_server_with_a_weak_password_before_installing_anything(tmp_path):
    result = runner.invoke(
        app, ["doccano", "serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path / "data")], env={"DOCCANO_USERNAME": "admin", "DOCCANO_PASSWORD": "admin123"}
    )
    assert result.exit_code == 1
    assert "too weak for a server other computers can reach" in flat(result.output)
    assert not (tmp_path / "data").exists()


def test_serve_refuses_public_url_without_host_and_backups_with_detach(tmp_path):
    env = {"DOCCANO_USERNAME": "admin", "DOCCANO_PASSWORD": STRONG}
    result = runner.invoke(app, ["doccano", "serve", "--public-url", "https://a.example.org", "--data-dir", str(tmp_path)], env=env)
    assert result.exit_code == 1 and "--public-url needs --host" in flat(result.output)
    result = runner.invoke(app, ["doccano", "serve", "--backup-every", "1h", "--detach", "--data-dir", str(tmp_path)], env=env)
    assert result.exit_code == 1 and "needs the server in the foreground" in flat(result.output)


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("1h", 3600), ("2d", 172800), ("1.5h", 5400)])
def test_backup_intervals_read_as_a_number_and_a_unit(text, seconds):
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["1", "h", "0h", "-1h", "1w"])
def test_a_backup_interval_without_a_known_unit_is_refused(text):
    with pytest.raises(VndiploError, match="--backup-every"):
        parse_interval(text)


def test_database_options_say_which_database_and_hide_its_password(tmp_path):
    assert database_choice(None, False, None) is None
    assert database_choice("postgresql://u:p@db.lan:5432/doccano", False, None).url == "postgresql://u:p@db.lan:5432/doccano"
    assert database_choice(None, True, tmp_path).cluster == tmp_path.resolve()
    with pytest.raises(VndiploError, match="exclude each other"):
        database_choice("postgresql://u:p@h/d", True, None)
    for url in ("mysql://u:p@h/d", "postgresql://u:p@h", "postgresql:///d"):
        with pytest.raises(VndiploError, match="not a PostgreSQL database"):
            check_database_url(url)
    assert redacted("postgres://doccano:s3cret@127.0.0.1:5/doccano") == "postgres://doccano:***@127.0.0.1:5/doccano"


@pytest.mark.doccano
def test_a_team_server_answers_its_public_host_name_only_and_sends_secure_cookies(tmp_path_factory):
    """A real team server bound to 127.0.0.1 (nothing else on the network is contacted) behind a pretended https proxy."""
    from vndiplo.doccano.local import free_port
    from vndiplo.doccano.server import serve

    port = free_port()
    team = team_mode("127.0.0.1", port, "https://annotate.example.org")
    server = serve(username="admin", password=STRONG, port=port, workers=1, data_dir=tmp_path_factory.mktemp("team"), team=team)
    try:
        health = f"{server.url}/v1/health/"
        assert requests.get(health, headers={"Host": "annotate.example.org"}, timeout=10).status_code == 200
        assert requests.get(health, headers={"Host": "attacker.example.net"}, timeout=10).status_code == 400
        login = requests.post(
            f"{server.url}/v1/auth/login/", json={"username": "admin", "password": STRONG}, timeout=10,
            headers={"Host": "annotate.example.org", "X-Forwarded-Proto": "https", "Origin": "https://annotate.example.org"},
        )
        assert login.status_code == 200, login.text
        cookie = next(c for c in login.raw.headers.getlist("Set-Cookie") if c.startswith("sessionid="))
        assert "Secure" in cookie and "HttpOnly" in cookie
    finally:
        server.stop()


def test_a_team_server_refuses_a_weak_password_in_the_library_too(tmp_path):
    from vndiplo.doccano.server import serve

    with pytest.raises(VndiploError, match="too weak"):
        serve(username="admin", password="doccano", data_dir=tmp_path, team=team_mode("0.0.0.0", 8000))
    assert not any(tmp_path.iterdir())


@pytest.mark.doccano
def test_a_team_server_does_not_start_with_doccanos_published_secret_key(tmp_path):
    from vndiplo.doccano.install import ensure_installed
    from vndiplo.doccano.local import free_port
    from vndiplo.doccano.server import read_state, start

    (tmp_path / "secret_key").write_text(DOCCANO_DEFAULT_SECRET_KEY + "\n")
    port = free_port()
    with pytest.raises(VndiploError, match="secret key is not fit for a team server"):
        start(ensure_installed(), tmp_path, port=port, team=team_mode("127.0.0.1", port))
    assert read_state(tmp_path) is None  # nothing was started
