"""What a fedsyft datasite lets a non-owner account ask of syft: an allow-list of API paths.

syft 0.9.5 gives a data scientist far more than fedsyft's flow needs, and some of it runs
the scientist's choices inside the server process, outside every fedsyft layer. Its
`action.execute`, for one, applies any method to any object, resolves the private asset as
an argument without a permission check, and runs it on the private value before the mock:
`dict.setdefault` hands the whole private DataFrame back, and `DataFrame.eval` with
`engine="python"` runs arbitrary code as the server. On a fedsyft datasite an account
below the data-owner role may call only the paths listed here: log in and read its own
account, browse datasets and their mocks, submit code and follow its requests, upload the
inputs of a run, call an approved function and read its result. Everything else is
refused before syft looks at it, with a message that says so.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from datasite.stash import stash_value

log = logging.getLogger("fedsyft.api_guard")

# every path the scientist's side of fedsyft (Federation, the notebooks) calls, and the
# read-only browsing a scientist does in a notebook (`client.datasets`, `client.requests`)
SCIENTIST_PATHS = frozenset({
    # the session
    "metadata.get_metadata",
    "user.get_current_user",
    # datasets and their mocks (private data stays behind syft's read permissions)
    "dataset.get_all",
    "dataset.get_by_id",
    "dataset.search",
    "action.get_mock",
    # submitting code and following its requests (syft resolves their links through the
    # last two, each object read with the caller's own permissions)
    "code.request_code_execution",
    "code.get_all",
    "code.get_by_id",
    "request.get_all",
    "request.get_by_uid",
    "migration._get_object",
    "notifications.resolve_object",
    "notifications.get_all",
    "notifications.get_all_unread",
    # one run: upload the inputs (large ones through a blob), call the approved function,
    # read its gated result
    "action.set",
    "action.exists",
    "action.has_storage_permission",
    "blob_storage.allocate",
    "blob_storage.write_to_disk",
    "blob_storage.mark_write_complete",
    "code.call",
    "action.get",
    "blob_storage.read",
})
_ALWAYS = frozenset({"metadata"})  # answered by the server itself, no service runs
# an account that has not logged in: what `sy.login` asks before it does
GUEST_PATHS = frozenset({"metadata.get_metadata", "user.get_current_user", "action.exists"})
# objects a scientist's client resolves through the generic readers (each read with the
# caller's own permissions; a User record, readable to anyone in syft, holds signing keys)
_LINKED_TYPES = frozenset({"UserCode", "UserCodeStatusCollection", "Request"})
# the service a link is resolved through must be that type's own: syft reads the object from
# the named service's stash, so UserService with object_type=UserCode would return a User
_LINK_SERVICES = {"UserCode": "UserCodeService", "UserCodeStatusCollection": "UserCodeStatusService",
                  "Request": "RequestService"}
BLOB_UPLOAD_MAX_BYTES = 64 << 20  # one upload (weights); the executor's own limit is lower
BLOB_QUOTA_BYTES = 1 << 30  # all uploads of one account while the datasite runs
_allocated: dict[tuple[str, str], int] = {}
_allocated_lock = threading.Lock()


def install() -> None:
    """Apply the allow-list to every syft server in this process (idempotent)."""
    from syft.server.server import Server
    from syft.service.response import SyftError
    from syft.service.user.user_roles import ServiceRole

    original = Server.handle_api_call_with_unsigned_result
    if getattr(original, "fedsyft_guard", False):
        return

    def handle_api_call_with_unsigned_result(
        self: Any, api_call: Any, job_id: Any = None, check_call_location: bool = True
    ) -> Any:
        message = api_call.message
        path = message.path
        if path in _ALWAYS:
            return original(self, api_call, job_id=job_id, check_call_location=check_call_location)
        # the signature is checked by syft right after; a forged key gains nothing here
        role = self.get_role_for_credentials(credentials=api_call.credentials)
        if role.value >= ServiceRole.DATA_OWNER.value:
            return original(self, api_call, job_id=job_id, check_call_location=check_call_location)
        allowed = GUEST_PATHS if role == ServiceRole.GUEST else SCIENTIST_PATHS
        if path not in allowed:
            log.warning("refused %s to a %s account", path, role.name)
            # answered as syft answers a refused call (raising here would be an HTTP 500)
            who = "guests" if role == ServiceRole.GUEST else "data scientists"
            return SyftError(message=f"this fedsyft datasite does not offer `{path}` to {who}")
        check = _CHECKS.get(path)
        problem = check(self, api_call.credentials, message) if check else None
        if problem:
            log.warning("refused %s to a %s account: %s", path, role.name, problem)
            return SyftError(message=f"this fedsyft datasite refuses this `{path}`: {problem}")
        result = original(self, api_call, job_id=job_id, check_call_location=check_call_location)
        if path == "code.call" and isinstance(result, SyftError):
            status = _code_status(self, api_call.credentials, _argument(message, 0, "uid"))
            if status is not None and status[0] != "APPROVED":
                return SyftError(message=f"this code is {status[0]} on this datasite: {status[1]}")
            return SyftError(message=_public_call_error(result.message))
        return result

    handle_api_call_with_unsigned_result.fedsyft_guard = True  # type: ignore[attr-defined]
    Server.handle_api_call_with_unsigned_result = handle_api_call_with_unsigned_result


def _public_call_error(text: str) -> str:
    """What a scientist may read of syft's refusal of a call: no digits, so no private values.

    syft quotes the values it refuses (a red team's crafted input policy made it print the
    private DataFrame); fedsyft's own answers are results, not errors, and are not touched.
    """
    first = str(text).strip().splitlines()[0] if str(text).strip() else ""
    if first and len(first) <= 200 and not any(ch.isdigit() for ch in first):
        return first
    log.warning("syft refused a call with a message not shown to the scientist: %s", text)
    return "the datasite refused this call; its owner's log has the details"


def _code_status(server: Any, credentials: Any, uid: Any) -> tuple[str, str] | None:
    """(status, reason) of the caller's own code on this datasite, from its records, not syft's text.

    A refusal because the code is not approved is the one refusal a scientist must read in full:
    its reason is the owner's (or the steward's review, about the scientist's own code). Another
    account's code gets syft's scrubbed refusal: its review quotes that account's code.
    """
    try:
        code = stash_value(server.services.user_code.stash.get_by_uid(server.verify_key,
                                                                      uid=getattr(uid, "id", uid)))
        if code.user_verify_key != credentials:
            return None
        link = code.status_link.object_uid
        collection = stash_value(server.services.user_code_status.stash.get_by_uid(server.verify_key, uid=link))
        for identity, decision in collection.status_dict.items():
            if identity.server_id == server.id:
                status = str(getattr(decision.status, "name", decision.status))
                if status == "PENDING":
                    break
                reason = getattr(decision, "reason", None) or "no reason given"
                return status, str(reason)[:2000]
    except Exception:  # no such code or no status here: syft's own refusal, scrubbed, stands
        return None
    return "PENDING", "the owner has not decided yet"


def _argument(message: Any, index: int, name: str) -> Any:
    args, kwargs = message.args or [], message.kwargs or {}
    return args[index] if len(args) > index else kwargs.get(name)


def _blob_entry(server: Any, uid: Any) -> Any:
    try:
        return stash_value(server.services.blob_storage.stash.get_by_uid(server.verify_key, uid=uid))
    except Exception:
        return None


def _own_blob(server: Any, credentials: Any, uid: Any) -> str | None:
    entry = _blob_entry(server, getattr(uid, "id", uid))
    if entry is None or entry.uploaded_by != credentials:
        return "that blob is not one this account uploaded"
    return None


def _check_action_set(server: Any, credentials: Any, message: Any) -> str | None:
    """Plain values only: a TwinObject's mock blob is made readable to everyone (any blob id)."""
    from syft.service.action.action_object import ActionObject
    from syft.types.twin_object import TwinObject

    obj = _argument(message, 0, "action_object")
    if isinstance(obj, TwinObject) or not isinstance(obj, ActionObject):
        return "only plain values (a run's inputs) may be uploaded"
    blob = getattr(obj, "syft_blob_storage_entry_id", None)
    return None if blob is None else _own_blob(server, credentials, blob)


def _check_allocate(server: Any, credentials: Any, message: Any) -> str | None:
    """A new blob of bounded size, within the account's quota; never an existing blob's id."""
    entry = _argument(message, 0, "obj")
    size = getattr(entry, "file_size", None)
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= BLOB_UPLOAD_MAX_BYTES:
        return f"one upload may hold at most {BLOB_UPLOAD_MAX_BYTES >> 20} MiB"
    if _blob_entry(server, getattr(entry, "id", None)) is not None:
        return "that blob id is taken"
    key = (str(server.id), str(credentials))
    with _allocated_lock:
        if _allocated.get(key, 0) + size > BLOB_QUOTA_BYTES:
            return f"this account has used its {BLOB_QUOTA_BYTES >> 30} GiB of uploads"
        _allocated[key] = _allocated.get(key, 0) + size
    return None


def _check_blob_write(server: Any, credentials: Any, message: Any) -> str | None:
    """Only into a blob this account allocated, and no more than it allocated (mocks are read-only)."""
    uid = _argument(message, 0, "uid")
    problem = _own_blob(server, credentials, uid)
    if problem:
        return problem
    data = _argument(message, 1, "data")
    entry = _blob_entry(server, getattr(uid, "id", uid))
    if data is not None and len(data) > entry.file_size:
        return "more bytes than the blob was allocated for"
    return None


def _check_mark_complete(server: Any, credentials: Any, message: Any) -> str | None:
    return _own_blob(server, credentials, _argument(message, 0, "uid"))


def _check_linked_object(server: Any, credentials: Any, message: Any) -> str | None:
    linked = _argument(message, 0, "linked_obj")
    kind = getattr(getattr(linked, "object_type", None), "__name__", None)
    service = getattr(getattr(linked, "service_type", None), "__name__", None)
    if kind not in _LINKED_TYPES or _LINK_SERVICES[kind] != service:
        return "only requests and their code may be resolved"
    return None


def _check_migration_get(server: Any, credentials: Any, message: Any) -> str | None:
    kind = getattr(_argument(message, 1, "object_type"), "__name__", None)
    return None if kind in _LINKED_TYPES else "only requests and their code may be read"


_CHECKS = {
    "action.set": _check_action_set,
    "blob_storage.allocate": _check_allocate,
    "blob_storage.write_to_disk": _check_blob_write,
    "blob_storage.mark_write_complete": _check_mark_complete,
    "notifications.resolve_object": _check_linked_object,
    "migration._get_object": _check_migration_get,
}
