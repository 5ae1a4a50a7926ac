"""docs/from-bitrix24.md (issue 26): the page mapping the reference CRM's deal features to commands
names only commands that exist, and says plainly what is not offered."""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).resolve().parent.parent / "docs" / "from-bitrix24.md"


def test_every_command_the_page_names_exists(cli):
    text = PAGE.read_text()
    named = set(re.findall(r"`dealcli ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", text))
    assert len(named) > 15
    for group, sub in sorted(named):
        args = [group, sub, "--help"] if sub else [group, "--help"]
        proc = cli(*args)
        assert proc.returncode == 0, (args, proc.stderr)


def test_what_is_not_offered_is_said_plainly():
    text = PAGE.read_text()
    assert "## Not offered" in text
    for thing in ("mobile app", "Russian interface", "sales plan"):
        assert thing in text
