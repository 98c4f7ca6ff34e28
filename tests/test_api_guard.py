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
        with pytest.raises(SyftException, match="not found|only requests and their code may be read") as refused:
            attempt()
        assert str(private.iloc[0]["chol"]) not in str(refused.value), name


def test_every_allowed_path_is_a_real_syft_path():
    from syft.service.service import ServiceConfigRegistry

    assert sorted(p for p in SCIENTIST_PATHS if not ServiceConfigRegistry.path_exists(p)) == []


# --- a second red team's attacks, through paths the allow-list keeps open ---------------------


def _crafted_request(sci, data_rule):
    """The demo module submitted with a hand-built MixedInputPolicy whose `data` rule is `data_rule`."""
    import inspect

    from syft.client.api import ServerIdentity
    from syft.service.code.user_code import SubmitUserCode
    from syft.service.policy.policy import MixedInputPolicy, OutputPolicyExecuteCount, UserOwned

    from policies.submission import build
    from tests.conftest import HEART_MODULE

    submission = build(HEART_MODULE.read_text(), "train", "heart_logreg.py", "0badc0de")
    namespace: dict = {}
    exec(submission.wrapper_code(), namespace)
    rules = {"data": data_rule, "weights": UserOwned(kw="weights", type=dict),
             "config": UserOwned(kw="config", type=dict)}
    policy = MixedInputPolicy(init_kwargs={ServerIdentity.from_api(sci.api): rules})
    output = OutputPolicyExecuteCount(limit=1)
    submit = SubmitUserCode(
        code=submission.wrapper_code(), func_name=submission.func_name,
        signature=inspect.signature(namespace[submission.func_name]), input_policy_type=MixedInputPolicy,
        input_policy_init_kwargs=policy.init_kwargs, output_policy_type=OutputPolicyExecuteCount,
        output_policy_init_kwargs=output.init_kwargs, local_function=namespace[submission.func_name],
        input_kwargs=["data", "weights", "config"],
    )
    return submission, sci.code.request_code_execution(submit)


def test_a_hand_built_input_rule_is_denied_and_a_call_error_quotes_no_private_value(make_site):
    """A `Constant` rule on the private asset made syft load it and print it in a call error."""
    import numpy as np
    from syft.service.action.action_endpoint import CustomEndpointActionObject
    from syft.service.policy.policy import Constant

    from scientist.federation import _send

    site = make_site()
    sci = site.scientist()
    train = sci.api.services.dataset.get_all()["heart"].assets["train"]
    submission, _ = _crafted_request(sci, Constant(kw="data", val=train.action_id, klass=CustomEndpointActionObject))
    (decision,) = [d for d in site.steward.review_pending() if d.outcome != "approved"]
    assert decision.outcome == "denied" and "`data` of train must be one of this datasite's train assets" in \
        decision.reason
    # an owner who approves it anyway (through syft, around the steward) still leaks nothing
    site.admin.requests[0].approve(approve_nested=True)
    sci = site.scientist()
    function = getattr(sci.code, submission.func_name)
    weights = {"weight": np.zeros((1, 13), np.float32), "bias": np.zeros(1, np.float32)}
    try:
        answer = str(function(weights=_send(sci, weights), config=_send(sci, {"epochs": 1})))
    except Exception as err:
        answer = str(err)
    private, _ = heart.load_centre(HEART, "cleveland")
    assert not any(ch.isdigit() for ch in answer.splitlines()[0]), answer
    assert f"{private.iloc[0]['chol']:.1f}" not in answer and "unexepected value" not in answer


def test_a_scientist_cannot_overwrite_a_mock_blob(make_site):
    """write_to_disk needed only read permission, and every mock blob is readable: training broke."""
    from syft.types.errors import SyftException

    site = make_site()
    sci = site.scientist()
    train = sci.api.services.dataset.get_all()["heart"].assets["train"]
    mock_blob = sci.api.services.action.get_mock(train.action_id).syft_blob_storage_entry_id
    with pytest.raises(SyftException, match="that blob is not one this account uploaded"):
        sci.api.services.blob_storage.write_to_disk(uid=mock_blob, data=b"\x00garbage")
    assert len(site.scientist().datasets["heart"].assets["train"].mock) == 199


def test_uploading_a_twin_cannot_make_a_private_blob_readable(make_site):
    """action.set of a TwinObject whose mock claims blob X granted read-by-anyone on X."""
    from syft.service.action.action_object import ActionObject
    from syft.types.errors import SyftException
    from syft.types.twin_object import TwinObject

    site = make_site()
    sci = site.scientist()
    asset = sci.api.services.dataset.get_all()["heart"].assets["train"]
    target = site.admin.api.services.action.get(asset.action_id).syft_blob_storage_entry_id
    private, mock = ActionObject.from_obj(0), ActionObject.from_obj(0)
    private.syft_action_saved_to_blob_store = False
    mock.syft_action_saved_to_blob_store, mock.syft_blob_storage_entry_id = True, target
    with pytest.raises(SyftException, match="only plain values"):
        sci.api.services.action.set(TwinObject(private_obj=private, mock_obj=mock))
    claimed = ActionObject.from_obj(0)
    claimed.syft_action_saved_to_blob_store, claimed.syft_blob_storage_entry_id = True, target
    with pytest.raises(SyftException, match="that blob is not one this account uploaded"):
        sci.api.services.action.set(claimed)
    with pytest.raises(SyftException, match="not found"):
        sci.api.services.blob_storage.read(target)


def test_guests_get_nothing_but_what_a_login_needs(make_site):
    """A guest (no account) filled the data directory through blob uploads."""
    from syft.service.action.action_object import ActionObject
    from syft.types.blob_storage import CreateBlobStorageEntry
    from syft.types.errors import SyftException
    from syft.types.uid import UID

    site = make_site()
    guest = site.worker.get_guest_client(verbose=False)
    entry = CreateBlobStorageEntry(id=UID(), type_=bytes, file_size=1 << 20)
    for call in (lambda: guest.api.services.blob_storage.allocate(entry),
                 lambda: guest.api.services.dataset.get_all(),
                 lambda: guest.api.services.action.set(ActionObject.from_obj(1))):
        with pytest.raises(SyftException, match="does not offer .* to guests"):
            call()


def test_uploads_are_bounded_per_blob_and_per_account(make_site, monkeypatch):
    from syft.types.blob_storage import CreateBlobStorageEntry
    from syft.types.errors import SyftException
    from syft.types.uid import UID

    from datasite import api_guard

    site = make_site()
    sci = site.scientist()
    with pytest.raises(SyftException, match="one upload may hold at most 64 MiB"):
        sci.api.services.blob_storage.allocate(CreateBlobStorageEntry(id=UID(), type_=bytes, file_size=65 << 20))
    monkeypatch.setattr(api_guard, "BLOB_QUOTA_BYTES", 3 << 20)
    for _ in range(3):
        sci.api.services.blob_storage.allocate(CreateBlobStorageEntry(id=UID(), type_=bytes, file_size=1 << 20))
    with pytest.raises(SyftException, match="used its"):
        sci.api.services.blob_storage.allocate(CreateBlobStorageEntry(id=UID(), type_=bytes, file_size=1 << 20))


def test_user_records_cannot_be_resolved_through_links(make_site):
    """syft's User record, readable to anyone, holds the scientist's signing key."""
    from syft.service.code.user_code import UserCode
    from syft.service.user.user import User
    from syft.service.user.user_service import UserService
    from syft.store.linked_obj import LinkedObject
    from syft.types.errors import SyftException

    from tests.conftest import SCIENTIST

    site = make_site()
    victim = next(u.id for u in site.admin.users.get_all() if u.email == SCIENTIST)
    guest = site.worker.get_guest_client(verbose=False)
    sci = site.scientist()
    for object_type in (User, UserCode):  # a UserCode link served by UserService is a User too
        link = LinkedObject(server_uid=site.worker.id, service_type=UserService, object_type=object_type,
                            object_uid=victim)
        for client in (guest, sci):
            with pytest.raises(SyftException, match="does not offer|only requests and their code"):
                client.api.services.notifications.resolve_object(link)


def test_calling_another_scientists_denied_code_does_not_show_its_review(make_site):
    """The status answer of a refused call is read from the records for the caller's own code only:
    another account's denial quotes that account's code."""
    import numpy as np

    from scientist.federation import Federation, site_from_client
    from tests.conftest import HEART_MODULE, policy_text

    site = make_site(policy=policy_text(mode="human"))
    site.admin.register(name="Other", email="other@fedsyft.example", password="other-password-1234",
                        password_verify="other-password-1234")
    secret = HEART_MODULE.read_text() + "\n# the other lab's unpublished idea\n"
    with Federation([site_from_client("cleveland", site.config.url, site.scientist())]) as fed:
        fed.submit(secret, "theirs.py", rounds=1)
        site.steward.review_pending()
        for request, _ in site.steward.pending():
            site.steward.deny(str(request.id), "the other lab's reason, quoting their module")
        own = fed._run_all("train", {"weight": np.zeros((1, 13), np.float32),
                                     "bias": np.zeros(1, np.float32)}, {"epochs": 1})["cleveland"]
        code_id = fed.sites["cleveland"].requests["train"].code.id
    assert "DENIED" in own.reason and "the other lab's reason" in own.reason  # the submitter is told
    other = site.scientist("other@fedsyft.example", "other-password-1234")
    try:
        answer = str(other.api.services.code.call(uid=code_id))
    except Exception as err:
        answer = str(err)
    assert "the other lab's reason" not in answer and "unpublished" not in answer, answer
