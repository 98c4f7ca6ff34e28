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
from typing import Any

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
        path = api_call.message.path
        if path not in SCIENTIST_PATHS and path not in _ALWAYS:
            # the signature is checked by syft right after; a forged key gains nothing here
            role = self.get_role_for_credentials(credentials=api_call.credentials)
            if role.value < ServiceRole.DATA_OWNER.value:
                log.warning("refused %s to a %s account", path, role.name)
                # answered as syft answers a refused call (raising here would be an HTTP 500)
                return SyftError(message=f"this fedsyft datasite does not offer `{path}` to data scientists")
        return original(self, api_call, job_id=job_id, check_call_location=check_call_location)

    handle_api_call_with_unsigned_result.fedsyft_guard = True  # type: ignore[attr-defined]
    Server.handle_api_call_with_unsigned_result = handle_api_call_with_unsigned_result
