"""dealcli's gettext catalogue (docs/i18n.md): extract every message (pybabel's extraction with
babel.cfg and the keywords below), merge them into each locale's .po (new ones untranslated,
gone ones dropped) and compile the .mo shipped in the wheel. `make messages` runs it;
tests/test_i18n.py extracts the same way and fails on a message without a translation.

    python scripts/messages.py            # extract, update and compile
    python scripts/messages.py --check    # list the untranslated messages, exit 1 if any
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "dealcli" / "locale"
# The marking functions (dealcli/i18n.py) and X.about(fields, template): the template is a message.
# i18n.Text(template, ...) and i18n.Nn_(singular, plural) mark messages too; problems.problem(fields,
# template) and Unknown(fields, template, ...) take a template as X.about does.
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "about": (2,), "Text": (1,),
            "Nn_": (1, 2), "problem": (2,), "Unknown": (2,)}


def extract():
    """Every message of dealcli as a Babel catalogue (the template, no translations)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    sys.path.insert(0, str(ROOT))  # babel.cfg's extract_help imports this checkout's dealcli
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    catalog = Catalog(project="dealcli", fuzzy=False)
    for _file, _line, message, comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        catalog.add(message, None, auto_comments=comments, context=context)
    return catalog


def po_path(locale: str) -> Path:
    return LOCALES / locale / "LC_MESSAGES" / "dealcli.po"


def untranslated(template, catalogue) -> list[str]:
    """The messages of `template` that `catalogue` (a locale's .po) does not translate."""
    missing = []
    for m in template:
        if not m.id:
            continue
        found = catalogue.get(m.id, context=m.context)
        strings = found.string if found is not None else None
        if isinstance(strings, (list, tuple)):
            strings = all(strings) and strings
        if found is None or found.fuzzy or not strings:
            missing.append(m.id[0] if isinstance(m.id, (list, tuple)) else m.id)
    return missing


def main(argv: list[str]) -> int:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po, write_po

    template = extract()
    locales = sorted(p.name for p in LOCALES.iterdir() if (p / "LC_MESSAGES").is_dir())
    if "--check" in argv:
        bad = 0
        for locale in locales:
            with po_path(locale).open("rb") as f:
                for text in untranslated(template, read_po(f, locale=locale)):
                    print(f"{locale}: untranslated: {text!r}")
                    bad += 1
        return 1 if bad else 0
    with (LOCALES / "dealcli.pot").open("wb") as f:
        write_po(f, template, width=0, no_location=True, omit_header=True, sort_output=True)
    for locale in locales:
        with po_path(locale).open("rb") as f:
            catalogue = read_po(f, locale=locale)
        catalogue.update(template, no_fuzzy_matching=True)
        catalogue.obsolete.clear()
        with po_path(locale).open("wb") as f:
            write_po(f, catalogue, width=0, no_location=True, sort_output=True)
        with po_path(locale).with_suffix(".mo").open("wb") as f:
            write_mo(f, catalogue)
        missing = untranslated(template, catalogue)
        print(f"{locale}: {len(template)} messages, {len(missing)} untranslated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
