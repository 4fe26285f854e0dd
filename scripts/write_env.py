"""Write `.env` for this machine on first set-up: generated secrets and local defaults.

An existing `.env` is kept as it is; only variables it lacks (and the environment does not set)
are appended, so re-running set-up never changes a secret in use.
"""

import os
import secrets
import sys
from pathlib import Path

from dotenv import dotenv_values

DEFAULTS = {
    # Development defaults for a local machine: plain HTTP on localhost. See config/.env.example
    # for production (DEBUG=false turns on HTTPS redirects, secure cookies and HSTS).
    "DEBUG": lambda: "true",
    "SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "SCADAPRO_API_TOKEN": lambda: secrets.token_urlsafe(32),
    "SCADAPRO_ADMIN_PASSWORD": lambda: secrets.token_urlsafe(12),
}


def main(path: str) -> None:
    env_file = Path(path)
    existing = dotenv_values(env_file) if env_file.exists() else {}
    missing = {name: make() for name, make in DEFAULTS.items() if not existing.get(name) and not os.environ.get(name)}
    if not missing:
        return
    lines = (
        []
        if env_file.exists()
        else ["# Written by `make setup` for this machine; never commit it. See config/.env.example."]
    )
    lines += [f"{name}={value}" for name, value in missing.items()]
    with env_file.open("a", encoding="utf-8") as out:
        if env_file.stat().st_size and not env_file.read_text().endswith("\n"):
            out.write("\n")
        out.write("\n".join(lines) + "\n")
    env_file.chmod(0o600)
    print(f"setup: wrote {', '.join(missing)} to {env_file}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".env")
