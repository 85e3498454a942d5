"""The optional login: no timing tell for unknown names, a limit on failed logins, a users file that stays
valid TOML whatever the name, and roles (learner, trainer, admin) that old files still load into."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import re
import stat
import time
import tomllib

import pytest

from rapport.ui import auth
from rapport.ui.auth import Role, authenticator, read_users, role_of, write_user
from rapport.ui.login_throttle import ClientAddress, LoginThrottle, login_client
from simulator.errors import ConfigError

from .test_cli import rapport


def login(check, username: str, password: str) -> bool:
    """Call gradio's `auth` callable as gradio does (it may be sync or async)."""
    result = check(username, password)
    return asyncio.run(result) if inspect.isawaitable(result) else result


@pytest.fixture
def users_file(tmp_path, monkeypatch):
    monkeypatch.setattr(auth, "ITERATIONS", 20_000)  # the same scheme, cheaper, so the tests stay quick
    path = tmp_path / "users.toml"
    write_user(path, "ana", "ana-password")
    write_user(path, "ben", "ben-password", Role.TRAINER)
    monkeypatch.setenv("RAPPORT_AUTH", str(path))
    return path


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- timing ---------------------------------------------------------------------------------------------


def test_an_unknown_user_costs_the_same_password_hash_as_a_known_one(users_file, monkeypatch):
    real = hashlib.pbkdf2_hmac
    rounds: list[int] = []
    monkeypatch.setattr(hashlib, "pbkdf2_hmac", lambda *a: rounds.append(a[3]) or real(*a))
    check = authenticator()
    assert not login(check, "ana", "wrong")
    known = list(rounds)
    rounds.clear()
    assert not login(check, "nobody", "wrong")
    assert known == [auth.ITERATIONS] and rounds == known  # the same work, whether or not the name exists


def test_an_unknown_user_takes_about_as_long_as_a_wrong_password(users_file):
    check = authenticator(LoginThrottle(per_user=1000, per_client=1000))

    def fastest(username: str) -> float:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            login(check, username, "wrong")
            times.append(time.perf_counter() - started)
        return min(times)

    known, unknown = fastest("ana"), fastest("nobody")
    assert 0.33 < unknown / known < 3, (known, unknown)  # before: the unknown name skipped the hash (~1%)


# --- failed-login limit ---------------------------------------------------------------------------------


def test_too_many_failed_logins_lock_the_name_for_a_while(users_file):
    clock = FakeClock()
    check = authenticator(LoginThrottle(per_user=3, per_client=100, window=600, clock=clock))
    for _ in range(3):
        assert not login(check, "ana", "guess")
    assert not login(check, "ana", "ana-password")  # locked: even the right password is refused
    assert login(check, "ben", "ben-password")  # other users are not affected
    clock.now += 601
    assert login(check, "ana", "ana-password")  # the failures left the window


def test_unknown_names_lock_out_exactly_like_known_ones(users_file, monkeypatch):
    check = authenticator(LoginThrottle(per_user=2, per_client=100, clock=FakeClock()))
    real = hashlib.pbkdf2_hmac
    hashed: dict[str, int] = {}
    for name in ("ana", "nobody"):
        hashed[name] = 0
        monkeypatch.setattr(hashlib, "pbkdf2_hmac", lambda *a, n=name: hashed.__setitem__(n, hashed[n] + 1) or real(*a))
        assert [login(check, name, "guess") for _ in range(3)] == [False, False, False]
    assert hashed == {"ana": 2, "nobody": 2}  # the third try is refused unhashed for both: no tell either way
    assert not login(check, "ana", "ana-password")


def test_one_client_guessing_many_names_is_limited_too(users_file):
    check = authenticator(LoginThrottle(per_user=100, per_client=4, clock=FakeClock()))
    token = login_client.set("203.0.113.9")
    try:
        for name in ("a1", "a2", "a3", "a4"):
            assert not login(check, name, "guess")
        assert not login(check, "ben", "ben-password")  # this client is locked out
    finally:
        login_client.reset(token)
    token = login_client.set("198.51.100.7")
    try:
        assert login(check, "ben", "ben-password")  # another client is not
    finally:
        login_client.reset(token)


def test_a_successful_login_clears_the_name_s_failures(users_file):
    check = authenticator(LoginThrottle(per_user=3, per_client=100, clock=FakeClock()))
    for _ in range(2):
        assert not login(check, "ana", "guess")
    assert login(check, "ana", "ana-password")
    for _ in range(2):
        assert not login(check, "ana", "guess")
    assert login(check, "ana", "ana-password")


def test_a_users_file_broken_while_the_app_runs_lets_nobody_in(users_file):
    check = authenticator()
    users_file.write_text("[users\n", encoding="utf-8")
    assert login(check, "ana", "ana-password") is False  # not a server error


def test_the_failure_table_cannot_grow_without_limit():
    throttle = LoginThrottle(per_user=3, per_client=3, max_keys=50, clock=FakeClock())
    for n in range(5000):
        throttle.failed(f"user{n}", f"10.0.{n // 250}.{n % 250}")
    assert len(throttle) == 100  # 50 names and 50 addresses
    assert throttle.blocked(None, "10.0.19.249") is False  # one failure from that address: not locked


def test_failures_from_many_addresses_cannot_push_a_locked_name_out():
    throttle = LoginThrottle(per_user=5, per_client=20, max_keys=50, clock=FakeClock())
    for n in range(5):
        throttle.failed("ana", f"192.0.2.{n}")
    assert throttle.blocked("ana", "198.51.100.1")
    for n in range(5000):  # an attacker with many addresses and junk names fills both tables
        throttle.failed(f"junk{n}", f"2001:db8::{n:x}")
    assert throttle.blocked("ana", "198.51.100.1") and len(throttle) == 100


def test_the_client_address_reaches_the_login_check():
    seen = []

    async def app(scope, receive, send):
        seen.append(login_client.get())

    asyncio.run(ClientAddress(app)({"type": "http", "client": ("192.0.2.4", 5000)}, None, None))
    asyncio.run(ClientAddress(app)({"type": "websocket", "client": ("192.0.2.5", 5000)}, None, None))
    assert seen == ["192.0.2.4", None]


def test_the_running_app_refuses_the_right_password_after_five_wrong_ones(library, users_file):
    import httpx

    from rapport.ui import build_app

    from .browser_support import served
    from .test_ui_browser import fake_persona_model

    with served(build_app(library, fake_persona_model())) as url, httpx.Client(base_url=url, timeout=30) as client:
        def attempt(username: str, password: str) -> bool:
            response = client.post("login", data={"username": username, "password": password})
            return response.status_code == 200 and response.json().get("success") is True

        assert attempt("ben", "ben-password")
        assert [attempt("ana", f"guess{n}") for n in range(5)] == [False] * 5
        assert not attempt("ana", "ana-password")
        assert attempt("ben", "ben-password")


# --- the users file -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ['evil"name', "a\nb", "../../etc", "with space", "", "x" * 65, "-dash", "ümlaut"])
def test_a_name_that_could_break_the_file_or_a_path_is_refused_and_the_file_stays_valid(users_file, name):
    before = users_file.read_text()
    with pytest.raises(ConfigError, match="is not allowed"):
        write_user(users_file, name, "pw")
    assert users_file.read_text() == before and set(tomllib.loads(before)["users"]) == {"ana", "ben"}


def test_names_with_dots_and_at_signs_round_trip(tmp_path):
    path = tmp_path / "users.toml"
    for name in ("ana.smith", "kim@example.org", "x_y-z.1"):
        write_user(path, name, "pw")
    assert set(tomllib.loads(path.read_text())["users"]) == {"ana.smith", "kim@example.org", "x_y-z.1"}
    assert set(read_users(path)) == {"ana.smith", "kim@example.org", "x_y-z.1"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_names_that_differ_only_by_case_are_refused(users_file):
    with pytest.raises(ConfigError, match="only by case"):
        write_user(users_file, "Ana", "pw")


def test_users_add_refuses_a_bad_name_in_one_line(tmp_path):
    path = tmp_path / "users.toml"
    result = rapport("users", "add", 'evil"name', "--file", str(path), input="pw\npw\n")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: user name 'evil\"name' is not allowed: use 1 to 64 letters, digits, '.', '_', '@' or '-', "
        "starting with a letter or digit"
    ]
    assert not path.exists()


# --- roles ----------------------------------------------------------------------------------------------


def test_users_add_with_roles_and_users_list(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from rapport.cli.root import app

    monkeypatch.setattr(auth, "ITERATIONS", 20_000)
    runner = CliRunner()  # in-process: a subprocess per command would import gradio five times

    def cli(*args: str, input: str | None = None):
        result = runner.invoke(app, [*args, "--file", str(path)], input=input)
        assert result.exit_code == 0, (result.output, result.exception)
        return result

    path = tmp_path / "users.toml"
    cli("users", "add", "ana", input="pw\npw\n")
    assert "ben (trainer) can now log in" in cli("users", "add", "ben", "--role", "trainer", input="pw\npw\n").stderr
    cli("users", "add", "cy", "--role", "admin", input="pw\npw\n")
    cli("users", "add", "ben", input="new\nnew\n")  # a new password; ben stays a trainer
    listed = cli("users", "list")
    assert listed.stdout.splitlines() == ["ana\tlearner", "ben\ttrainer", "cy\tadmin"]
    assert "pbkdf2" not in listed.stdout
    assert auth.check_password("new", read_users(path)["ben"].password_hash)


def test_roles_come_from_the_users_file(users_file, monkeypatch):
    assert role_of("ana") is Role.LEARNER and role_of("ben") is Role.TRAINER
    assert role_of("deleted-since-login") is Role.LEARNER  # least privilege
    monkeypatch.delenv("RAPPORT_AUTH")
    assert role_of(None) is Role.ADMIN  # no login: the one local user keeps full rights


def test_a_users_file_from_before_roles_still_loads_as_learners(tmp_path, monkeypatch):
    monkeypatch.setattr(auth, "ITERATIONS", 20_000)
    stored = auth.hash_password("ana-password")
    path = tmp_path / "users.toml"
    path.write_text(f'# Rapport users\n[users]\n"ana" = "{stored}"\n', encoding="utf-8")  # the old writer's format
    monkeypatch.setenv("RAPPORT_AUTH", str(path))
    assert read_users(path)["ana"].role is Role.LEARNER
    assert login(authenticator(), "ana", "ana-password") and role_of("ana") is Role.LEARNER
    write_user(path, "ben", "pw", Role.ADMIN)  # rewriting upgrades the file and keeps ana's password
    data = tomllib.loads(path.read_text())["users"]
    assert data["ana"] == {"role": "learner", "password_hash": stored} and data["ben"]["role"] == "admin"


@pytest.mark.parametrize("entry, message", [
    ('[users.ana]\nrole = "boss"\npassword_hash = "{h}"\n', "role"),
    ('[users.ana]\nrole = "learner"\n', "password_hash"),
    ('[users.ana]\npassword_hash = "{h}"\nshoe_size = 9\n', "shoe_size"),
    ('[users]\n"a b" = "{h}"\n', "name"),
    ('[users]\nana = 3\n', "expected a table"),
    ("users = 3\n", "expected a [users] table"),
    ("[users\n", "invalid TOML"),
])
def test_a_broken_users_file_is_one_line(tmp_path, monkeypatch, entry, message):
    monkeypatch.setattr(auth, "ITERATIONS", 1000)
    path = tmp_path / "users.toml"
    path.write_text(entry.replace("{h}", auth.hash_password("x")), encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        read_users(path)
    assert "\n" not in str(caught.value)


def test_users_list_reports_a_broken_file_in_one_line(tmp_path, monkeypatch):
    path = tmp_path / "users.toml"
    path.write_text('[users.ana]\nrole = "boss"\npassword_hash = "x"\n', encoding="utf-8")
    monkeypatch.setenv("RAPPORT_AUTH", str(path))
    result = rapport("users", "list")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [f"error: {path}: user 'ana': password_hash: String should match "
                                                  f"pattern '{auth.HASH_PATTERN}'"]


def test_the_name_of_the_learner_without_a_login_is_reserved(tmp_path, monkeypatch):
    """A web user called `local` would see every session practised from the CLI or without a login."""
    monkeypatch.delenv("RAPPORT_LEARNER", raising=False)
    with pytest.raises(ConfigError, match="reserved"):
        write_user(tmp_path / "users.toml", "local", "pw")
    monkeypatch.setenv("RAPPORT_LEARNER", "operator")
    with pytest.raises(ConfigError, match="reserved"):
        write_user(tmp_path / "users.toml", "Operator", "pw")
