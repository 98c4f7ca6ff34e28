"""Shared fixtures: real datasites (in-process for speed, HTTP for end to end) on real data."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
HEART = REPO / "fedsyft" / "data" / "uci-heart-disease"
HEART_MODULE = REPO / "scientist" / "examples" / "heart_logreg.py"
SCIENTIST = "scientist@fedsyft.example"
IMPORTS = ("torch", "numpy", "pandas", "math", "collections", "itertools", "functools",
           "typing", "dataclasses", "copy", "random")


def policy_text(
    *, name: str = "test", mode: str = "auto", submitters: tuple[str, ...] = (SCIENTIST,),
    imports: tuple[str, ...] = IMPORTS, max_rounds: int = 10, max_epochs: int = 5,
    wall_time_s: float = 60, cpu_time_s: float = 60, memory_mb: int = 2048,
    result_bytes: int = 200_000, outputs: tuple[str, ...] = ("model_update", "metrics"),
    metric_names: tuple[str, ...] = ("loss", "accuracy", "correct", "loss_sum"),
    min_rows: int = 10, norm_bound: float = 50.0, on_norm: str = "clip",
    release_logs: bool = False, known_hashes: bool = False, constant_time: bool = False,
) -> str:
    """A policy file's text for tests, with the given settings."""
    def toml_list(items: tuple[str, ...]) -> str:
        return "[" + ", ".join(f'"{i}"' for i in items) + "]"

    return f"""name = "{name}"
[submitters]
allowed = {toml_list(submitters)}
[code]
allowed_imports = {toml_list(imports)}
[approval]
mode = "{mode}"
auto_approve_known_hashes = {str(known_hashes).lower()}
[training]
max_rounds = {max_rounds}
max_epochs = {max_epochs}
[limits]
wall_time_s = {wall_time_s}
cpu_time_s = {cpu_time_s}
memory_mb = {memory_mb}
result_bytes = {result_bytes}
constant_time = {str(constant_time).lower()}
[output]
allowed = {toml_list(outputs)}
metric_names = {toml_list(metric_names)}
min_rows = {min_rows}
update_norm_bound = {norm_bound}
on_norm_exceeded = "{on_norm}"
[logs]
release_to_scientist = {str(release_logs).lower()}
"""


def site_config_text(
    name: str, port: int, data_dir: Path, policy: Path, datasets: list[tuple[str, str, Path]],
) -> str:
    """A datasite config file's text; passwords come from FEDSYFT_TEST_* variables."""
    lines = [
        "[datasite]", f'name = "{name}"', f"port = {port}", f'data_dir = "{data_dir}"',
        f'admin_email = "admin@{name}.example"', 'admin_password_env = "FEDSYFT_TEST_ADMIN_PASSWORD"',
        f'policy = "{policy}"', "",
    ]
    for ds_name, kind, path in datasets:
        lines += ["[[datasets]]", f'name = "{ds_name}"', f'kind = "{kind}"', f'path = "{path}"', ""]
    lines += ["[[scientists]]", f'email = "{SCIENTIST}"', 'name = "Test Scientist"',
              'password_env = "FEDSYFT_TEST_SCIENTIST_PASSWORD"', ""]
    return "\n".join(lines)


@pytest.fixture(scope="session", autouse=True)
def test_passwords() -> dict[str, str]:
    """Generated passwords for every datasite the tests start."""
    env = {
        "FEDSYFT_TEST_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        "FEDSYFT_TEST_SCIENTIST_PASSWORD": secrets.token_urlsafe(16),
    }
    os.environ.update(env)
    return env


@dataclass
class LocalSite:
    """An in-process datasite with fedsyft's executor and steward, and its clients."""

    config: Any
    worker: Any
    home: Any
    executor: Any
    steward: Any

    @property
    def admin(self) -> Any:
        return self.worker.root_client

    def scientist(self, email: str = SCIENTIST, password: str | None = None) -> Any:
        password = password or os.environ["FEDSYFT_TEST_SCIENTIST_PASSWORD"]
        return self.worker.get_guest_client(verbose=False).login(email=email, password=password)

    def close(self) -> None:
        from datasite.executor import uninstall

        uninstall(str(self.worker.id))
        self.executor.close()


@pytest.fixture
def make_site(tmp_path: Path):
    """Factory of in-process datasites holding a centre's real data under a given policy."""
    from datasite.config import load_config
    from datasite.executor import Executor, install
    from datasite.server import prepare
    from datasite.steward import Steward

    made: list[LocalSite] = []

    def make(name: str = "cleveland", policy: str | None = None, centre: str = "cleveland") -> LocalSite:
        root = tmp_path / name
        root.mkdir(parents=True, exist_ok=True)
        policy_path = root / "policy.toml"
        policy_path.write_text(policy or policy_text())
        config_path = root / f"{name}.toml"
        config_path.write_text(site_config_text(
            name, 18000 + len(made), root / "data", policy_path,
            [("heart", "uci-heart", HEART / f"processed.{centre}.data")],
        ))
        config = load_config(config_path)
        worker, home = prepare(config)
        executor = Executor(home)
        install(executor, str(worker.id))
        site = LocalSite(config, worker, home, executor, Steward(worker.root_client, home))
        made.append(site)
        return site

    yield make
    for site in made:
        site.close()
