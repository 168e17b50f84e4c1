"""Secrets (and URLs that hold them) given in the file, by an environment variable or by a
systemd credential."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def secret_url(
    key: str,
    url: str | None,
    env: str | None,
    credential: str | None,
    environ: Mapping[str, str],
) -> tuple[str | None, str | None]:
    """A URL given in the file (``url``), by an environment variable or by a credential; or
    the problem, located at ``key``."""
    if env is None and credential is None:
        return url, None
    return secret_value(f"{key}.url_", env, credential, environ)


def secret_value(
    at: str, env: str | None, credential: str | None, environ: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """A secret from the environment variable ``env`` or the credential ``credential`` (one
    of them given); or the problem, located at ``at`` followed by ``env`` or ``credential``
    (``feeds[2].password_env``)."""
    if env is not None:
        value = environ.get(env, "").strip()
        if not value:
            return None, f"{at}env: environment variable {env} is not set"
        return value, None
    assert credential is not None
    try:
        return read_credential(credential, environ), None
    except ValueError as exc:
        return None, f"{at}credential: {exc}"


def read_credential(name: str, environ: Mapping[str, str]) -> str:
    """The secret systemd's ``LoadCredential=`` put in ``$CREDENTIALS_DIRECTORY/name``.
    Raises ValueError with a reason a config error can show."""
    directory = environ.get("CREDENTIALS_DIRECTORY", "")
    if not directory:
        raise ValueError(
            f"credential {name!r} needs $CREDENTIALS_DIRECTORY, which is not set "
            "(systemd sets it for a unit with LoadCredential=)"
        )
    if "/" in name or name in ("", ".", ".."):
        raise ValueError(f"{name!r} is not a credential name")
    try:
        value = (Path(directory) / name).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ValueError(f"credential {name!r} not found in {directory}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read credential {name!r}: {exc}") from None
    if not value:
        raise ValueError(f"credential {name!r} is empty")
    return value
