"""A scientist gets only fedsyft's flow from syft's API: nothing that runs in the server itself.

The first two attacks were found by a red team against an unguarded datasite: both worked
with the scientist's own account and no submitted code.
"""

from __future__ import annotations

import pandas as pd
import pytest

from datasite import data as heart
from datasite.api_guard import SCIENTIST_PATHS
from tests.conftest import HEART


def _execute(sci, remote_self, op, args, kwargs=None, self_id=None):
    """Ask syft's `action.execute` to call `op` on an object (or on `self_id`), with uploaded arguments."""
    import syft as sy
    from syft.service.action.action_object import ActionType
    from syft.types.uid import LineageID

    def pointer(value):
        return value if isinstance(value, LineageID) else LineageID(sy.ActionObject.from_obj(value).send(sci).id)

    action = remote_self.syft_make_action(
        path="x", op=op, remote_self=self_id or remote_self.id, args=[pointer(a) for a in args],
        kwargs={k: pointer(v) for k, v in (kwargs or {}).items()}, action_type=ActionType.METHOD,
    )
    return sci.api.services.action.execute(action)


def test_action_execute_cannot_hand_the_private_frame_back(make_site):
    """dict.setdefault ran twice by syft (private, then mock) returned the private DataFrame."""
    import syft as sy
    from syft.types.errors import SyftException
    from syft.types.uid import LineageID

    site = make_site()
    sci = site.scientist()
    asset = sci.datasets["heart"].assets["train"]
    box = sy.ActionObject.from_obj({}).send(sci)
    with pytest.raises(SyftException, match="does not offer `action.execute` to data scientists"):
        _execute(sci, box, "setdefault", ["k", LineageID(asset.action_id)])
    private, _ = heart.load_centre(HEART, "cleveland")
    assert not any(e.event in ("executed", "released") for e in site.home.audit.entries())
    assert len(private) == 199  # the frame the attack returned in full before the guard


def test_action_execute_cannot_run_code_in_the_server(make_site, tmp_path):
    """DataFrame.eval with engine="python" reached the server's own modules (os.system as root)."""
    import syft as sy
    from syft.types.errors import SyftException

    site = make_site()
    sci = site.scientist()
    proof = tmp_path / "proof.txt"
    mine = sy.ActionObject.from_obj(pd.DataFrame({"a": [1]})).send(sci)
    with pytest.raises(SyftException, match="does not offer `action.execute`"):
        _execute(sci, mine, "eval", [f'@logging.os.system("id > {proof}")'], {"engine": "python"})
    assert not proof.exists()


def test_action_execute_cannot_call_methods_on_the_private_asset(make_site, tmp_path):
    """to_csv on the private pointer made the server write every private row to a chosen path."""
    from syft.types.errors import SyftException

    site = make_site()
    sci = site.scientist()
    out = tmp_path / "rows.csv"
    import syft as sy

    asset = sci.datasets["heart"].assets["train"]
    with pytest.raises(SyftException, match="does not offer"):
        asset.pointer  # noqa: B018  (syft's way to a pointer of the private data is refused too)
    mine = sy.ActionObject.from_obj(pd.DataFrame({"a": [1]})).send(sci)
    with pytest.raises(SyftException, match="does not offer `action.execute`"):
        _execute(sci, mine, "to_csv", [str(out)], self_id=asset.action_id)
    assert not out.exists()


@pytest.mark.parametrize("path", [
    "action.execute", "queue", "code.store_execution_output", "user.view", "request.get_all_info",
    "code.get_all_for_user", "settings.get", "blob_storage.get_by_uid", "action.np_array",
])
def test_paths_outside_the_allow_list_are_refused_to_scientists(make_site, path):
    from syft.client.api import SyftAPICall
    from syft.service.response import SyftError

    site = make_site()
    sci = site.scientist()
    call = SyftAPICall(server_uid=sci.api.server_uid, path=path, args=[], kwargs={})
    answer = site.worker.handle_api_call_with_unsigned_result(call.sign(sci.api.signing_key))
    assert isinstance(answer, SyftError)
    assert answer.message == f"this fedsyft datasite does not offer `{path}` to data scientists"


def test_the_owner_keeps_the_whole_api(make_site):
    """The guard is for accounts below the data-owner role; the admin's calls go through."""
    site = make_site()
    assert site.admin.api.services.settings.get() is not None
    assert site.admin.api.services.user.get_all()


def test_scientist_reads_of_private_objects_through_allowed_paths_stay_denied(make_site):
    """The allowed generic readers apply the scientist's permissions to the private asset."""
    from syft.service.action.action_object import ActionObject
    from syft.types.errors import SyftException

    site = make_site()
    sci = site.scientist()
    asset = sci.datasets["heart"].assets["train"]
    private_blob = site.admin.api.services.action.get(asset.action_id).syft_blob_storage_entry_id
    attempts = {
        "action.get": lambda: sci.api.services.action.get(asset.action_id),
        "migration._get_object": lambda: sci.api.services.migration._get_object(asset.action_id, ActionObject),
        "blob_storage.read": lambda: sci.api.services.blob_storage.read(private_blob),
    }
    private, _ = heart.load_centre(HEART, "cleveland")
    for name, attempt in attempts.items():
        with pytest.raises(SyftException, match="not found") as refused:
            attempt()
        assert str(private.iloc[0]["chol"]) not in str(refused.value), name


def test_every_allowed_path_is_a_real_syft_path():
    from syft.service.service import ServiceConfigRegistry

    assert sorted(p for p in SCIENTIST_PATHS if not ServiceConfigRegistry.path_exists(p)) == []
