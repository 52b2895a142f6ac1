"""Configuration loading: YAML files for structure, ``ALPR_*`` environment for endpoints and secrets.

Each entry point has a root model (a :class:`AlprSettings`) listing the YAML files it reads. Files are
deep-merged in order, then environment variables override (``ALPR_KAFKA__BOOTSTRAP_SERVERS=...``),
then pydantic validates. Errors come back as :class:`ConfigError` with one readable line per problem,
naming the field path and the file it came from; entry points print them and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import yaml
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

logger = logging.getLogger(__name__)

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


class ConfigError(Exception):
    """Invalid configuration; ``errors`` holds one human-readable line per problem."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


_YAML_DATA: ContextVar[dict[str, Any] | None] = ContextVar("alpr_yaml_data", default=None)


class YamlDataSource(PydanticBaseSettingsSource):
    """The merged YAML files of the load in progress (see :func:`load_config`)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return (_YAML_DATA.get() or {}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_YAML_DATA.get() or {})


class AlprSettings(BaseSettings):
    """Root of an entry point's configuration. Subclasses set ``config_files``."""

    model_config = SettingsConfigDict(env_prefix="ALPR_", env_nested_delimiter="__", extra="forbid",
                                      validate_assignment=True, nested_model_default_partial_update=True)
    config_files: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit arguments in code, then the environment (endpoints, secrets), then the YAML files.
        return init_settings, env_settings, YamlDataSource(settings_cls)


T = TypeVar("T", bound=AlprSettings)


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``; nested mappings merge, everything else replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from exc
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: the top level must be a mapping of sections, got {type(data).__name__}"])
    return data


def resolve_files(model: type[AlprSettings], sources: Iterable[str | Path]) -> list[Path]:
    """A directory stands for the model's ``config_files`` found in it; a file stands for itself."""
    files: list[Path] = []
    for src in sources:
        path = Path(src)
        if path.is_dir():
            files.extend(path / name for name in model.config_files if (path / name).is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError([f"{path}: no such config file or directory"])
    return files


def _format_error(err: Mapping[str, Any], origins: Mapping[str, str]) -> str:
    loc = [str(p) for p in err.get("loc", ())]
    path = ".".join(loc) or "(root)"
    origin = origins.get(loc[0], "environment or defaults") if loc else "config"
    msg = str(err.get("msg", "invalid"))
    if err.get("type") == "extra_forbidden":
        msg = "unknown key (check the spelling; see docs/configuration.md)"
    value = err.get("input")
    shown = "" if isinstance(value, (dict, list)) or value is None else f" (got {value!r})"
    return f"{path}: {msg}{shown} [{origin}]"


def load_config(model: type[T], sources: Sequence[str | Path] | None = None) -> T:
    """Load ``model`` from YAML ``sources`` (default: ``$ALPR_CONFIG_DIR`` or ./config) and the environment."""
    if not sources:
        sources = [os.environ.get("ALPR_CONFIG_DIR", str(DEFAULT_CONFIG_DIR))]
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for path in resolve_files(model, sources):
        data = _read_yaml(path)
        merged = deep_merge(merged, data)
        origins.update({key: path.name for key in data})
    token = _YAML_DATA.set(merged)
    try:
        return model()
    except ValidationError as exc:
        raise ConfigError([_format_error(e, origins) for e in exc.errors()]) from None
    finally:
        _YAML_DATA.reset(token)


def add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", action="append", metavar="PATH",
                        help="config directory or YAML file (repeatable; default $ALPR_CONFIG_DIR or ./config)")
    parser.add_argument("--validate-config", action="store_true",
                        help="validate the configuration, print the result and exit (0 valid, 2 invalid)")


def load_or_exit(model: type[T], args: argparse.Namespace) -> T:
    """Load the config for an entry point; on error print every problem and exit 2.

    With ``--validate-config`` a valid config prints a summary and exits 0.
    """
    try:
        cfg = load_config(model, args.config)
    except ConfigError as exc:
        print(f"invalid configuration ({len(exc.errors)} error(s)):", file=sys.stderr)
        for line in exc.errors:
            print(f"  - {line}", file=sys.stderr)
        raise SystemExit(2) from None
    if getattr(args, "validate_config", False):
        print(f"configuration OK: {model.__name__} from {', '.join(map(str, args.config or ['config/']))}")
        raise SystemExit(0)
    return cfg
