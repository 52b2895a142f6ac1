"""pilot.py command line: argparse -> EdgeConfig -> pipeline."""

from __future__ import annotations

import argparse
import logging

from alpr_common.config import add_config_args, load_or_exit

from .config import EdgeConfig

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pilot.py", description="OVR-ALPR edge pipeline")
    add_config_args(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    load_or_exit(EdgeConfig, args)
    logger.error("the edge pipeline is not implemented yet (issue: edge perception)")
    return 1
