"""Optional login: RAPPORT_AUTH names a TOML file of users, their roles and salted password hashes.

`rapport users add NAME --role learner|trainer|admin` writes it (with tomlkit, never by hand):

    [users.ana]
    role = "learner"
    password_hash = "pbkdf2_sha256$600000$<salt>$<digest>"

Files from before roles (`[users]` with `ana = "<hash>"` lines) still load; those users are learners, the
least privileged role, so an upgrade never gives anyone more rights than they had.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from simulator.data_files import read_toml_file
from simulator.errors import ConfigError, DataFileError
from simulator.roles import UserRole
from simulator.settings import settings

from .login_throttle import LoginThrottle, login_client

log = logging.getLogger("rapport.auth")
ITERATIONS = 600_000
# Login names double as learner ids and as folder names (a learner's own personas), so keep them plain.
USER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
HASH_PATTERN = r"^pbkdf2_sha256\$[1-9][0-9]{0,7}\$(?:[0-9a-f]{2}){1,64}\$[0-9a-f]{64}$"


Role = UserRole  # the login's roles live in simulator.roles, where the store can scope by them too


class UserRecord(BaseModel):
    """One user of the browser app: the file's `[users.NAME]` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, StringConstraints(pattern=USER_NAME_PATTERN)]
    password_hash: Annotated[str, StringConstraints(pattern=HASH_PATTERN)]
    role: Role = Role.LEARNER


def validate_user_name(name: str) -> str:
    """The name if it can be a login; otherwise a one-line `ConfigError` saying what is allowed."""
    from rapport.service import default_learner

    if name.lower() in {"local", default_learner().lower()}:  # the CLI's learner: a login would see its sessions
        raise ConfigError(f"user name {name!r} is reserved for the learner without a login (RAPPORT_LEARNER); "
                          "choose another name")
    if re.fullmatch(USER_NAME_PATTERN, name):
        return name
    shown = repr(name if len(name) <= 40 else name[:40] + "…")
    raise ConfigError(f"user name {shown} is not allowed: use 1 to 64 letters, digits, '.', '_', '@' or '-', "
                      "starting with a letter or digit")


def hash_password(password: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), ITERATIONS).hex()
    return f"pbkdf2_sha256${ITERATIONS}${salt}${digest}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations)).hex()
    return hmac.compare_digest(candidate, digest)


def _dummy_hash() -> str:
    # Same scheme and cost as a real entry: an unknown name must cost as much as a wrong password.
    return f"pbkdf2_sha256${ITERATIONS}${'00' * 16}${'0' * 64}"


def verify(users: dict[str, UserRecord], username: str, password: str) -> bool:
    """True if the password is right; unknown users run the same hash, so timing does not tell who exists."""
    record = users.get(username)
    matches = check_password(password, record.password_hash if record else _dummy_hash())
    return matches and record is not None


def read_users(path: Path) -> dict[str, UserRecord]:
    """The users file as records by name; a one-line `ConfigError` for anything wrong in it."""
    if not path.exists():
        raise ConfigError(f"RAPPORT_AUTH points to {path}, which does not exist; create it with `rapport users add NAME`")
    try:
        data = read_toml_file(path)
    except DataFileError as exc:
        raise ConfigError(str(exc).splitlines()[0]) from None
    table = data.get("users", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: expected a [users] table")
    users: dict[str, UserRecord] = {}
    for name, entry in table.items():
        fields = {"password_hash": entry} if isinstance(entry, str) else entry  # a pre-roles line: a learner
        if not isinstance(fields, dict):
            raise ConfigError(f"{path}: user {name!r}: expected a table with password_hash and role")
        try:
            users[name] = UserRecord(name=name, **fields)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "entry"
            raise ConfigError(f"{path}: user {name[:40]!r}: {where}: {error['msg']}") from None
        except TypeError:  # a key such as `name` given twice
            raise ConfigError(f"{path}: user {name[:40]!r}: unexpected keys") from None
    return users


def write_user(path: Path, name: str, password: str, role: Role | None = None) -> UserRecord:
    """Add a user or change their password (and role: None keeps an existing user's role, else learner)."""
    validate_user_name(name)
    users = read_users(path) if path.exists() else {}
    clash = next((other for other in users if other != name and other.lower() == name.lower()), None)
    if clash:
        # their persona folders would be the same folder on case-insensitive file systems
        raise ConfigError(f"user name {name!r} differs from the existing user {clash!r} only by case; pick another")
    kept = users[name].role if name in users else Role.LEARNER
    users[name] = record = UserRecord(name=name, password_hash=hash_password(password), role=role or kept)
    _write_users(path, users)
    return record


def _write_users(path: Path, users: dict[str, UserRecord]) -> None:
    import tomlkit

    document = tomlkit.document()
    document.add(tomlkit.comment("Rapport users: role and salted PBKDF2 hash. Manage with `rapport users add NAME`."))
    table = tomlkit.table(is_super_table=True)
    for name, record in sorted(users.items()):
        entry = tomlkit.table()
        entry.add("role", record.role.value)
        entry.add("password_hash", record.password_hash)
        table.add(name, entry)
    document.add("users", table)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name created 0600, then renamed: never a half-written or world-readable file.
    handle, temporary = tempfile.mkstemp(prefix=".users-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(tomlkit.dumps(document))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def auth_file() -> Path | None:
    value = settings().auth
    return value.expanduser() if value else None


def role_of(username: str | None) -> Role:
    """A logged-in user's role from the users file; no login (one local user) is an admin, as before roles."""
    path = auth_file()
    if username is None or path is None:
        return Role.ADMIN if username is None and path is None else Role.LEARNER
    try:
        record = read_users(path).get(username)
    except ConfigError:
        return Role.LEARNER  # a file broken while the app runs grants nothing extra
    return record.role if record else Role.LEARNER


def authenticator(throttle: LoginThrottle | None = None):
    """Gradio's `auth` callable when RAPPORT_AUTH is set, else None (no login; one local learner).

    Failed logins are limited per user name and per client address; the hash runs in a worker thread so a
    burst of logins never stalls the conversations streaming on the event loop.
    """
    path = auth_file()
    if path is None:
        return None
    read_users(path)  # fail at start-up with a clear message, not at the first login
    throttle = LoginThrottle() if throttle is None else throttle  # (an empty one is falsy: it has a length)

    def check(username: str, password: str, client: str | None) -> bool:
        if not re.fullmatch(USER_NAME_PATTERN, username):
            throttle.failed(None, client)  # no such name can exist: nothing to hide, nothing to hash
            return False
        if throttle.blocked(username, client):
            return False
        try:
            users = read_users(path)  # re-read: `users add` works without a restart
        except ConfigError as exc:
            log.error("login refused: %s", exc)  # a file broken while the app runs lets nobody in
            return False
        if verify(users, username, password):
            throttle.succeeded(username)
            return True
        throttle.failed(username, client)
        return False

    async def login(username: str, password: str) -> bool:
        return await asyncio.to_thread(check, username, password, login_client.get())

    return login
