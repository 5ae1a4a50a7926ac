"""Shell completion of ids, stages, pipelines, presets and users (Typer `autocompletion=`
callbacks). They read the repository cheaply (file names, small YAML files) and never fail:
any problem completes nothing."""

from __future__ import annotations

import os
from pathlib import Path


def _root(ctx) -> Path | None:
    try:
        from dealcli.storage.repository import find_root

        top = ctx.find_root() if ctx is not None else None
        given = (top.params.get("dir") if top is not None else None) or None
        return find_root(given)
    except Exception:  # noqa: BLE001 - completion never fails
        return None


def _ids(ctx, folder: str, incomplete: str) -> list[str]:
    root = _root(ctx)
    if root is None:
        return []
    from dealcli.storage import layout

    width = layout.shard_width(_yaml(root / layout.CONFIG_NAME)) if folder in layout.SHARDED else 0
    try:  # flat or sharded (deals/ab/<id>.yaml)
        return sorted({i for i, _sub, _entry in layout.scan(root / folder, folder, width, incomplete or "")})
    except OSError:
        return []


def _yaml(path: Path):
    try:
        import yaml

        with open(path, encoding="utf-8") as fh:
            if os.fstat(fh.fileno()).st_size > 1_000_000:
                return None
            return yaml.safe_load(fh)
    except Exception:  # noqa: BLE001
        return None


def _match(values, incomplete: str) -> list[str]:
    low = (incomplete or "").lower()
    return [v for v in dict.fromkeys(values) if v.lower().startswith(low)]


def deal_ids(ctx, incomplete: str) -> list[str]:
    return _ids(ctx, "deals", incomplete)


def activity_ids(ctx, incomplete: str) -> list[str]:
    return _ids(ctx, "activities", incomplete)


def pipelines(ctx, incomplete: str) -> list[str]:
    return _ids(ctx, "pipelines", incomplete)


def stages(ctx, incomplete: str) -> list[str]:
    """Stage ids of the pipeline given with --pipeline, else of every pipeline."""
    root = _root(ctx)
    if root is None:
        return []
    wanted = None
    try:
        wanted = ctx.params.get("pipeline")
    except Exception:  # noqa: BLE001
        wanted = None
    out = []
    for pid in _ids(ctx, "pipelines", ""):
        if wanted and pid != wanted:
            continue
        data = _yaml(root / "pipelines" / f"{pid}.yaml")
        for st in (data or {}).get("stages") or [] if isinstance(data, dict) else []:
            if isinstance(st, dict) and st.get("id"):
                out.append(str(st["id"]))
    return _match(out, incomplete)


def presets(ctx, incomplete: str) -> list[str]:
    from dealcli.query import PRESETS

    names = list(PRESETS)
    root = _root(ctx)
    config = _yaml(root / "dealcli.yaml") if root is not None else None
    if isinstance(config, dict) and isinstance(config.get("filters"), dict):
        names += [str(k) for k in config["filters"]]
    return _match(names, incomplete)


def users(ctx, incomplete: str) -> list[str]:
    root = _root(ctx)
    config = _yaml(root / "dealcli.yaml") if root is not None else None
    names = []
    if isinstance(config, dict):
        if isinstance(config.get("users"), dict):
            names += [str(k) for k in config["users"]]
        if config.get("default_user"):
            names.append(str(config["default_user"]))
    return _match(names, incomplete)
