"""Repository lists of deal types, sources and lost reasons (issue 26 item 6, in part): values out
of the list are refused with a "did you mean" (exit 2); any case is stored as the list spells it;
without a list any text is kept, as before."""

from __future__ import annotations

from dealcli.storage import yamlcodec


def lists(repo):
    with open(repo / "dealcli.yaml", "a") as f:
        f.write("deal_types: [sale, service]\nsources: [web, phone, partner]\n"
                "lost_reasons: [Too expensive, No budget]\n")


def load(repo, deal_id):
    return yamlcodec.loads((repo / "deals" / f"{deal_id}.yaml").read_bytes(), "x")


def test_without_lists_any_text_is_kept(cli, repo):
    deal = cli.ok("deal", "add", "D", "--type", "sael", "--source", "whatever").strip()
    assert (load(repo, deal)["type"], load(repo, deal)["source"]) == ("sael", "whatever")


def test_values_must_come_from_the_repository_lists(cli, repo):
    lists(repo)
    proc = cli("deal", "add", "D", "--type", "sael")
    assert proc.returncode == 2
    assert proc.stderr == ("dealcli: error: --type 'sael': not one of the repository's deal types (did you mean "
                           "'sale'?) (dealcli.yaml deal_types: sale, service)\n")
    assert not list((repo / "deals").glob("*.yaml"))
    deal = cli.ok("deal", "add", "D", "--type", "SALE", "--source", " Web ").strip()
    assert (load(repo, deal)["type"], load(repo, deal)["source"]) == ("sale", "web")
    proc = cli("deal", "edit", deal, "--set", "source=fone")
    assert proc.returncode == 2 and "did you mean 'phone'" in proc.stderr
    proc = cli("deal", "close", deal, "--lost", "--reason", "too expensiv")
    assert proc.returncode == 2 and "--reason 'too expensiv'" in proc.stderr and "'Too expensive'" in proc.stderr
    cli.ok("deal", "close", deal, "--lost", "--reason", "no BUDGET")
    closed = load(repo, deal)
    assert closed["lost_reason"] == "No budget" and closed["history"][-1]["reason"] == "No budget"
    other = cli.ok("deal", "add", "E").strip()
    assert cli("deal", "move", other, "lose", "--reason", "nope").returncode == 2
    assert cli.ok("check") == ""
