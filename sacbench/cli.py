"""The ``sacbench`` command line: ``doctor``, ``run``, ``report``, ``compare``, ``bounds``, ``tune``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _cmd_doctor(args: argparse.Namespace) -> int:
    from sacbench.doctor import doctor_report

    print(doctor_report(as_json=args.json))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per job."""
    parser = argparse.ArgumentParser(prog="sacbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    doctor = sub.add_parser("doctor", help="print versions, hardware and usable backends (for bug reports)")
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    doctor.set_defaults(func=_cmd_doctor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sacbench`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
