"""A datasite's configuration file (TOML): where it listens, keeps state, and what it serves.

Example::

    [datasite]
    name = "cleveland"
    port = 8081
    data_dir = "sites/cleveland"            # relative to this file
    admin_email = "admin@cleveland.example"
    admin_password_env = "CLEVELAND_ADMIN_PASSWORD"   # or admin_password_file = "..."
    policy = "policy.toml"                  # default: the shipped default policy

    [[datasets]]
    name = "heart"
    kind = "uci-heart"                      # raw UCI file (processed.*.data); or "csv", below
    path = "processed.cleveland.data"

A `kind = "csv"` dataset is already preprocessed: a header row naming at least the 13
features of `datasite.data.FEATURES` (age, sex, trestbps, chol, fbs, thalach, exang, oldpeak,
cp_2, cp_3, cp_4, restecg_1, restecg_2; the binary and one-hot ones 0/1) and `target` (0/1),
every value a number, none missing. Each split must hold at least the policy's
`output.min_rows` rows, or nothing computed on it could ever be released.

    [[scientists]]
    email = "scientist@fedsyft.example"
    name = "Dana Scientist"
    password_env = "SCIENTIST_PASSWORD"
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from policies.policy import default_policy_path

DEFAULT_SYFT_PASSWORD = "changethis"  # syft 0.9.5's default admin password: never kept
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_MIN_PASSWORD = 12


class ConfigError(ValueError):
    """A datasite configuration file is wrong; the message says where and what to do."""


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset the datasite serves: split into `train` and `test` private assets."""

    name: str
    kind: str
    path: Path
    seed: int = 42
    description: str = ""


@dataclass(frozen=True)
class ScientistSpec:
    """A scientist account the datasite registers."""

    email: str
    name: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class DatasiteConfig:
    """Everything `fedsyft datasite serve` needs."""

    name: str
    host: str
    port: int
    data_dir: Path
    admin_email: str
    admin_password: str = field(repr=False)
    policy_path: Path
    datasets: tuple[DatasetSpec, ...]
    scientists: tuple[ScientistSpec, ...]
    source: Path

    @property
    def url(self) -> str:
        """Base URL of the datasite."""
        return f"http://{self.host}:{self.port}"


def load_config(
    path: str | Path, env: dict[str, str] | None = None, *, scientist_secrets: bool = True
) -> DatasiteConfig:
    """Read and validate a datasite config; secrets come from the environment or files.

    `scientist_secrets=False` is for admin commands that never register accounts (review,
    approve, deny): the scientists' passwords are then not read, and their specs hold "".
    """
    path = Path(path)
    env = dict(os.environ) if env is None else env
    if not path.is_file():
        raise ConfigError(f"datasite config not found: {path}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path.name}: not valid TOML: {err}") from None
    where = path.name
    base = path.parent.resolve()
    unknown = set(raw) - {"datasite", "datasets", "scientists"}
    if unknown:
        raise ConfigError(f"{where}: unknown section(s) {sorted(unknown)}")
    site = raw.get("datasite")
    if not isinstance(site, dict):
        raise ConfigError(f"{where}: missing the [datasite] section")
    _no_unknown(site, {"name", "host", "port", "data_dir", "admin_email", "admin_password_env",
                       "admin_password_file", "policy"}, f"{where} [datasite]")

    name = _text(site, "name", f"{where} [datasite]")
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"{where} [datasite] name: use 1-40 lowercase letters, digits, '-' or '_', got {name!r}"
        )
    host = site.get("host", "127.0.0.1")
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError(
            f"{where} [datasite] host: fedsyft binds loopback only (127.0.0.1); "
            f"put a TLS reverse proxy in front to expose it, got {host!r}"
        )
    port = site.get("port")
    if isinstance(port, bool) or not isinstance(port, int) or not 1024 <= port <= 65535:
        raise ConfigError(f"{where} [datasite] port must be an integer 1024-65535, got {port!r}")
    data_dir = _resolve(base, _text(site, "data_dir", f"{where} [datasite]"))
    admin_email = _email(site.get("admin_email"), f"{where} [datasite] admin_email")
    admin_password = _secret(site, "admin_password", base, env, f"{where} [datasite]")
    policy_path = (
        _resolve(base, _text(site, "policy", f"{where} [datasite]"))
        if "policy" in site else default_policy_path()
    )
    if not policy_path.is_file():
        raise ConfigError(f"{where} [datasite] policy: file not found: {policy_path}")

    datasets = []
    for i, item in enumerate(raw.get("datasets", [])):
        ctx = f"{where} [[datasets]] #{i + 1}"
        _no_unknown(item, {"name", "kind", "path", "seed", "description"}, ctx)
        ds_name = _text(item, "name", ctx)
        if not _NAME.fullmatch(ds_name):
            raise ConfigError(f"{ctx} name: use lowercase letters, digits, '-' or '_', got {ds_name!r}")
        kind = item.get("kind", "uci-heart")
        if kind not in ("uci-heart", "csv"):
            raise ConfigError(f"{ctx} kind must be 'uci-heart' or 'csv', got {kind!r}")
        ds_path = _resolve(base, _text(item, "path", ctx))
        seed = item.get("seed", 42)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"{ctx} seed must be an integer, got {seed!r}")
        datasets.append(DatasetSpec(ds_name, kind, ds_path, seed, str(item.get("description", ""))))
    if len({d.name for d in datasets}) != len(datasets):
        raise ConfigError(f"{where}: two [[datasets]] have the same name")

    scientists = []
    for i, item in enumerate(raw.get("scientists", [])):
        ctx = f"{where} [[scientists]] #{i + 1}"
        _no_unknown(item, {"email", "name", "password_env", "password_file"}, ctx)
        email = _email(item.get("email"), f"{ctx} email")
        password = _secret(item, "password", base, env, ctx) if scientist_secrets else ""
        scientists.append(ScientistSpec(email, _text(item, "name", ctx), password))
    return DatasiteConfig(
        name=name, host="127.0.0.1" if host == "localhost" else host, port=port,
        data_dir=data_dir, admin_email=admin_email, admin_password=admin_password,
        policy_path=policy_path, datasets=tuple(datasets), scientists=tuple(scientists),
        source=path.resolve(),
    )


def _no_unknown(table: dict, known: set[str], ctx: str) -> None:
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"{ctx}: unknown key(s) {sorted(unknown)}; known keys: {sorted(known)}")


def _text(table: dict, key: str, ctx: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{ctx} {key}: a non-empty string is required, got {value!r}")
    return value


def _email(value: object, ctx: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ConfigError(f"{ctx}: an email address is required, got {value!r}")
    return value


def _resolve(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _secret(table: dict, prefix: str, base: Path, env: dict[str, str], ctx: str) -> str:
    """A password from `<prefix>_env` (an environment variable) or `<prefix>_file`."""
    env_key, file_key = f"{prefix}_env", f"{prefix}_file"
    if (env_key in table) == (file_key in table):
        raise ConfigError(f"{ctx}: give exactly one of {env_key} or {file_key} (never the secret itself)")
    if env_key in table:
        var = _text(table, env_key, ctx)
        secret = env.get(var, "")
        if not secret:
            raise ConfigError(f"{ctx} {env_key}: environment variable {var} is not set")
    else:
        secret_path = _resolve(base, _text(table, file_key, ctx))
        if not secret_path.is_file():
            raise ConfigError(f"{ctx} {file_key}: file not found: {secret_path}")
        secret = secret_path.read_text().strip()
    if secret == DEFAULT_SYFT_PASSWORD or len(secret) < _MIN_PASSWORD:
        raise ConfigError(
            f"{ctx}: the password must have at least {_MIN_PASSWORD} characters "
            f"and must not be syft's default"
        )
    return secret
