"""Every line of README.md's tour runs, in order, on the example repository, through the
installed `dealcli` console script in a real shell (bash), as a reader would paste them. A line
meant to fail says `(exit N)` in its comment; any other exit, or another code than N, fails the
test naming the line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import dealcli_bin

README = Path(__file__).resolve().parent.parent / "README.md"
EXPECTED = re.compile(r"\(exit (\d+)\)")
COMMENT = re.compile(r"\s+#\s.*$")  # a shell comment after the command (not `"#8844CC"`)


def tour_lines(text: str) -> list[tuple[str, int]]:
    """The shell lines of the `## A tour` section's code blocks, each with the exit code its
    comment promises (0 unless it says `(exit N)`)."""
    section = text.split("\n## A tour", 1)[1].split("\n## ", 1)[0]
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            comment = COMMENT.search(line)
            expected = EXPECTED.search(comment.group(0)) if comment else None
            lines.append((line, int(expected.group(1)) if expected else 0))
    return lines


def script(lines: list[tuple[str, int]]) -> str:
    """One bash script running the lines in order (so `cd` and `id=$(...)` carry over), stopping
    at the first line whose exit code is not the promised one."""
    out = ["set -o pipefail"]
    for n, (line, expected) in enumerate(lines, 1):
        out.append(line)
        quoted = line.replace("'", "'\\''")
        out.append(f"rc=$?; if [ $rc -ne {expected} ]; then echo 'README tour line {n} exited '$rc' "
                   f"(expected {expected}): {quoted}' >&2; exit 100; fi")
    return "\n".join(out) + "\n"


def test_tour_lines_are_found_and_marked():
    lines = tour_lines(README.read_text(encoding="utf-8"))
    assert sum(line.startswith("dealcli ") for line, _ in lines) > 30
    assert ('dealcli can alice move:won "$id"' in lines[-2][0]) and lines[-2][1] == 1
    assert tour_lines("\n## A tour\n```sh\ndealcli x --color \"#8844CC\"   # fails (exit 3)\n```\n") == \
        [('dealcli x --color "#8844CC"   # fails (exit 3)', 3)]


@pytest.mark.skipif(not (shutil.which("bash") and shutil.which("git") and shutil.which("jq")),
                    reason="the tour needs bash, git and jq")
def test_every_tour_line_runs_on_the_example_repository(tmp_path):
    pytest.importorskip("sklearn")  # `predict repeat` needs dealcli[predict]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEALCLI_", "GIT_", "NO_COLOR"))}
    env.update(HOME=str(tmp_path), PATH=f"{Path(dealcli_bin()).parent}{os.pathsep}{env.get('PATH', '')}",
               GIT_CONFIG_NOSYSTEM="1")
    lines = tour_lines(README.read_text(encoding="utf-8"))
    proc = subprocess.run(["bash", "-c", script(lines)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    repo = tmp_path / "my-deals"
    assert (tmp_path / "report.html").exists() and (tmp_path / "agenda.ics").exists()
    assert not (repo / "report.html").exists() and (repo / ".git").is_dir()
