"""The `fedsyft` command line: the demo, the data owner's datasite commands, policy checks.

syft is imported lazily (it takes seconds), and errors are printed for people:
one line saying what was wrong and where, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `fedsyft` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("interrupted: every datasite this command started was stopped", file=sys.stderr)
        return 130
    except (ValueError, RuntimeError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fedsyft", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(metavar="COMMAND")

    demo = commands.add_parser("demo", help="four UCI hospitals train one model through real datasites")
    demo.add_argument("--rounds", type=_positive, default=20, help="federated rounds (default 20)")
    demo.add_argument("--out", type=Path, default=Path("fedsyft-out"), help="output directory")
    demo.add_argument("--sites", default=",".join(_centres()),
                      help="comma-separated centres (default: all four)")
    demo.add_argument("--seed", type=int, default=42, help="split and training seed")
    demo.add_argument("--epochs", type=_positive, default=5, help="local epochs per round")
    demo.add_argument("--lr", type=float, default=0.05, help="learning rate")
    demo.add_argument("--module", type=Path, help="training module to submit (default: the shipped one)")
    demo.add_argument("--policy", type=Path, help="policy every datasite installs (default: shipped)")
    demo.set_defaults(handler=_demo)

    site = commands.add_parser("datasite", help="a data owner's datasite").add_subparsers(metavar="ACTION")
    serve = site.add_parser("serve", help="run a datasite in the foreground")
    serve.add_argument("config", type=Path)
    serve.set_defaults(handler=_serve)
    review = site.add_parser("review", help="list pending requests with their review reports")
    review.add_argument("config", type=Path)
    review.set_defaults(handler=_review)
    approve = site.add_parser("approve", help="approve a pending request (if it passes the policy)")
    approve.add_argument("config", type=Path)
    approve.add_argument("request_id")
    approve.set_defaults(handler=_approve)
    deny = site.add_parser("deny", help="deny a pending request with a reason")
    deny.add_argument("config", type=Path)
    deny.add_argument("request_id")
    deny.add_argument("--reason", required=True)
    deny.set_defaults(handler=_deny)
    audit = site.add_parser("audit", help="show the audit log; --verify checks its hash chain")
    audit.add_argument("target", type=Path, help="datasite config file or data directory")
    audit.add_argument("--verify", action="store_true")
    audit.add_argument("--json", action="store_true")
    audit.set_defaults(handler=_audit)

    policy = commands.add_parser("policy", help="approval policies").add_subparsers(metavar="ACTION")
    check = policy.add_parser("check", help="review code files against a policy")
    check.add_argument("files", nargs="+", type=Path)
    check.add_argument("--policy", type=Path, help="policy file (default: the shipped default)")
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=_policy_check)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _centres() -> tuple[str, ...]:
    return ("cleveland", "hungarian", "switzerland", "va")


# --- demo ------------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from fedsyft.demo import DemoSettings, run

    sites = tuple(s.strip() for s in args.sites.split(",") if s.strip())
    unknown = [s for s in sites if s not in _centres()]
    if unknown or not sites:
        raise ValueError(f"--sites: unknown centre(s) {unknown}; choose from {', '.join(_centres())}")
    settings = DemoSettings(rounds=args.rounds, out=args.out, sites=sites, seed=args.seed,
                            epochs=args.epochs, lr=args.lr, module=args.module, policy=args.policy)
    console = Console()
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        TextColumn("{task.completed}/{task.total}"), TextColumn("{task.fields[info]}"),
                        TimeElapsedColumn(), console=console)
    task = None

    def on_event(kind: str, info: dict) -> None:
        nonlocal task
        if kind == "launching":
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
            progress.update(task, advance=1, info=(
                f"acc {info['accuracy']:.3f}  loss {info['loss']:.3f}  "
                f"round {info['wall_s']:.2f} s (compute {info['compute_s']:.2f} s)"))
        elif kind == "baselines":
            progress.stop()
            console.print("baselines (comparison only, outside the privacy boundary)...")

    try:
        report = run(settings, on_event=on_event)
    finally:
        progress.stop()
    table = Table(title="UCI Heart Disease: accuracy on the union of the test splits")
    table.add_column("model")
    table.add_column("accuracy", justify="right")
    table.add_row("federated (FedAvg, private data never left a site)", f"{report['federated']['accuracy']:.3f}")
    table.add_row("pooled (comparison only)", f"{report['baselines']['pooled']['accuracy']:.3f}")
    for centre, base in report["baselines"]["local_only"].items():
        table.add_row(f"{centre} alone (comparison only)", f"{base['accuracy']:.3f}")
    console.print(table)
    timing = report["timing"]
    console.print(f"startup {timing['startup_s']:.1f} s, total {timing['total_s']:.1f} s, "
                  f"mean round {timing['mean_round_wall_s']:.2f} s "
                  f"(compute inside {timing['mean_round_compute_s']:.2f} s)")
    console.print(f"wrote {settings.out / 'report.json'} and {settings.out / 'training.png'}")
    return 0


# --- datasite --------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    from datasite.config import load_config
    from datasite.server import serve

    config = load_config(args.config)
    print(f"datasite {config.name} serving at {config.url} (data in {config.data_dir}); Ctrl-C stops it")
    serve(config)
    return 0


def _steward(config_path: Path):  # noqa: ANN202 - returns (Steward, config)
    import syft as sy

    from datasite.config import load_config
    from datasite.home import DatasiteHome
    from datasite.steward import Steward

    config = load_config(config_path)
    try:
        client = sy.login(url="http://" + config.host, port=config.port,
                          email=config.admin_email, password=config.admin_password)
    except Exception as err:
        raise RuntimeError(f"cannot reach datasite {config.name} at {config.url}: {err}") from None
    return Steward(client, DatasiteHome(config.data_dir)), config


def _review(args: argparse.Namespace) -> int:
    from policies.review import ReviewReport, format_report

    steward, config = _steward(args.config)
    pending = steward.pending()
    if not pending:
        print(f"{config.name}: no pending requests")
        return 0
    for request, stored in pending:
        print(f"request {request.id} from {request.requesting_user_email}")
        if stored is None:
            print("  not reviewed yet (the steward reviews new requests within a second)")
        else:
            print("  " + format_report(ReviewReport.from_dict(stored)).replace("\n", "\n  "))
            for problem in stored.get("problems", []):
                print(f"  problem: {problem}")
    return 0


def _approve(args: argparse.Namespace) -> int:
    steward, config = _steward(args.config)
    decision = steward.approve(args.request_id)
    print(f"{config.name}: approved request {decision.request_id} (code {decision.code_hash[:12]})")
    return 0


def _deny(args: argparse.Namespace) -> int:
    steward, config = _steward(args.config)
    decision = steward.deny(args.request_id, args.reason)
    print(f"{config.name}: denied request {decision.request_id}: {decision.reason}")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from datasite.audit import AuditLog

    target = args.target
    if target.is_file() and target.suffix == ".toml":
        from datasite.config import load_config

        try:
            target = load_config(target).data_dir
        except ValueError:
            # the audit needs only the data directory, not the secrets
            import tomllib

            raw = tomllib.loads(target.read_text())
            target = (args.target.parent / raw["datasite"]["data_dir"]).resolve()
    path = target / "audit.jsonl"
    if not path.exists():
        raise ValueError(f"no audit log at {path}")
    log = AuditLog(path)
    if args.verify:
        problems = log.verify()
        if problems:
            for problem in problems:
                print(f"{path}: {problem}")
            return 1
        print(f"{path}: {len(log.entries())} entries, hash chain intact")
        return 0
    for entry in log.entries():
        if args.json:
            print(json.dumps({"seq": entry.seq, "ts": entry.ts, "event": entry.event, **entry.fields}))
        else:
            fields = " ".join(f"{k}={v}" for k, v in entry.fields.items())
            print(f"{entry.seq:>5} {entry.ts} {entry.event:<17} {fields}")
    return 0


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
        reports.append((path, review(path.read_text(), policy, required=("train", "evaluate"))))
    if args.json:
        print(json.dumps([{"file": str(p), **r.to_dict()} for p, r in reports], indent=2))
    else:
        for path, report in reports:
            print(format_report(report, filename=str(path)))
    return 0 if all(r.passed for _, r in reports) else 1


if __name__ == "__main__":
    raise SystemExit(main())
