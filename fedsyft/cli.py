"""The `fedsyft` command line: the demo, the data owner's datasite commands, policy checks.

syft is imported lazily (it takes seconds), and errors are printed for people:
one line saying what was wrong and where, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

CENTRES = ("cleveland", "hungarian", "switzerland", "va")  # datasite.data.CENTRES, without its imports
DEBUG_ENV = "FEDSYFT_DEBUG"  # set to 1 to see the traceback of an unexpected error


class CliError(RuntimeError):
    """A command cannot do what was asked; the message says why and what to do."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `fedsyft` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        # `fedsyft datasite` with no action: the help of `datasite`, not the top level's
        getattr(args, "help_of", parser).print_help()
        return 2
    try:
        code = args.handler(args)
        sys.stdout.flush()  # inside the try: a closed pipe surfaces here, not at exit
        return code
    except KeyboardInterrupt:
        if args.handler is _demo:
            print("interrupted: every datasite this command started was stopped", file=sys.stderr)
        else:
            print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `fedsyft datasite audit ... | head`: the reader left; stop quietly
        _silence_stdout()
        return 141
    except (ValueError, RuntimeError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except Exception as err:
        if os.environ.get(DEBUG_ENV):
            raise
        print(f"error: unexpected {type(err).__name__}: {_one_line(err)}\n"
              f"this is a bug in fedsyft: rerun with {DEBUG_ENV}=1 to see where, and report it",
              file=sys.stderr)
        return 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fedsyft", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(metavar="COMMAND")

    demo = commands.add_parser("demo", help="four UCI hospitals train one model through real datasites",
                               description="Play every role on this machine: launch one datasite per "
                               "centre, submit the module, run FedAvg rounds, compare with baselines. "
                               "Settings and the module are checked before any datasite is launched.")
    demo.add_argument("--rounds", type=positive_integer, default=20,
                      help="federated rounds (default 20; at most the policy's training.max_rounds)")
    demo.add_argument("--out", type=Path, default=Path("fedsyft-out"),
                      help="output directory for report.json, training.png and the sites (default fedsyft-out)")
    demo.add_argument("--sites", type=site_list, default=CENTRES, metavar="A,B,...",
                      help=f"comma-separated centres, each at most once, from: {', '.join(CENTRES)} "
                      "(default: all four)")
    demo.add_argument("--seed", type=int, default=42, help="split and training seed (default 42)")
    demo.add_argument("--epochs", type=positive_integer, default=5,
                      help="local epochs per round (default 5; at most the policy's training.max_epochs)")
    demo.add_argument("--lr", type=positive_number, default=0.05, help="learning rate, > 0 (default 0.05)")
    demo.add_argument("--module", type=Path,
                      help="training module to submit: train, evaluate and init_weights (see docs/CONTRACTS.md; "
                      "default: scientist/examples/heart_logreg.py)")
    demo.add_argument("--policy", type=Path,
                      help="policy every datasite installs (default: policies/examples/default.toml); "
                      'the demo needs approval.mode = "auto"')
    demo.set_defaults(handler=_demo)

    datasite = commands.add_parser("datasite", help="a data owner's datasite",
                                   description="A data owner's datasite: serve it, review, approve or deny "
                                   "code requests, read its audit log.")
    datasite.set_defaults(help_of=datasite)
    site = datasite.add_subparsers(metavar="ACTION")
    config_help = "the datasite's TOML config file (every key: datasite/config.py)"
    request_help = "the request's id, as `fedsyft datasite review` lists it"
    serve = site.add_parser("serve", help="run a datasite in the foreground")
    serve.add_argument("config", type=Path, help=config_help)
    serve.set_defaults(handler=_serve)
    review = site.add_parser("review", help="list pending requests with their review reports")
    review.add_argument("config", type=Path, help=config_help)
    review.add_argument("--code", action="store_true",
                        help="also print each request's submitted module source, with line numbers")
    review.set_defaults(handler=_review)
    approve = site.add_parser("approve", help="approve a pending request (if it passes the policy)")
    approve.add_argument("config", type=Path, help=config_help)
    approve.add_argument("request_id", help=request_help)
    approve.set_defaults(handler=_approve)
    deny = site.add_parser("deny", help="deny a pending request with a reason")
    deny.add_argument("config", type=Path, help=config_help)
    deny.add_argument("request_id", help=request_help)
    deny.add_argument("--reason", required=True,
                      help="why, in words the scientist can act on (they read it; the audit log keeps it)")
    deny.set_defaults(handler=_deny)
    reset = site.add_parser("reset-admin-password",
                            help="set the admin account's password to the one the config names "
                            "(needs the data directory; audited)")
    reset.add_argument("config", type=Path, help=config_help)
    reset.set_defaults(handler=_reset_admin_password)
    audit = site.add_parser("audit", help="show the audit log; --verify checks its hash chain")
    audit.add_argument("target", type=Path, help="datasite config file or data directory")
    audit.add_argument("--verify", action="store_true",
                       help="check the hash chain instead of listing: names every edited, deleted or "
                       "reordered line and lines cut off the end; exit 1 if any")
    audit.add_argument("--json", action="store_true",
                       help='print JSON: without --verify JSON Lines (one entry per line); with --verify '
                       'one document {"ok": bool, "problems": [...], "entries": N, "head": HASH}')
    audit.set_defaults(handler=_audit)

    policy = commands.add_parser("policy", help="approval policies",
                                 description="Approval policies: review code against one.")
    policy.set_defaults(help_of=policy)
    check = policy.add_subparsers(metavar="ACTION").add_parser(
        "check", help="review code files against a policy (exit 0 approved, 1 rejected, 2 bad usage)")
    check.add_argument("files", nargs="+", type=Path, help="Python module(s) to review")
    check.add_argument("--policy", type=Path, help="policy file (default: the shipped default)")
    check.add_argument("--json", action="store_true", help="print the reports as one JSON list")
    check.set_defaults(handler=_policy_check)
    return parser


# argparse names a type in its message ("invalid positive integer value: 'abc'"), hence __name__


def positive_integer(text: str) -> int:
    """An integer >= 1 (argparse type)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_number(text: str) -> float:
    """A finite number > 0 (argparse type)."""
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def site_list(text: str) -> tuple[str, ...]:
    """Comma-separated centre names (argparse type); the demo checks them before launching."""
    return tuple(s.strip().lower() for s in text.split(",") if s.strip())


positive_integer.__name__ = "positive integer"
positive_number.__name__ = "positive number"
site_list.__name__ = "site list"


# --- demo ------------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from fedsyft.demo import DemoSettings, run
    from scientist.federation import SubmissionDenied

    settings = DemoSettings(rounds=args.rounds, out=args.out, sites=args.sites, seed=args.seed,
                            epochs=args.epochs, lr=args.lr, module=args.module, policy=args.policy)
    console = Console()
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        TextColumn("{task.completed}/{task.total}"), TextColumn("{task.fields[info]}"),
                        TimeElapsedColumn(), console=console)
    task = None

    def on_event(kind: str, info: dict) -> None:
        nonlocal task
        if kind == "checked":
            console.print(f"checked the settings against the policy {info['policy']} and {info['module']} "
                          "on synthetic mock data")
        elif kind == "launching":
            console.print(f"launching {len(info['sites'])} datasites: {', '.join(info['sites'])}")
        elif kind == "launched":
            console.print(f"datasites up in {info['startup_s']:.1f} s: "
                          + ", ".join(f"{n} {u}" for n, u in info["urls"].items()))
        elif kind == "mock_checked":
            console.print("module runs on every site's mock data")
        elif kind == "submitted":
            console.print(f"submitted {info['requests']} code requests; waiting for the owners' review")
        elif kind == "approved":
            console.print("every owner's steward reviewed and approved the code")
            progress.start()
            task = progress.add_task("rounds", total=settings.rounds, info="")
        elif kind == "round":
            progress.update(task, advance=1, info=round_summary(info))
        elif kind == "baselines" and progress.live.is_started:
            progress.stop()
            console.print("baselines (comparison only, outside the privacy boundary)...")

    try:
        report = run(settings, on_event=on_event)
    except SubmissionDenied as denied:
        raise CliError(denial_message(denied.reasons, denied.undecided, _check_command(args))) from None
    finally:
        if progress.live.is_started:  # stopping a bar never shown prints a stray blank line
            progress.stop()
    table = Table(title="UCI Heart Disease: accuracy on the union of the test splits")
    table.add_column("model")
    table.add_column("accuracy", justify="right")
    table.add_row("federated (FedAvg, private data never left a site)", f"{report['federated']['accuracy']:.3f}")
    table.add_row("pooled (comparison only)", f"{report['baselines']['pooled']['accuracy']:.3f}")
    for centre, base in report["baselines"]["local_only"].items():
        table.add_row(f"{centre} alone (comparison only)", f"{base['accuracy']:.3f}")
    console.print(table)
    console.print(timing_summary(report["timing"]))
    console.print(f"wrote {settings.out / 'report.json'} and {settings.out / 'training.png'}")
    return 0


def round_summary(row: dict) -> str:
    """One round's progress: accuracy, loss, training and evaluation wall time."""
    return (f"acc {row['accuracy']:.3f}  loss {row['loss']:.3f}  "
            f"train {row['wall_s']:.2f} s (compute {row['compute_s']:.2f} s)  eval {row['eval_wall_s']:.2f} s")


def timing_summary(timing: dict) -> str:
    """The demo's closing timing line: startup, total, and a mean round's training and evaluation."""
    return (f"startup {timing['startup_s']:.1f} s, total {timing['total_s']:.1f} s; mean round: "
            f"training {timing['mean_round_wall_s']:.2f} s (compute inside {timing['mean_round_compute_s']:.2f} s)"
            f" + federated evaluation {timing['mean_eval_wall_s']:.2f} s")


def denial_message(reasons: dict[str, str], undecided: list[str], check_command: str = "") -> str:
    """The owners' denials, each distinct reason once with the "site/entrypoint"s it applies to."""
    from scientist.federation import denial_headline, group_denials

    lines = [denial_headline(reasons)]
    for why, where in group_denials(reasons).items():
        lines.append(f"  {', '.join(where)}:")
        lines += [f"    {line}" for line in _printable(why).splitlines()]
    if undecided:
        lines.append(f"still undecided: {', '.join(undecided)}")
    if check_command:
        lines.append(f"review the module against the policy locally first: {check_command}")
    return "\n".join(lines)


def _check_command(args: argparse.Namespace) -> str:
    from fedsyft.demo import DemoSettings, module_path

    policy = f" --policy {args.policy}" if args.policy else ""
    return f"fedsyft policy check{policy} {module_path(DemoSettings(module=args.module))}"


# --- datasite --------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    from datasite.config import load_config
    from datasite.server import serve

    config = load_config(args.config)
    # said once it is true: after the port is taken and the data, policy and accounts are in place
    serve(config, announce=lambda line: print(line, flush=True))
    return 0


def _reset_admin_password(args: argparse.Namespace) -> int:
    from datasite.config import load_config
    from datasite.server import reset_admin_password

    config = load_config(args.config, scientist_secrets=False)  # registers no one
    reset_admin_password(config)
    print(f"datasite {config.name}: the admin account {config.admin_email} now has the password the config "
          "names (audited as admin_password_reset)")
    return 0


def _steward(config_path: Path):  # noqa: ANN202 - returns (Steward, config)
    """An admin's steward for the datasite of a config: logs in, with errors for people."""
    import logging
    import socket

    from datasite.config import load_config

    config = load_config(config_path, scientist_secrets=False)  # an admin's session registers no one
    down = (f"cannot reach datasite {config.name} at {config.url}: is it running? "
            f"(start it with `fedsyft datasite serve {config_path}`)")
    try:  # a plain socket first: no syft import, no urllib3 retries, no warnings
        socket.create_connection((config.host, config.port), timeout=5).close()
    except OSError:
        raise CliError(down) from None

    import syft as sy
    from syft.types.errors import CredentialsError

    from datasite.home import DatasiteHome
    from datasite.steward import Steward

    _same_datasite(config)  # before the admin password is sent anywhere
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # its retry warnings say nothing we do not
    try:
        with _quiet_stdout():  # syft's "Logged into ..." banner
            client = sy.login(url="http://" + config.host, port=config.port,
                              email=config.admin_email, password=config.admin_password)
    except Exception as err:
        text = _one_line(err)
        if isinstance(err, CredentialsError) or "invalid credentials" in text.lower():
            raise CliError(
                f"datasite {config.name} at {config.url} refused the login of {config.admin_email}: the admin "
                f"password is wrong. It comes from the config's admin password source, "
                f"{_password_source(config_path)}: set it to the datasite's admin password (the one it was "
                "first served with, or last reset to with `fedsyft datasite reset-admin-password`), and check "
                "[datasite] admin_email") from None
        if "connection refused" in text.lower() or "max retries exceeded" in text.lower():
            raise CliError(down) from None
        raise CliError(f"datasite {config.name} at {config.url} did not accept the admin login: {text}") from None
    return Steward(client, DatasiteHome(config.data_dir)), config


def _same_datasite(config: Any) -> None:
    """The server at the config's port must be the datasite of its data directory.

    The steward writes reviews and audit entries into the config's data directory, and the admin
    password goes to whatever answers on the port: a port that reaches another datasite would
    get the password and have its decisions recorded here. Checked before logging in, against
    the public metadata (id and verify key) the data directory's identity file determines; it
    catches a misconfiguration, not a local process that copies a datasite's public metadata.
    """
    import urllib.request

    from syft.server.credentials import SyftSigningKey

    from datasite.home import DatasiteHome

    home = DatasiteHome(config.data_dir)
    no_datasite = CliError(f"datasite {config.name}: {config.data_dir} holds no datasite (no readable "
                           f"{home.identity_path.name}); is data_dir right? (serve it first with "
                           f"`fedsyft datasite serve {config.source}`)")
    try:
        stored = home.stored_identity()
        if stored is None:
            raise no_datasite
        expected_id = str(stored[0]).replace("-", "")
        expected_key = str(SyftSigningKey.from_string(stored[1]).verify_key)
    except PermissionError:
        raise CliError(f"datasite {config.name}: cannot read {home.identity_path} (it is the owner's, mode "
                       "0600): run this as the user that serves the datasite") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise no_datasite from None
    try:
        with urllib.request.urlopen(f"{config.url}/api/v2/metadata", timeout=10) as answer:  # noqa: S310
            metadata = json.loads(answer.read())
        actual_id, actual_key = str(metadata["id"]).replace("-", ""), str(metadata["verify_key"])
        name = _printable(str(metadata.get("name", "another server")))[:80]
    except (OSError, ValueError, KeyError, TypeError):
        raise CliError(f"datasite {config.name}: what answers at {config.url} is not a syft datasite; "
                       "check [datasite] port") from None
    if (actual_id, actual_key) != (expected_id, expected_key):
        raise CliError(f"datasite {config.name}: the server at {config.url} is {name} (id {actual_id[:8]}...), "
                       f"not the datasite whose data is in {config.data_dir}; check [datasite] port and data_dir "
                       "(no password was sent)")


def _password_source(config_path: Path) -> str:
    """Where a config says its admin password comes from, in words."""
    import tomllib

    try:
        site = tomllib.loads(Path(config_path).read_text()).get("datasite", {})
    except (OSError, ValueError):
        site = {}
    name = Path(config_path).name
    if "admin_password_env" in site:
        return f"environment variable {site['admin_password_env']} ({name} [datasite] admin_password_env)"
    if "admin_password_file" in site:
        return f"file {site['admin_password_file']} ({name} [datasite] admin_password_file)"
    return f"{name} [datasite] admin_password_env or admin_password_file"


def _review(args: argparse.Namespace) -> int:
    steward, config = _steward(args.config)
    pending = steward.pending()
    if not pending:
        print(f"{config.name}: no pending requests")
        return 0
    try:
        policy = steward.home.policy()
    except (OSError, ValueError):
        policy = None
    approval = f" (policy {policy.name}, approval: {policy.approval.mode})" if policy else ""
    print(f"{config.name}: {len(pending)} pending request(s){approval}")
    for request, stored in pending:
        print()
        print("\n".join(_describe_request(request, stored, policy, show_code=args.code)))
    print()
    print(f"decide with: fedsyft datasite approve {args.config} ID, "
          f'or fedsyft datasite deny {args.config} ID --reason "..."')
    return 0


def _describe_request(request: Any, stored: dict | None, policy: Any, *, show_code: bool) -> list[str]:
    """What a human needs to decide on one request: what it runs, how often, whose, and the review."""
    from policies.review import ReviewReport, format_report
    from policies.submission import SubmissionError, parse, runs_for

    code = request.code
    lines = [f"request {request.id}"]
    try:
        submission = parse(code.raw_code)
    except SubmissionError as err:
        submission = None
        lines.append(f"  not a fedsyft submission: {_printable(str(err))} (the steward denies it)")
    runs = (code.output_policy_init_kwargs or {}).get("limit")
    if submission is not None:
        lines.append(f"  entrypoint:  {submission.entrypoint} (module {submission.filename})")
    allowed = ""
    if policy is not None and submission is not None:
        budget = runs_for(submission.entrypoint, policy.training.max_rounds)
        allowed = f" (the policy allows up to {budget})"
    lines.append(f"  runs:        {runs} requested{allowed}")
    name = getattr(request, "requesting_user_name", None)
    email = _printable(str(request.requesting_user_email))
    lines.append(f"  submitter:   {_printable(str(name)) + ' ' if name else ''}<{email}>")
    lines.append(f"  submitted:   {request.request_time}")
    if submission is not None:
        lines.append(f"  code sha256: {submission.code_hash}")
    if stored is None:
        lines.append("  not reviewed yet (the steward reviews new requests within a second)")
    else:
        try:
            report = format_report(ReviewReport.from_dict(stored))
        except (ValueError, KeyError, TypeError) as err:
            report = f"the stored review report is unreadable: {err}"
        if submission is not None:
            reviewed = f"code sha256: {submission.code_hash}"
            if reviewed in report.splitlines():  # said just above
                report = "\n".join(line for line in report.splitlines() if line != reviewed)
            else:
                lines.append("  WARNING: the stored review is of other code than this request carries")
        lines += [f"  {line}" for line in _printable(report).splitlines()]
        lines += [f"  problem: {_printable(str(problem))}" for problem in stored.get("problems", [])]
    if show_code and submission is not None:
        source_lines = submission.source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if source_lines and source_lines[-1] == "":
            source_lines.pop()
        width = len(str(len(source_lines)))
        lines.append(f"  source of {submission.filename} ({len(source_lines)} lines; line numbers as in the review;"
                     " unprintable characters shown as escapes):")
        lines += [f"  {number:>{width}} | {_printable(text, keep_tabs=True)}"
                  for number, text in enumerate(source_lines, start=1)]
    return lines


def _approve(args: argparse.Namespace) -> int:
    steward, config = _steward(args.config)
    _refuse_decided(steward, args.request_id)
    with _quiet_stdout():  # syft prints "Approving request on change ..."
        decision = steward.approve(args.request_id)
    print(f"{config.name}: approved request {decision.request_id} (code {decision.code_hash[:12]})")
    return 0


def _deny(args: argparse.Namespace) -> int:
    steward, config = _steward(args.config)
    _refuse_decided(steward, args.request_id)
    with _quiet_stdout():
        decision = steward.deny(args.request_id, args.reason)
    print(f"{config.name}: denied request {decision.request_id}: {_printable(decision.reason)}")
    return 0


def _refuse_decided(steward: Any, request_id: str) -> None:
    """Raise CliError saying who decided a request that is no longer pending, when, and why."""
    past = steward.past_decision(request_id)
    if past is None:
        return
    when = f" at {past.at[:19].replace('T', ' ')} UTC" if past.at else ""
    reason = past.reason
    if past.outcome == "approved":
        # the steward's own "approved by a human" only repeats who approved it
        why = f" ({_printable(str(reason))})" if reason and not str(reason).startswith("approved by") else ""
        raise CliError(f"request {past.request_id} is not pending: it was already approved by {past.by}{when}{why}; "
                       "nothing to do")
    because = "\n  ".join(_printable(str(reason)).splitlines()) if reason else "no reason recorded"
    raise CliError(f"request {past.request_id} is not pending: it was denied by {past.by}{when}, because:\n"
                   f"  {because}\n(a denied request stays denied; the scientist can submit the code again)")


def _quiet_stdout():  # noqa: ANN202 - a context manager
    """Swallow what syft prints to stdout (banners, progress notes) inside the block."""
    import contextlib
    import io

    return contextlib.redirect_stdout(io.StringIO())


def _audit(args: argparse.Namespace) -> int:
    from datasite.audit import AuditLog

    path = _audit_dir(args.target) / "audit.jsonl"
    if not path.exists():
        raise CliError(f"no audit log at {path}")
    log = AuditLog(path)
    if args.verify:
        problems = log.verify()
        head = log.head() or {}
        if args.json:
            print(json.dumps({"ok": not problems, "problems": problems, "entries": len(log.entries()),
                              "head": head.get("hash")}))
        elif problems:
            for problem in problems:
                print(f"{path}: {problem}")
        else:
            # the head hash, copied elsewhere, later shows whether the log was rewritten shorter
            print(f"{path}: {len(log.entries())} entries, hash chain intact, head {head.get('hash')}")
        return 1 if problems else 0
    for entry in log.entries():
        if args.json:
            print(json.dumps({"seq": entry.seq, "ts": entry.ts, "event": entry.event, **entry.fields}))
        else:
            fields = " ".join(f"{k}={audit_value(v)}" for k, v in entry.fields.items())
            print(f"{entry.seq:>5} {entry.ts} {entry.event:<17} {fields}")
    return 0


def _audit_dir(target: Path) -> Path:
    """The data directory named by a datasite config or given directly."""
    if not (target.is_file() and target.suffix == ".toml"):
        return target
    from datasite.config import load_config

    try:
        return load_config(target).data_dir
    except ValueError:
        # the audit needs only the data directory, not the secrets the config names
        import tomllib

        try:
            raw = tomllib.loads(target.read_text())
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            raise CliError(f"{target}: not a readable TOML config: {err}") from None
        data_dir = raw.get("datasite", {}).get("data_dir") if isinstance(raw.get("datasite"), dict) else None
        if not isinstance(data_dir, str) or not data_dir.strip():
            raise CliError(f"{target}: [datasite] data_dir is missing; give the data directory instead") from None
        return (target.parent / Path(data_dir).expanduser()).resolve()


def audit_value(value: object) -> str:
    """An audit field's value on one display line: plain when simple, else quoted and escaped.

    Multi-line reasons and control characters are shown as escapes, so every entry is one
    line and nothing written into the log can move the terminal's cursor.
    """
    if isinstance(value, str):
        simple = value and value.isprintable() and not any(c in value for c in ' "=\\')
        return value if simple else _printable(json.dumps(value, ensure_ascii=False))
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        return _printable(json.dumps(value, ensure_ascii=False))
    return str(value)


# --- policy ----------------------------------------------------------------------------


def _policy_check(args: argparse.Namespace) -> int:
    from policies.policy import PolicyError, default_policy_path, load_policy
    from policies.review import format_report, review

    try:
        policy = load_policy(args.policy or default_policy_path())
    except PolicyError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    reports = []
    for path in args.files:
        if not path.is_file():
            print(f"error: no such file: {path}", file=sys.stderr)
            return 2
        try:
            source = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as err:
            print(f"error: {path}: not UTF-8 text ({err.reason} at byte {err.start}); save it as UTF-8",
                  file=sys.stderr)
            return 2
        reports.append((path, review(source, policy, required=("train", "evaluate"))))
    if args.json:
        print(json.dumps([{"file": str(p), **r.to_dict()} for p, r in reports], indent=2))
    else:
        for path, report in reports:
            print(format_report(report, filename=str(path)))
    return 0 if all(r.passed for _, r in reports) else 1


# --- text for people -------------------------------------------------------------------


def _printable(text: str, *, keep_tabs: bool = False) -> str:
    """`text` with every unprintable character but newlines as an escape (\\x1b, \\u202e).

    What a scientist wrote (code, names) reaches the owner's terminal: escape sequences or
    bidirectional overrides there could hide or reorder what the owner reads.
    """
    def shown(ch: str) -> str:
        if ch == "\n" or ch.isprintable() or (keep_tabs and ch == "\t"):
            return ch
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"

    return "".join(map(shown, text))


def _one_line(err: object, limit: int = 400) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[:limit] + "..."


if __name__ == "__main__":
    raise SystemExit(main())
