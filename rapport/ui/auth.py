"""Optional login: RAPPORT_AUTH names a TOML file of users and salted password hashes (see `rapport users add`)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tomllib
from pathlib import Path

from simulator.errors import ConfigError

ITERATIONS = 600_000


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


def read_users(path: Path) -> dict[str, str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"RAPPORT_AUTH points to {path}, which does not exist; create it with `rapport users add NAME`") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    users = data.get("users", {})
    if not isinstance(users, dict) or not all(isinstance(v, str) for v in users.values()):
        raise ConfigError(f"{path}: expected a [users] table of name = \"password hash\"")
    return users


def write_user(path: Path, name: str, password: str) -> None:
    users = read_users(path) if path.exists() else {}
    users[name] = hash_password(password)
    lines = ["# Rapport users: name = salted PBKDF2 hash. Manage with `rapport users add NAME`.", "[users]"]
    lines += [f'"{n}" = "{h}"' for n, h in sorted(users.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)


def authenticator():
    """Gradio's `auth` callable when RAPPORT_AUTH is set, else None (no login; one local learner)."""
    value = os.environ.get("RAPPORT_AUTH")
    if not value:
        return None
    path = Path(value).expanduser()
    read_users(path)  # fail at start-up with a clear message, not at the first login

    def check(username: str, password: str) -> bool:
        stored = read_users(path).get(username)
        return stored is not None and check_password(password, stored)

    return check
