"""Run a submitted training module, assumed hostile, in a confined child process.

Each run is one child forked from a multiprocessing fork server that preloaded numpy,
pandas and torch, so a run costs a fork rather than an ``import torch``, and the
multi-threaded datasite server itself is never forked. Confinement, outermost first; the
layers that took effect are listed in ``SandboxOutcome.confinement``:

- own session and process group (a kill reaches everything the run started), stdio on
  /dev/null, every inherited descriptor but the two report pipes closed, not ptrace-able;
  no copy of the server's environment (where datasite secrets may sit): the fork server
  wipes it once at start (os.environ, the bytes behind it, the exec block), each child again;
- private network namespace (only a down loopback), IPC namespace and mount namespace
  whose work directory is a size-capped tmpfs (needs root; skipped when refused);
- rlimits: CPU seconds, address space (``memory_mb`` above what is already mapped),
  file size, no core dumps, open files;
- Landlock: read only the Python installation, system libraries, /proc/self and CPU
  topology; read and write only the work directory; no TCP; no signals to or abstract
  sockets of processes outside the sandbox;
- no capabilities, no_new_privs;
- seccomp: exec, fork, ptrace, mount, namespaces, kernel modules, keyrings, io_uring,
  setrlimit and signals to other processes kill the child (SIGSYS, reported as
  "violation"); socket(), socketpair(), memfd_create(), inotify, growing pipe buffers
  and changes to file metadata (chmod, chown, utimes, xattrs, mknod) fail;
- a Python audit hook that names and blocks what the policy forbids (sockets, processes,
  ctypes, files outside the sandbox, network and process modules, code created at run
  time) and ends the run as "violation". It is the layer that explains, not the
  boundary: code that corrupts interpreter memory (numpy's ``__array_interface__``
  takes raw pointers) can switch it off, and the kernel layers above still hold.

Results travel back through ``policies.wire`` (never pickle); the parent reads at most
``result_bytes`` plus the fixed-size text fields and decodes as if the bytes were hostile.
"""

from __future__ import annotations

import _stat
import ast
import builtins
import collections
import ctypes
import dataclasses
import errno
import io
import json
import linecache
import math
import os
import posix
import resource
import select
import shutil
import signal
import struct
import sys
import sysconfig
import tempfile
import threading
import time
import traceback
import types
import typing
from collections.abc import Iterable
from multiprocessing import connection as mp_connection
from multiprocessing import context as mp_context
from multiprocessing import forkserver, popen_forkserver
from multiprocessing import util as mp_util
from pathlib import Path
from typing import Literal

import pandas as pd

from policies import wire

Status = Literal[
    "ok", "error", "timeout", "cpu_limit", "memory_limit", "violation", "oversized", "crashed"
]

OUTPUT_LIMIT = 64 * 1024  # bytes kept of each of stdout, stderr and error
SCRATCH_MB = 64  # size of the tmpfs work directory
FILE_SIZE_LIMIT = 16 * 1024 * 1024  # bytes, largest file the submission may write
OPEN_FILES_LIMIT = 512
VIOLATION_GRACE_S = 1.0  # after the first violation, time the child gets to report before a kill
# this module first: it wipes the fork server's environment before torch is imported;
# torch._dynamo is imported by the first optimizer.step(): ~800 modules and a second of CPU
PRELOAD = ["datasite.sandbox", "numpy", "pandas", "torch", "torch._dynamo"]
_SAFE_ENVIRONMENT = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1"}

_SUBMISSION_FILE = "<fedsyft-submission>"
_SUBMISSION_MODULE = "fedsyft_submission"
_POLL_S = 0.05
_REAP_TIMEOUT_S = 10.0
_CPU_SLACK_S = 2.0  # the parent kills a child this far over its CPU budget if the rlimit did not
_ALARM_LIMIT = 8 * 1024
_EXIT_VIOLATION = 86  # the audit hook found its alarm pipe tampered with
_EXIT_SETUP = 87  # confinement could not be set up
_EXIT_REPORT = 88  # the report could not be written

# report frames, child -> parent: kind (1 byte) | length (u32, big-endian) | payload
_READY, _STATUS, _STDOUT, _STDERR, _ERROR, _VALUE = range(1, 7)
_FRAME = struct.Struct(">BI")
_FRAME_LIMITS = {
    _READY: 4096,
    _STATUS: 64,
    _STDOUT: OUTPUT_LIMIT,
    _STDERR: OUTPUT_LIMIT,
    _ERROR: OUTPUT_LIMIT,
}
_REPORT_OVERHEAD = sum(_FRAME_LIMITS.values()) + 6 * _FRAME.size
_CHILD_STATUSES = frozenset({"ok", "error", "memory_limit", "oversized", "violation"})

# modules whose import by the submission itself is a violation
_BLOCKED_MODULES = frozenset({
    "socket", "_socket", "ssl", "_ssl", "subprocess", "_posixsubprocess",
    "ctypes", "_ctypes", "multiprocessing", "_multiprocessing", "_posixshmem",
    "concurrent.futures.process", "asyncio", "http", "urllib.request", "ftplib", "smtplib",
    "poplib", "imaplib", "nntplib", "telnetlib", "socketserver", "xmlrpc", "pty",
    "webbrowser", "ensurepip", "_xxsubinterpreters", "_xxinterpchannels",
})
_DENIED_EVENTS = frozenset({
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.kill",
    "os.killpg", "os.startfile", "os.link", "os.symlink", "os.add_dll_directory",
    "signal.pthread_kill", "resource.setrlimit", "resource.prlimit", "sys.addaudithook",
    "sys.settrace", "sys.setprofile", "sys._current_frames", "sys._current_exceptions",
    "gc.get_objects", "gc.get_referrers", "gc.get_referents", "code.__new__",
    "function.__new__", "cpython.PyInterpreterState_New", "builtins.breakpoint",
    "sqlite3.enable_load_extension", "sqlite3.load_extension", "_posixsubprocess.fork_exec",
})
_DENIED_EVENT_FAMILIES = frozenset({
    "socket", "ctypes", "subprocess", "http", "urllib", "ftplib", "smtplib", "imaplib",
    "poplib", "nntplib", "telnetlib", "syslog", "webbrowser", "ensurepip", "winreg",
    "_winapi", "msvcrt",
})
_QUIET_EVENTS = frozenset({  # frequent and harmless: answered before anything else
    "builtins.id", "object.__getattr__", "object.__delattr__", "sys._getframe",
    "array.__new__", "os.putenv", "os.unsetenv", "time.sleep", "mmap.__new__",
    "glob.glob", "glob.glob/2", "pickle.find_class", "sys.excepthook", "sys.unraisablehook",
    "builtins.input", "builtins.input/result", "cpython._PySys_ClearAuditHooks",
})
_READ_PATH_EVENTS = frozenset({"os.listdir", "os.scandir", "os.getxattr", "os.listxattr", "os.chdir"})
_WRITE_PATH_EVENTS = frozenset({
    "os.mkdir", "os.rmdir", "os.remove", "os.truncate", "os.utime", "os.chmod", "os.chown",
    "os.chflags", "os.lchflags", "os.setxattr", "os.removexattr",
})
_FRAME_EVENTS = frozenset({"exec", "compile", "marshal.loads", "marshal.load", "import"})
_CODE_EVENTS = frozenset({"exec", "compile", "marshal.loads", "marshal.load"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


@dataclasses.dataclass(frozen=True)
class Limits:
    """Limits of one run: wall and CPU seconds, MiB of memory, bytes of encoded result."""

    wall_time_s: float
    cpu_time_s: float
    memory_mb: int
    result_bytes: int

    def __post_init__(self) -> None:
        """Reject limits that are not positive finite numbers (ints for the two sizes)."""
        for name in ("wall_time_s", "cpu_time_s", "memory_mb", "result_bytes"):
            value = getattr(self, name)
            kinds = int if name in ("memory_mb", "result_bytes") else int | float
            if isinstance(value, bool) or not isinstance(value, kinds):
                raise ValueError(f"Limits.{name} must be a positive number, got {value!r}")
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"Limits.{name} must be a positive number, got {value!r}")


@dataclasses.dataclass(frozen=True)
class SandboxOutcome:
    """What one run produced; only stdout, stderr and error may carry the submission's text."""

    status: Status
    value: object | None  # the decoded wire value when status == "ok", else None
    stdout: str  # owner's eyes only, at most OUTPUT_LIMIT bytes
    stderr: str  # owner's eyes only, at most OUTPUT_LIMIT bytes
    error: str  # owner's eyes only: traceback, violation, signal
    wall_s: float  # seconds from fork to exit, measured by the parent
    cpu_s: float  # CPU seconds of the child, sampled by the parent from /proc
    confinement: tuple[str, ...] = ()  # the layers that took effect, reported before user code ran


class SandboxViolation(BaseException):
    """Raised inside the sandbox when the submission attempts a forbidden operation."""


@dataclasses.dataclass(frozen=True)
class _Job:
    """Everything the child needs, pickled parent -> child (the trusted direction)."""

    source: str
    entrypoint: str
    data: pd.DataFrame
    weights: dict
    config: dict
    limits: Limits
    workdir: str
    result_conn: mp_connection.Connection  # write end of the report pipe
    alarm_conn: mp_connection.Connection  # write end of the violation pipe
    audit_hook: bool = True


class _SandboxPopen(popen_forkserver.Popen):
    """Fork-server launch that sends neither the server's main module path nor its authkey."""

    def _launch(self, process_obj: mp_context.ForkServerProcess) -> None:
        """Same as the stdlib launch with empty preparation data (CPython 3.11 internals)."""
        buffer = io.BytesIO()
        mp_context.set_spawning_popen(self)
        try:
            # no preparation data: the child would otherwise re-run the server's __main__
            mp_context.reduction.dump({}, buffer)
            mp_context.reduction.dump(process_obj, buffer)
        finally:
            mp_context.set_spawning_popen(None)
        self.sentinel, data_w = forkserver.connect_to_new_process(self._fds)
        parent_w = os.dup(data_w)  # the child watches this end to notice the parent's death
        self.finalizer = mp_util.Finalize(self, mp_util.close_fds, (parent_w, self.sentinel))
        with open(data_w, "wb", closefd=True) as pipe:
            pipe.write(buffer.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


_SELF_TEST_SOURCE = "def train(data, weights, config):\n    return {'num_examples': len(data)}\n"
_SELF_TEST_LIMITS = Limits(wall_time_s=120.0, cpu_time_s=60.0, memory_mb=1024, result_bytes=4096)
_preload_lock = threading.Lock()
_preload_done = False


def _ensure_preload() -> None:
    """Ask the process-wide fork server to preload the heavy libraries (once, before it starts)."""
    global _preload_done
    with _preload_lock:
        if not _preload_done:
            forkserver.set_forkserver_preload(PRELOAD)
            _preload_done = True


class Sandbox:
    """Runs submitted modules in confined child processes; thread-safe, starts lazily."""

    def __init__(self, workdir_root: Path | None = None, *, audit_hook: bool = True) -> None:
        """Work directories go under ``workdir_root`` (default: the system temp directory).

        ``audit_hook=False`` is for tests of the kernel layers alone (as code that switched the
        hook off meets them); the executor releases nothing from a run without the hook.
        """
        self._workdir_root = None if workdir_root is None else str(workdir_root)
        self._audit_hook = audit_hook
        self._lock = threading.Lock()
        self._running: set[_SandboxPopen] = set()
        self._closed = False

    def run(
        self,
        source: str,
        entrypoint: str,
        data: pd.DataFrame,
        weights: dict,
        config: dict,
        limits: Limits,
    ) -> SandboxOutcome:
        """Run ``entrypoint(data, weights, config)`` of module ``source`` in a fresh confined child."""
        if not isinstance(limits, Limits):
            raise TypeError(f"limits must be a Limits, got {type(limits).__name__}")
        if not isinstance(source, str) or not isinstance(entrypoint, str):
            raise TypeError("source and entrypoint must be str")
        with self._lock:
            if self._closed:
                raise RuntimeError("this Sandbox is closed; create a new one")
        _ensure_preload()
        workdir = tempfile.mkdtemp(prefix="fedsyft-sandbox-", dir=self._workdir_root)
        result_r, result_w = mp_connection.Pipe(duplex=False)
        alarm_r, alarm_w = mp_connection.Pipe(duplex=False)
        popen: _SandboxPopen | None = None
        try:
            job = _Job(source, entrypoint, data, weights, config, limits, workdir, result_w, alarm_w,
                       audit_hook=self._audit_hook)
            process = mp_context.ForkServerProcess(
                target=_child_main, args=(job,), name="fedsyft-sandbox", daemon=True
            )
            process.authkey = os.urandom(32)  # never hand the server's authkey to the child
            try:
                popen = _SandboxPopen(process)
            finally:
                result_w.close()
                alarm_w.close()
            with self._lock:
                self._running.add(popen)
            return self._supervise(popen, result_r, alarm_r, limits)
        finally:
            if popen is not None:
                with self._lock:
                    self._running.discard(popen)
                popen.close()
            result_r.close()
            alarm_r.close()
            shutil.rmtree(workdir, ignore_errors=True)

    def warm(self) -> SandboxOutcome:
        """Start the fork server with its preload and run one trivial confined child.

        It returns once both are done, so the first real run pays for neither (~3 s; a
        late first answer would also break a constant-time policy's promise), and the
        outcome says which confinement layers this machine gives.
        """
        _ensure_preload()
        forkserver.ensure_running()
        return self.run(_SELF_TEST_SOURCE, "train", pd.DataFrame({"x": [0.0]}), {}, {}, _SELF_TEST_LIMITS)

    def close(self) -> None:
        """Kill runs in flight and refuse new ones; the process-wide fork server stays up."""
        with self._lock:
            self._closed = True
            running = list(self._running)
        for popen in running:
            _kill_group(popen.pid)

    def _supervise(
        self,
        popen: _SandboxPopen,
        result_r: mp_connection.Connection,
        alarm_r: mp_connection.Connection,
        limits: Limits,
    ) -> SandboxOutcome:
        """Enforce wall time, CPU and result size while collecting the child's report."""
        started = time.monotonic()
        result_fd, alarm_fd = result_r.fileno(), alarm_r.fileno()
        os.set_blocking(result_fd, False)
        os.set_blocking(alarm_fd, False)
        report_limit = limits.result_bytes + _REPORT_OVERHEAD
        report, alarm = bytearray(), bytearray()
        open_fds = {result_fd, alarm_fd}
        deadline = started + limits.wall_time_s
        killed_for: str | None = None
        cpu_s = 0.0
        exited = False
        while not exited:
            now = time.monotonic()
            if now >= deadline:
                if killed_for is not None:
                    break  # killed, yet the fork server never reported the exit
                killed_for = "violation" if alarm else "timeout"
                _kill_group(popen.pid)
                deadline = now + _REAP_TIMEOUT_S
            poller = select.poll()  # not select(): the server may hold descriptors above 1024
            for fd in (popen.sentinel, *open_fds):
                poller.register(fd, select.POLLIN)
            timeout_ms = max(0.0, min(_POLL_S, deadline - now)) * 1000
            ready = {fd for fd, _ in poller.poll(timeout_ms)}
            exited = popen.sentinel in ready
            if not exited:  # once reaped, the pid may already belong to another process
                sample = _cpu_seconds(popen.pid)
                if sample is not None:
                    cpu_s = max(cpu_s, sample)
            if result_fd in open_fds and (result_fd in ready or exited):
                if _drain(result_fd, report, report_limit, exited):
                    open_fds.discard(result_fd)
            if alarm_fd in open_fds and (alarm_fd in ready or exited):
                if _drain(alarm_fd, alarm, _ALARM_LIMIT, exited):
                    open_fds.discard(alarm_fd)
            if killed_for is None and not exited:
                now = time.monotonic()
                if len(report) > report_limit:
                    killed_for = "oversized"
                    open_fds.discard(result_fd)
                elif cpu_s > limits.cpu_time_s + _CPU_SLACK_S:
                    killed_for = "cpu_limit"
                elif alarm:
                    deadline = min(deadline, now + VIOLATION_GRACE_S)
                if killed_for is not None:
                    _kill_group(popen.pid)
                    deadline = now + _REAP_TIMEOUT_S
        wall_s = time.monotonic() - started
        returncode = popen.poll() if exited else None
        with self._lock:
            closed = self._closed
        return _outcome(
            report=bytes(report),
            alarm=bytes(alarm),
            returncode=returncode,
            killed_for=killed_for,
            closed=closed,
            limits=limits,
            wall_s=wall_s,
            cpu_s=cpu_s,
        )


# --------------------------------------------------------------------------- parent helpers


def _drain(fd: int, buffer: bytearray, limit: int, to_eof: bool) -> bool:
    """Move a non-blocking pipe's bytes into ``buffer``, keeping limit + 1 bytes; True at EOF."""
    # bytes past the limit are read and dropped, so a chatty child cannot make the parent spin;
    # everything is read once the writer is dead (to_eof), a bounded amount otherwise
    for _ in range(1 << 20 if to_eof else 64):
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return False
        if not chunk:
            return True
        room = limit + 1 - len(buffer)
        if room > 0:
            buffer += chunk[:room]
    return False


def _kill_group(pid: int | None) -> None:
    """SIGKILL the child's process group (the child leads it after setsid), else the child."""
    if pid is None:
        return
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
            return
    except OSError:
        pass
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a live process from /proc/<pid>/stat, None if unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            raw = stat.read()
        fields = raw[raw.rfind(b")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, ValueError, IndexError):
        return None


def _parse_report(report: bytes, result_bytes: int) -> tuple[dict[int, bytes], bool, bool]:
    """Split the report into frames (first of each kind wins); also (malformed, value too big)."""
    frames: dict[int, bytes] = {}
    offset = 0
    while offset < len(report):
        if len(report) - offset < _FRAME.size:
            return frames, True, False
        kind, length = _FRAME.unpack_from(report, offset)
        offset += _FRAME.size
        limit = result_bytes if kind == _VALUE else _FRAME_LIMITS.get(kind)
        if limit is None:
            return frames, True, False
        if length > limit:
            return frames, True, kind == _VALUE
        if len(report) - offset < length:
            return frames, True, False
        frames.setdefault(kind, report[offset : offset + length])
        offset += length
    return frames, False, False


def _text(frames: dict[int, bytes], kind: int) -> str:
    """Decode a text frame (lossy), empty when missing."""
    return frames.get(kind, b"").decode("utf-8", "replace")


def _confinement(frames: dict[int, bytes]) -> tuple[str, ...]:
    """The layer names of the READY frame, written before the submission ran."""
    try:
        layers = json.loads(frames.get(_READY, b"[]"))
    except ValueError:
        return ()
    if not isinstance(layers, list):
        return ()
    return tuple(str(layer)[:40] for layer in layers[:32])


def _signal_name(returncode: int) -> str:
    """'SIGSEGV' for -11."""
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def _outcome(
    *,
    report: bytes,
    alarm: bytes,
    returncode: int | None,
    killed_for: str | None,
    closed: bool,
    limits: Limits,
    wall_s: float,
    cpu_s: float,
) -> SandboxOutcome:
    """Turn what the parent observed into a SandboxOutcome; the child's claims come last."""
    frames, malformed, value_too_big = _parse_report(report, limits.result_bytes)
    stdout, stderr = _text(frames, _STDOUT), _text(frames, _STDERR)
    child_error = _text(frames, _ERROR)
    claimed = _text(frames, _STATUS)

    def outcome(status: Status, error: str, value: object | None = None) -> SandboxOutcome:
        """The outcome with the parent's measurements and the child's text fields."""
        return SandboxOutcome(
            status, value, stdout, stderr, error[:OUTPUT_LIMIT], wall_s, cpu_s, _confinement(frames)
        )

    if alarm or killed_for == "violation" or claimed == "violation":
        detail = alarm.split(b"\n", 1)[0].decode("utf-8", "replace")
        trace = child_error if claimed == "violation" else ""
        detail = detail or "the submission attempted a forbidden operation"
        return outcome("violation", detail + (f"\n\n{trace}" if trace else ""))
    if killed_for == "timeout":
        return outcome("timeout", f"wall-time limit of {limits.wall_time_s:g} s exceeded")
    if killed_for == "oversized" or value_too_big or claimed == "oversized":
        detail = child_error if claimed == "oversized" else ""
        return outcome(
            "oversized", detail or f"the result is larger than {limits.result_bytes} bytes"
        )
    if returncode == -signal.SIGSYS:
        return outcome(
            "violation", "killed by the kernel sandbox (seccomp) for a forbidden system call"
        )
    if returncode == _EXIT_VIOLATION:
        return outcome("violation", "the sandbox's violation channel was tampered with")
    if (
        killed_for == "cpu_limit"
        or returncode == -signal.SIGXCPU
        or (returncode == -signal.SIGKILL and cpu_s + 0.5 >= limits.cpu_time_s and not closed)
    ):
        return outcome("cpu_limit", f"CPU-time limit of {limits.cpu_time_s:g} s exceeded")
    if closed and returncode is not None and returncode < 0:
        return outcome("crashed", "the sandbox was closed while this run was in flight")
    if returncode == 0 and not malformed and claimed in _CHILD_STATUSES:
        if claimed != "ok":
            return outcome(claimed, child_error)  # type: ignore[arg-type]
        if _VALUE not in frames:
            return outcome("crashed", "the child reported success without a result")
        try:
            value = wire.decode(frames[_VALUE], max_bytes=limits.result_bytes)
        except wire.WireError as exc:
            return outcome("error", f"the result failed validation in the parent: {exc}")
        return outcome("ok", "", value)
    if returncode == _EXIT_SETUP or claimed == "setup_failed":
        return outcome("crashed", child_error or "the sandbox could not be set up")
    if returncode is None:
        return outcome("crashed", "the child did not exit after being killed")
    if returncode < 0:
        hint = " (possibly the kernel's OOM killer)" if returncode == -signal.SIGKILL else ""
        return outcome("crashed", f"killed by {_signal_name(returncode)}{hint}")
    if returncode != 0:
        return outcome("crashed", f"exited with code {returncode} before reporting a result")
    return outcome("crashed", "exited without a complete report")


# ----------------------------------------------------------------------------- child side


def _child_main(job: _Job) -> None:
    """Child entry point: confine, run the submission, report, exit. Never returns."""
    result_fd, alarm_fd = job.result_conn.fileno(), job.alarm_conn.fileno()
    try:
        layers, paths = _confine(job, keep_fds=(result_fd, alarm_fd))
        try:
            # compiled once, before the hook: afterwards no code may be compiled from text
            code = compile(job.source, _SUBMISSION_FILE, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            status = b"memory_limit" if isinstance(exc, MemoryError) else b"error"
            error = "".join(traceback.format_exception_only(type(exc), exc))
            _send(result_fd, [(_STATUS, status), (_ERROR, _utf8(error))])
            posix._exit(0)
        linecache.cache[_SUBMISSION_FILE] = (
            len(job.source), None, job.source.splitlines(True), _SUBMISSION_FILE
        )
        if job.audit_hook:
            _install_audit_hook(code, paths, alarm_fd)
            layers.append("audit-hook")
    except BaseException as exc:  # anything failing here is ours, reported as setup failure
        _send(result_fd, [(_STATUS, b"setup_failed"), (_ERROR, _utf8(f"sandbox setup: {exc!r}"))])
        posix._exit(_EXIT_SETUP)
    fallback = _pack([(_STATUS, b"memory_limit"), (_ERROR, b"MemoryError in the sandbox runner")])
    try:
        _send(result_fd, [(_READY, json.dumps(layers).encode())])
        report = _pack(_run_submission(job, code))
    except MemoryError:
        report = fallback
    except BaseException:  # the runner is past the submission: report, do not die
        report = _pack([(_STATUS, b"error"), (_ERROR, b"the sandbox runner failed")])
    try:
        _write_all(result_fd, report)
    except BaseException:
        posix._exit(_EXIT_REPORT)
    posix._exit(0)


def _run_submission(job: _Job, code: types.CodeType) -> list[tuple[int, bytes]]:
    """Execute the module and its entrypoint with captured output; return the report frames."""
    module = types.ModuleType(_SUBMISSION_MODULE)
    module.__file__ = _SUBMISSION_FILE
    module.__builtins__ = _submission_builtins()  # type: ignore[attr-defined]
    sys.modules[_SUBMISSION_MODULE] = module  # @dataclass and pickling look the module up here
    kept = OUTPUT_LIMIT - 256  # characters; room for the "dropped" note before byte truncation
    stdout, stderr = _BoundedText(kept), _BoundedText(kept)
    status, error, blob = "ok", "", b""
    real_stdout, real_stderr = sys.stdout, sys.stderr
    try:
        sys.stdout, sys.stderr = stdout, stderr
        try:
            exec(code, module.__dict__)
            entry = module.__dict__.get(job.entrypoint)
            if not callable(entry):
                raise LookupError(f"the submission defines no function {job.entrypoint!r}")
            result = entry(job.data, job.weights, job.config)
        finally:
            sys.stdout, sys.stderr = real_stdout, real_stderr
        blob = wire.encode(result)
        if len(blob) > job.limits.result_bytes:
            status, blob = "oversized", b""
            error = f"the encoded result exceeds the limit of {job.limits.result_bytes} bytes"
    except SandboxViolation as exc:
        status, error = "violation", _format_exception(exc)
    except MemoryError as exc:
        status, error = "memory_limit", _format_exception(exc)
    except wire.WireError as exc:
        status, error = "error", f"the result cannot leave the sandbox: {exc}"
    except BaseException as exc:  # the submission's failure is the report
        status = "memory_limit" if _is_out_of_memory(exc) else "error"
        error = _format_exception(exc)
    frames = [
        (_STATUS, status.encode()),
        (_STDOUT, _utf8(stdout.getvalue())),
        (_STDERR, _utf8(stderr.getvalue())),
        (_ERROR, _utf8(error)),
    ]
    if status == "ok":
        frames.append((_VALUE, blob))
    return frames


def _is_out_of_memory(exc: BaseException) -> bool:
    """True for ENOMEM and torch's allocator failure, which are the memory limit at work."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
        return True
    return isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)


def _format_exception(exc: BaseException) -> str:
    """Traceback text without the sandbox's own frames (runner, hook, wire); never raises."""
    try:  # frames are dropped before their source lines are looked up
        report = traceback.TracebackException(
            type(exc), exc, exc.__traceback__, lookup_lines=False
        )
        pending = [report]
        while pending:
            current = pending.pop()
            frames = [frame for frame in current.stack if frame.filename not in _OWN_FILES]
            current.stack = traceback.StackSummary.from_list(frames)
            pending += [e for e in (current.__cause__, current.__context__) if e is not None]
        return "".join(report.format())
    except BaseException:  # a hostile __str__ must not take the report down
        return f"{type(exc).__name__} (its message could not be formatted)"


_OWN_FILES = frozenset({__file__, wire.__file__})


class _BoundedText(io.TextIOBase):
    """A text sink keeping the first ``limit`` characters written and counting the rest."""

    encoding = "utf-8"

    def __init__(self, limit: int) -> None:
        """Keep at most ``limit`` characters."""
        super().__init__()
        self._parts: list[str] = []
        self._kept = 0
        self._limit = limit
        self._dropped = 0

    def writable(self) -> bool:
        """Always writable."""
        return True

    def write(self, text: str) -> int:
        """Keep what fits, count the rest; returns len(text)."""
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        room = self._limit - self._kept
        if room > 0:
            piece = text[:room]
            self._parts.append(piece)
            self._kept += len(piece)
        self._dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def getvalue(self) -> str:
        """The kept text, with a note of how much was dropped."""
        note = f"\n[... {self._dropped} more characters dropped]" if self._dropped else ""
        return "".join(self._parts) + note


def _utf8(text: str, limit: int = OUTPUT_LIMIT) -> bytes:
    """UTF-8 bytes of ``text`` cut to ``limit`` bytes on a character boundary."""
    raw = text.encode("utf-8", "replace")
    if len(raw) <= limit:
        return raw
    marker = b"\n[... truncated]"
    return raw[: limit - len(marker)].decode("utf-8", "ignore").encode() + marker


def _pack(frames: Iterable[tuple[int, bytes]]) -> bytes:
    """Serialise report frames."""
    return b"".join(_FRAME.pack(kind, len(payload)) + payload for kind, payload in frames)


def _send(fd: int, frames: Iterable[tuple[int, bytes]]) -> None:
    """Write report frames to the report pipe."""
    _write_all(fd, _pack(frames))


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte to a blocking descriptor."""
    view = memoryview(data)
    while view:
        view = view[posix.write(fd, view) :]


# ------------------------------------------------------------------------- confinement


@dataclasses.dataclass(frozen=True)
class _Paths:
    """Real paths the submission may use."""

    workdir: str  # read-write
    code_dirs: tuple[str, ...]  # Python code it may import: stdlib and site-packages
    read_dirs: tuple[str, ...]  # system libraries, /proc/self, CPU topology, time zones
    read_files: tuple[str, ...]  # /dev/null, /dev/urandom, ...


def _confine(job: _Job, keep_fds: tuple[int, ...]) -> tuple[list[str], _Paths]:
    """Apply every layer but the audit hook; return the layers applied and the allowed paths."""
    layers = ["session"]
    os.setsid()
    _isolate_descriptors(keep_fds)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # die with the fork server
    libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)  # no ptrace by other processes of this uid
    workdir = os.path.realpath(job.workdir)
    _scrub_environment(workdir)
    layers.append("clean-env")
    layers += _unshare_namespaces(libc, workdir)
    os.chdir(workdir)
    tempfile.tempdir = workdir
    sys.dont_write_bytecode = True  # a write under site-packages would be a violation
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)
    paths = _allowed_paths(workdir)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0:
        layers.append("no-new-privs")
    abi = _restrict_filesystem(libc, paths)
    if abi:
        layers.append(f"landlock-abi{abi}")
    if _drop_capabilities(libc):
        layers.append("no-capabilities")
    _set_rlimits(job.limits)
    layers.append("rlimits")
    if _install_seccomp(libc):
        layers.append("seccomp")
    return layers, paths


def _isolate_descriptors(keep: tuple[int, ...]) -> None:
    """Point stdio at /dev/null and close every other inherited descriptor but ``keep``."""
    null = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(null, target)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    sys.stdin = open(0, encoding="utf-8", closefd=False)


def _scrub_environment(workdir: str) -> None:
    """Replace the environment of the child with a minimal one rooted in ``workdir``."""
    _forget_environment()
    os.environ.update(_SAFE_ENVIRONMENT, HOME=workdir, TMPDIR=workdir, USER="sandbox",
                      LOGNAME="sandbox")


def _forget_environment() -> None:
    """Erase this process's environment: os.environ, the bytes behind it and the C block."""
    with open("/proc/self/stat", "rb") as stat:
        raw = stat.read()
    fields = raw[raw.rfind(b")") + 2 :].split()
    env_start, env_end = int(fields[47]), int(fields[48])  # where execve put the strings
    inherited = [text for pair in posix.environ.items() for text in pair]
    os.environ.clear()  # unsetenv() each: the C environ array drops them too
    data_offset = sys.getsizeof(b"") - 1  # where a bytes object's data starts
    for text in inherited:
        # zero only what nothing else holds (the list, the loop, getrefcount's argument);
        # 0- and 1-byte bytes objects are shared singletons
        if len(text) > 1 and sys.getrefcount(text) <= 3:
            ctypes.memset(id(text) + data_offset, 0, len(text))
    del inherited
    if 0 < env_start < env_end:
        ctypes.memset(env_start, 0, env_end - env_start)


_CLONE_NEWNS, _CLONE_NEWIPC, _CLONE_NEWNET = 0x00020000, 0x08000000, 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_SET_NO_NEW_PRIVS = 1, 4, 38


def _unshare_namespaces(libc: ctypes.CDLL, workdir: str) -> list[str]:
    """Enter new network, IPC and mount namespaces with a tmpfs work directory, as allowed."""
    if libc.unshare(_CLONE_NEWNET | _CLONE_NEWIPC | _CLONE_NEWNS) != 0:
        return ["netns"] if libc.unshare(_CLONE_NEWNET) == 0 else []
    layers = ["netns", "ipcns"]
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                           ctypes.c_char_p]
    private = libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) == 0
    options = f"size={SCRATCH_MB}m,mode=0700".encode()
    flags = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    if private and libc.mount(b"tmpfs", workdir.encode(), b"tmpfs", flags, options) == 0:
        layers.append(f"tmpfs-workdir-{SCRATCH_MB}m")
    return layers


def _in_fork_server() -> bool:
    """True while the multiprocessing fork server imports this module as a preload."""
    frame: types.FrameType | None = sys._getframe()
    while frame is not None:
        if frame.f_code is forkserver.main.__code__:
            return True
        frame = frame.f_back
    return False


def _allowed_paths(workdir: str) -> _Paths:
    """The paths of this child's policy, as real paths that exist."""
    config = sysconfig.get_paths()
    # only this project's two files on the stack, not its directories, where data could live
    code = [config[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")]
    other = ["/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/share/zoneinfo",
             f"/proc/{os.getpid()}", "/sys/devices/system/cpu"]
    files = ["/dev/null", "/dev/urandom", "/dev/random", "/etc/ld.so.cache"]
    files += sorted(_OWN_FILES)  # libraries format stacks (torch.manual_seed does) and read them

    def existing(candidates: list[str]) -> tuple[str, ...]:
        """Real paths of the candidates that exist, in order, without duplicates."""
        real = (os.path.realpath(path) for path in candidates)
        return tuple(dict.fromkeys(path for path in real if os.path.exists(path)))

    return _Paths(workdir, existing(code), existing(other), existing(files))


_SYS_LANDLOCK_CREATE_RULESET, _SYS_LANDLOCK_ADD_RULE, _SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
_LL_EXECUTE, _LL_WRITE_FILE, _LL_READ_FILE, _LL_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_LL_MAKE_CHAR, _LL_MAKE_BLOCK, _LL_TRUNCATE, _LL_IOCTL_DEV = 1 << 6, 1 << 11, 1 << 14, 1 << 15
_LL_FILE_ONLY = _LL_EXECUTE | _LL_WRITE_FILE | _LL_READ_FILE | _LL_TRUNCATE | _LL_IOCTL_DEV


class _LandlockPathBeneath(ctypes.Structure):
    """struct landlock_path_beneath_attr (packed)."""

    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _restrict_filesystem(libc: ctypes.CDLL, paths: _Paths) -> int:
    """Landlock: read-only code and system paths, the work dir read-write, no TCP; ABI or 0."""
    abi = libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        return 0
    handled_fs = (1 << {1: 13, 2: 14, 3: 15, 4: 15}.get(abi, 16)) - 1
    attr = (ctypes.c_uint64 * 3)(handled_fs, 0b11, 0b11)  # fs; TCP bind+connect; scope
    attr_size = 8 if abi < 4 else 16 if abi < 6 else 24  # scope: abstract unix sockets, signals
    ruleset = libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, attr, ctypes.c_size_t(attr_size), 0)
    if ruleset < 0:
        return 0
    readable = _LL_READ_FILE | _LL_READ_DIR | _LL_EXECUTE
    writable = handled_fs & ~(_LL_EXECUTE | _LL_MAKE_CHAR | _LL_MAKE_BLOCK | _LL_IOCTL_DEV)
    rules = [(path, readable) for path in paths.code_dirs + paths.read_dirs]
    rules += [(path, _LL_READ_FILE) for path in paths.read_files]
    rules += [("/dev/null", _LL_READ_FILE | _LL_WRITE_FILE), (paths.workdir, writable)]
    try:
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if not os.path.isdir(path):
                    access &= _LL_FILE_ONLY
                rule = _LandlockPathBeneath(access & handled_fs, fd)
                if libc.syscall(_SYS_LANDLOCK_ADD_RULE, ruleset, 1, ctypes.byref(rule), 0) != 0:
                    raise OSError(ctypes.get_errno(), f"landlock rule for {path}")
            finally:
                os.close(fd)
        if libc.syscall(_SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return abi


def _drop_capabilities(libc: ctypes.CDLL) -> bool:
    """Clear the effective, permitted and inheritable capability sets; False if refused."""
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (ctypes.c_uint32 * 6)()
    return libc.syscall(126, header, data) == 0  # capset


def _vm_size_bytes() -> int:
    """Current address-space size of this process (VmSize) in bytes."""
    with open("/proc/self/status", "rb") as status:
        for line in status:
            if line.startswith(b"VmSize:"):
                return int(line.split()[1]) * 1024
    raise OSError("VmSize missing from /proc/self/status")


def _set_rlimits(limits: Limits) -> None:
    """CPU seconds, address space above the current mapping, file size, cores, open files."""
    cpu = max(1, math.ceil(limits.cpu_time_s))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL a second later
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES_LIMIT, OPEN_FILES_LIMIT))
    # torch and numpy are already mapped (~1 GiB of address space): the budget comes on top
    address_space = _vm_size_bytes() + limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))


# seccomp, x86-64 only: system call numbers
_SECCOMP_KILL = (
    59, 322, 57, 58,  # execve, execveat, fork, vfork
    101, 310, 311, 312, 440, 448,  # ptrace, process_vm_readv/writev, kcmp, process_madvise/mrelease
    200, 424, 434, 438,  # tkill, pidfd_send_signal, pidfd_open, pidfd_getfd
    165, 166, 155, 161, 272, 308,  # mount, umount2, pivot_root, chroot, unshare, setns
    428, 429, 430, 431, 432, 433, 442,  # the new mount API
    321, 298, 323, 425, 426, 427,  # bpf, perf_event_open, userfaultfd, io_uring_*
    248, 249, 250,  # add_key, request_key, keyctl
    175, 313, 176, 246, 320, 169,  # init/finit/delete_module, kexec_load/file_load, reboot
    167, 168, 170, 171, 172, 173, 163,  # swapon/off, sethostname, setdomainname, iopl, ioperm, acct
    164, 227, 305, 159, 103, 153,  # settimeofday, clock_settime/adjtime, adjtimex, syslog, vhangup
    303, 304, 300, 179, 443, 134, 256, 279,  # *_handle_at, fanotify_init, quotactl*, uselib, *pages
    160, 126, 105, 106, 113, 114, 117, 119, 122, 123, 116,  # setrlimit, capset, set*id, setgroups
)
_SECCOMP_EPERM = (
    141, 251,  # setpriority, ioprio_set: could slow down the server
    # metadata of files Landlock lets the run read (it does not cover these): as root, the run
    # owns the system's files, so it could make one setuid or world-writable, forge times, or
    # hide private values in an extended attribute
    90, 91, 268, 452, 92, 93, 94, 260,  # chmod, fchmod, fchmodat, fchmodat2, chown, fchown, lchown, fchownat
    132, 235, 261, 280, 133, 259,  # utime, utimes, futimesat, utimensat, mknod, mknodat
    188, 189, 190, 197, 198, 199,  # set/lset/fsetxattr, remove/lremove/fremovexattr
    # socket() is refused below; socketpair() gave a socket whose sendto() reached any datagram
    # socket on the host by path (/dev/log) past the network namespace
    53,  # socketpair
    319, 447,  # memfd_create, memfd_secret: memory no rlimit or tmpfs size counts
    # inotify names the files the server opens in directories Landlock hides (a red team
    # learnt the private blob's id from it) and its instances are shared by every root process
    253, 294, 254, 255,  # inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch
)
_SYS_FCNTL, _F_SETPIPE_SZ = 72, 1031  # pipe buffers grown to 1 MiB each: memory no limit counts
_SYS_CLONE, _SYS_CLONE3, _SYS_SOCKET, _SYS_IOCTL, _SYS_PRLIMIT64 = 56, 435, 41, 16, 302
_SYS_KILL, _SYS_TGKILL, _SYS_RT_SIGQUEUEINFO, _SYS_RT_TGSIGQUEUEINFO = 62, 234, 129, 297
_SYS_SCHED_SET = (142, 144, 203, 314)  # sched_setparam/setscheduler/setaffinity/setattr
_CLONE_THREAD = 0x00010000
_TIOCSTI, _TIOCLINUX = 0x5412, 0x541C
_AUDIT_ARCH_X86_64 = 0xC000003E
_RET_KILL, _RET_ALLOW, _RET_ERRNO = 0x80000000, 0x7FFF0000, 0x00050000
_BPF_LD, _BPF_JEQ, _BPF_JGE, _BPF_JSET, _BPF_RET = 0x20, 0x15, 0x35, 0x45, 0x06


def _seccomp_program(pid: int) -> list[tuple[int, int, int, int]]:
    """BPF (code, jt, jf, k) instructions of the filter for a child whose pid is ``pid``."""
    def arg(index: int) -> int:
        """Offset of the low 32 bits of seccomp_data.args[index]."""
        return 16 + 8 * index

    program = [
        (_BPF_LD, 0, 0, 4), (_BPF_JEQ, 1, 0, _AUDIT_ARCH_X86_64), (_BPF_RET, 0, 0, _RET_KILL),
        (_BPF_LD, 0, 0, 0), (_BPF_JGE, 0, 1, 0x40000000), (_BPF_RET, 0, 0, _RET_KILL),  # x32
    ]

    def return_for(number: int, action: int) -> None:
        """System call ``number`` gets ``action``."""
        program.extend([(_BPF_JEQ, 0, 1, number), (_BPF_RET, 0, 0, action)])

    def arg_in(number: int, index: int, allowed: tuple[int, ...], otherwise: int) -> None:
        """System call ``number`` is allowed when args[index] is in ``allowed``, else ``otherwise``."""
        size = len(allowed)
        program.extend([(_BPF_JEQ, 0, size + 3, number), (_BPF_LD, 0, 0, arg(index))])
        program.extend((_BPF_JEQ, size - i, 0, v & 0xFFFFFFFF) for i, v in enumerate(allowed))
        program.extend([(_BPF_RET, 0, 0, otherwise), (_BPF_RET, 0, 0, _RET_ALLOW)])

    for number in _SECCOMP_KILL:
        return_for(number, _RET_KILL)
    for number in _SECCOMP_EPERM:
        return_for(number, _RET_ERRNO | 1)
    return_for(_SYS_SOCKET, _RET_ERRNO | 13)  # EACCES: no new sockets of any family
    return_for(_SYS_CLONE3, _RET_ERRNO | 38)  # ENOSYS: glibc falls back to clone, checked below
    program.extend([  # clone: threads only
        (_BPF_JEQ, 0, 4, _SYS_CLONE), (_BPF_LD, 0, 0, arg(0)),
        (_BPF_JSET, 0, 1, _CLONE_THREAD), (_BPF_RET, 0, 0, _RET_ALLOW),
        (_BPF_RET, 0, 0, _RET_KILL),
    ])
    program.extend([  # prlimit64: reading limits only (new_limit == NULL)
        (_BPF_JEQ, 0, 6, _SYS_PRLIMIT64), (_BPF_LD, 0, 0, arg(2)), (_BPF_JEQ, 0, 3, 0),
        (_BPF_LD, 0, 0, arg(2) + 4), (_BPF_JEQ, 0, 1, 0), (_BPF_RET, 0, 0, _RET_ALLOW),
        (_BPF_RET, 0, 0, _RET_KILL),
    ])
    arg_in(_SYS_KILL, 0, (pid, 0, -pid), _RET_KILL)  # only this process and its own group
    for number in (_SYS_TGKILL, _SYS_RT_SIGQUEUEINFO, _SYS_RT_TGSIGQUEUEINFO):
        arg_in(number, 0, (pid,), _RET_KILL)
    for number in _SYS_SCHED_SET:
        arg_in(number, 0, (0, pid), _RET_ERRNO | 1)
    program.extend([  # fcntl: anything but growing a pipe's buffer
        (_BPF_JEQ, 0, 4, _SYS_FCNTL), (_BPF_LD, 0, 0, arg(1)),
        (_BPF_JEQ, 0, 1, _F_SETPIPE_SZ), (_BPF_RET, 0, 0, _RET_ERRNO | 1),
        (_BPF_RET, 0, 0, _RET_ALLOW),
    ])
    program.extend([  # ioctl: no faking terminal input
        (_BPF_JEQ, 0, 5, _SYS_IOCTL), (_BPF_LD, 0, 0, arg(1)),
        (_BPF_JEQ, 2, 0, _TIOCSTI), (_BPF_JEQ, 1, 0, _TIOCLINUX),
        (_BPF_RET, 0, 0, _RET_ALLOW), (_BPF_RET, 0, 0, _RET_KILL),
    ])
    program.append((_BPF_RET, 0, 0, _RET_ALLOW))
    return program


class _SockFilter(ctypes.Structure):
    """struct sock_filter."""

    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    """struct sock_fprog."""

    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _install_seccomp(libc: ctypes.CDLL) -> bool:
    """Install the seccomp filter on every thread; False on other architectures or if refused."""
    if os.uname().machine != "x86_64":
        return False
    program = _seccomp_program(os.getpid())
    filters = (_SockFilter * len(program))(*(_SockFilter(*insn) for insn in program))
    fprog = _SockFprog(len(program), filters)
    # seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog)
    return libc.syscall(317, 1, 1, ctypes.byref(fprog)) == 0


def _submission_builtins() -> dict[str, object]:
    """Builtins for the submission whose ``__import__`` announces each import to the hook."""
    # Library modules keep the real builtins: only imports written in the submission raise
    # "fedsyft.import". Loaded modules stay loaded (re-importing them would break libraries);
    # reaching a blocked one another way still trips the hook at the operation itself.
    audit, real_import = sys.audit, __import__

    def announced_import(
        name: str,
        globals: dict | None = None,
        locals: dict | None = None,
        fromlist: tuple = (),
        level: int = 0,
    ) -> types.ModuleType:
        """__import__ that raises the 'fedsyft.import' audit event first."""
        audit("fedsyft.import", name)
        return real_import(name, globals, locals, fromlist, level)

    namespace = dict(vars(builtins))
    namespace["__import__"] = announced_import
    return namespace


# ---------------------------------------------------------------------------- audit hook


def _install_audit_hook(submission: types.CodeType, paths: _Paths, alarm_fd: int) -> None:
    """Install the audit hook that reports and blocks forbidden operations (child only)."""
    # Submitted code can rebind module globals, builtins and stdlib functions, so the hook
    # uses nothing but values bound here, in closure cells it cannot reach: C functions,
    # methods of built-in types and immutable data. A violation is written to the alarm
    # pipe before the hook raises, so catching the exception hides nothing.
    getframe, getcwd, lstat, readlink = sys._getframe, posix.getcwd, posix.lstat, posix.readlink
    fstat, write, exit_now, is_link = posix.fstat, posix.write, posix._exit, _stat.S_ISLNK
    type_, issubclass_, str_, bytes_, int_ = type, issubclass, str, bytes, int
    as_str, decode, encode, code_type = str.__str__, bytes.decode, str.encode, types.CodeType
    os_error, memory_error, base_exception = OSError, MemoryError, BaseException
    violation, exit_violation, write_flags = SandboxViolation, _EXIT_VIOLATION, _WRITE_FLAGS
    quiet, denied, denied_families = _QUIET_EVENTS, _DENIED_EVENTS, _DENIED_EVENT_FAMILIES
    read_events, write_events, frame_events = _READ_PATH_EVENTS, _WRITE_PATH_EVENTS, _FRAME_EVENTS
    code_events = _CODE_EVENTS
    blocked = _BLOCKED_MODULES
    blocked_prefixes = tuple(name + "." for name in _BLOCKED_MODULES)
    submission_file = _SUBMISSION_FILE
    alarm_identity = (fstat(alarm_fd).st_dev, fstat(alarm_fd).st_ino)
    workdir = paths.workdir
    code_prefixes = tuple(path + "/" for path in paths.code_dirs)
    readable = (workdir, *paths.code_dirs, *paths.read_dirs)
    readable_set = frozenset(readable + paths.read_files)
    readable_prefixes = tuple(path + "/" for path in readable)
    writable_files = frozenset({"/dev/null"})
    workdir_prefix = workdir + "/"
    bootstrap = sys.modules["_frozen_importlib"]
    bootstrap_external = sys.modules["_frozen_importlib_external"]
    importer_code = bootstrap._call_with_frames_removed.__code__
    unmarshal_code = bootstrap_external._compile_bytecode.__code__
    generator_codes = (dataclasses._create_fn.__code__, collections.namedtuple.__code__)
    # compile() alone makes inert code objects; these callers never run what they compile:
    # ast.parse (traceback uses it for carets), ForwardRef (torch's DataLoader builds one)
    inert_compilers = (ast.parse.__code__, typing.ForwardRef.__init__.__code__)
    importlib_files = frozenset({
        bootstrap.__spec__.origin, bootstrap_external.__spec__.origin,
        "<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>",
        sys.modules["importlib"].__file__,
    })

    def text_of(path: object) -> str | None:
        """An exact str for a str or bytes path, None for anything else."""
        kind = type_(path)
        if kind is str_:
            return path  # type: ignore[return-value]
        if kind is bytes_ or issubclass_(kind, bytes_):
            return decode(path, "utf-8", "surrogateescape")  # type: ignore[arg-type]
        if issubclass_(kind, str_):
            return as_str(path)  # type: ignore[arg-type]
        return None

    def resolve(text: str) -> str | None:
        """Absolute path with symlinks resolved (missing parts kept); None on a symlink loop."""
        if not text.startswith("/"):
            text = getcwd() + "/" + text
        pending = text.split("/")
        pending.reverse()
        resolved, hops = "", 0
        while pending:
            part = pending.pop()
            if part == "" or part == ".":
                continue
            if part == "..":
                resolved = resolved[: resolved.rfind("/")] if resolved else ""
                continue
            candidate = resolved + "/" + part
            try:
                mode = lstat(candidate).st_mode
            except os_error:
                resolved = candidate
                continue
            if not is_link(mode):
                resolved = candidate
                continue
            hops += 1
            if hops > 40:
                return None
            target = readlink(candidate)
            if target.startswith("/"):
                resolved = ""
            parts = target.split("/")
            parts.reverse()
            pending.extend(parts)
        return resolved or "/"

    def in_code_dirs(name: object) -> bool:
        """True when ``name`` is a file under the Python installation's code directories."""
        if type_(name) is not str_:
            return False
        real = resolve(name)  # type: ignore[arg-type]
        return real is not None and real.startswith(code_prefixes)

    def path_problem(event: str, path: object, for_writing: bool) -> str | None:
        """Why touching ``path`` is forbidden, or None."""
        if type_(path) is int_:
            return None  # a descriptor the code already holds
        text = text_of("." if path is None else path)
        if text is None:
            return f"{event} with a path that is neither str nor bytes"
        real = resolve(text)
        if real is not None:
            if for_writing:
                if real in writable_files or real == workdir or real.startswith(workdir_prefix):
                    return None
            elif real in readable_set or real.startswith(readable_prefixes):
                return None
        action = "write" if for_writing else "read"
        return f"{event}: {action} outside the sandbox: {text[:300]}"

    def importer_is_submission(caller: types.FrameType | None) -> bool:
        """True when the nearest frame outside importlib belongs to the submission."""
        frame, hops = caller, 0
        while frame is not None and hops < 64:
            filename = frame.f_code.co_filename
            if filename not in importlib_files:
                return filename == submission_file
            frame, hops = frame.f_back, hops + 1
        return False

    def dynamic_code_problem(event: str, args: tuple, caller: types.FrameType | None) -> str | None:
        """Allow only the submission, dataclass/namedtuple generation and library imports."""
        caller_code = None if caller is None else caller.f_code
        if caller_code is generator_codes[0] or caller_code is generator_codes[1]:
            return None
        where = "" if caller_code is None else (
            f" (in {caller_code.co_name}, {caller_code.co_filename}:{caller.f_lineno})"
        )
        if event == "exec":
            code = args[0]
            if code is submission:
                return None
            if caller_code is importer_code and type_(code) is code_type:
                filename = code.co_filename
                if code.co_name == "<module>" and (
                    in_code_dirs(filename) or (type_(filename) is str_
                                               and filename.startswith("<frozen "))
                ):
                    return None
            return "exec/eval of code created at run time" + where
        if event == "compile":
            if caller_code is inert_compilers[0] or caller_code is inert_compilers[1]:
                return None
            if caller_code is importer_code and in_code_dirs(args[1]):
                return None
            return "compile of source text at run time" + where
        if caller_code is unmarshal_code and in_code_dirs(caller.f_locals.get("bytecode_path")):
            return None
        return "unmarshalling of code at run time" + where

    def judge(event: str, args: tuple, caller: types.FrameType | None) -> str | None:
        """Why ``event`` is forbidden, or None."""
        if event in denied or event.partition(".")[0] in denied_families:
            return f"{event} is not allowed in the sandbox"
        if event == "open":
            path, mode, flags = args[0], args[1], args[2]
            if type_(flags) is int_ and flags >= 0:
                for_writing = flags & write_flags != 0
            else:
                for_writing = type_(mode) is not str_ or mode.strip("rbtU") != ""
            return path_problem("open", path, for_writing)
        if event in read_events:
            return path_problem(event, args[0] if args else None, False)
        if event in write_events:
            return path_problem(event, args[0], True)
        if event == "os.rename":
            return path_problem(event, args[0], True) or path_problem(event, args[1], True)
        if event == "import" or event == "fedsyft.import":
            name = text_of(args[0]) if args else None
            if name is None:
                return None  # importing a non-str name fails on its own
            if not (name in blocked or name.startswith(blocked_prefixes)):
                return None
            if event == "import" and not importer_is_submission(caller):
                return None  # a library importing what it needs
            return f"import of {name[:100]} is not allowed in the sandbox"
        if event in code_events:
            return dynamic_code_problem(event, args, caller)
        if event == "object.__setattr__":
            name = args[1] if len(args) > 1 else None
            if type_(name) is str_ and name == "__code__":
                return "replacing a function's code is not allowed in the sandbox"
            return None
        if event == "sqlite3.connect":
            database = args[0]
            if type_(database) is str_ and database in (":memory:", ""):
                return None
            return path_problem(event, database, True)
        return None

    def alarm(problem: str) -> None:
        """Tell the parent, through a pipe the submission cannot have replaced, before raising."""
        line = encode(problem[:1000].replace("\n", " "), "utf-8", "replace") + b"\n"
        try:
            status = fstat(alarm_fd)
            intact = (status.st_dev, status.st_ino) == alarm_identity
            if intact:
                write(alarm_fd, line)
        except os_error:
            intact = False
        if not intact:
            exit_now(exit_violation)

    def hook(event: str, args: tuple) -> None:
        """The audit hook: answer quiet events at once, judge the rest."""
        if type_(event) is not str_:
            event = as_str(event) if issubclass_(type_(event), str_) else "(unnamed event)"
        if event in quiet:
            return
        try:
            caller = getframe(1) if event in frame_events else None
            problem = judge(event, args, caller)
        except memory_error:
            raise
        except base_exception:  # fail closed: an operation the hook cannot judge is refused
            problem = f"{event}: the sandbox could not check this operation"
        if problem is not None:
            alarm(problem)
            raise violation(problem)

    sys.addaudithook(hook)


if _in_fork_server():
    # every run is forked from here: leave none of the server's secrets to inherit
    _forget_environment()
    os.environ.update(_SAFE_ENVIRONMENT)
