"""Docs are part of the feature: the CLI reference matches --help, every command has help text,
and every exit code is documented."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _gen():
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts" / "gen_cli_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_command_has_help_text():
    missing = []
    for path, cmd, _ in _gen().iter_help():
        if not (cmd.help or "").strip():
            missing.append(" ".join(path))
        for param in cmd.params:
            if getattr(param, "param_type_name", "") == "option" and not (param.help or "").strip() \
                    and param.name not in ("help", "install_completion", "show_completion"):
                missing.append(f"{' '.join(path)} {param.opts[0]}")
    assert missing == []


def test_cli_reference_is_up_to_date():
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == _gen().render(), "docs/cli.md is stale: run `make docs`"


def test_exit_codes_documented():
    text = (ROOT / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    for code in ("0", "1", "2", "3", "4", "5"):
        assert f"| {code} |" in text


def test_schemas_are_valid_and_example_files_conform(tmp_path):
    import json

    import jsonschema
    import yaml

    from dealcli import repo_init

    for path in (ROOT / "schemas").glob("*.schema.json"):
        schema = json.loads(path.read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
    repo_init.init(tmp_path / "r", timezone="UTC")
    pipe = yaml.safe_load((tmp_path / "r" / "pipelines" / "sales.yaml").read_text())
    from dealcli.validation import schemas

    assert list(schemas.validator("pipeline").iter_errors(pipe)) == []
