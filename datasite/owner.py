"""What a data owner does to a datasite: upload data with a mock, register scientists.

Each function takes an admin syft client (in-process or over HTTP) and the
datasite's home directory for the audit log. Every input is validated in full
before anything is written, so a bad file leaves the datasite as it was.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import pandas as pd

from datasite import data
from datasite.config import DEFAULT_SYFT_PASSWORD, DatasetSpec
from datasite.home import DatasiteHome

TRAIN, TEST = "train", "test"
_CITATION = (
    "Janosi, A., Steinbrunn, W., Pfisterer, M. and Detrano, R. (1988). Heart Disease. "
    "UCI Machine Learning Repository. CC BY 4.0."
)


class OwnerError(ValueError):
    """An owner action that cannot be done; nothing was changed."""


def prepare_dataset(spec: DatasetSpec) -> dict[str, pd.DataFrame]:
    """Load, validate and split a dataset into its private train and test frames."""
    if spec.kind == "uci-heart":
        frame = data.preprocess(data.read_centre(spec.path))
    else:
        frame = data.read_table(spec.path, required=(*data.FEATURES, data.LABEL))
        data.check_preprocessed(frame, spec.path)
        frame = frame[[*data.FEATURES, data.LABEL]].astype({**dict.fromkeys(data.FEATURES, "float64"),
                                                              data.LABEL: "int64"})
    if len(frame) < 4:
        raise OwnerError(f"{spec.path.name}: {len(frame)} usable rows; a dataset needs at least 4")
    train, test = data.split(frame, seed=spec.seed)
    return {TRAIN: train, TEST: test}


def upload_dataset(client: Any, home: DatasiteHome, spec: DatasetSpec) -> bool:
    """Upload a dataset with a synthetic mock per split; False when it is already there."""
    import syft as sy

    if spec.name in _dataset_names(client):
        return False
    splits = prepare_dataset(spec)  # raises before anything is uploaded
    assets = []
    for split_name, private in splits.items():
        # each site's mock differs: seeded by the file's name, never by its content
        seed = zlib.crc32(f"{spec.path.name}/{split_name}/{spec.seed}".encode())
        mock = data.synthesize_mock(private, len(private), seed=seed, avoid=private)
        assets.append(
            sy.Asset(
                name=split_name,
                description=f"{split_name} split, {len(private)} rows; the mock is synthetic",
                data=private,
                mock=mock,
                mock_is_real=False,
            )
        )
    dataset = sy.Dataset(
        name=spec.name,
        description=spec.description or f"UCI Heart Disease, {spec.path.name}",
        citation=_CITATION if spec.kind == "uci-heart" else None,
        asset_list=assets,
    )
    result = client.upload_dataset(dataset)
    _raise_on_error(result, f"upload of dataset {spec.name}")
    home.audit.append(
        "dataset_uploaded", name=spec.name, source=spec.path.name,
        rows={k: len(v) for k, v in splits.items()}, columns=list(splits[TRAIN].columns),
    )
    return True


def register_scientist(client: Any, home: DatasiteHome, email: str, name: str, password: str) -> bool:
    """Create a data-scientist account; False when the email is already registered."""
    if password == DEFAULT_SYFT_PASSWORD or len(password) < 12:
        raise OwnerError("a scientist password needs at least 12 characters and not syft's default")
    if email in {u.email for u in client.users.get_all()}:
        return False
    result = client.register(
        name=name, email=email, password=password, password_verify=password,
        institution="", website="",
    )
    _raise_on_error(result, f"registration of {email}")
    home.audit.append("user_registered", email=email, role="data_scientist")
    return True


def install_policy(home: DatasiteHome, policy_file: Path) -> None:
    """Install a policy file unless the same text is already installed."""
    if home.policy_path.exists() and home.policy_path.read_text() == Path(policy_file).read_text():
        return
    home.install_policy(policy_file)


def _dataset_names(client: Any) -> set[str]:
    return {d.name for d in client.datasets.get_all()}


def _raise_on_error(result: Any, what: str) -> None:
    from syft.service.response import SyftError

    if isinstance(result, SyftError):
        raise OwnerError(f"{what} failed: {result.message}")
