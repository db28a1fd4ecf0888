"""``cliprobust card``: a model card from a results row or from one model's caches.

    cliprobust card --results my_model.csv [--name N] [--group G] [--out DIR]
    cliprobust card --models 'open_clip:ARCH/TAG' [--group G] [--out DIR]

The results path reads published tables only and imports no torch (a few seconds); a rejected
table exits with status 2, lists every problem by row and column and writes nothing. The caches path
reads :func:`cliprobust.outputs.load` and names the ``cliprobust evaluate`` command of every
missing pair. The work is :mod:`cliprobust.sections.your_model`'s; this module only parses and prints.
"""

from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``card`` on the ``cliprobust`` subcommands."""
    p = sub.add_parser("card", help="model card of your model: from a results row or from its caches",
                       description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--results", help="results table (CSV, one row per model; columns in docs and README)")
    src.add_argument("--models", help="comma-separated open_clip/timm ids whose caches to read")
    p.add_argument("--name", help="only this row of the results table")
    p.add_argument("--group", help="zoo group the model belongs to (clip-zeroshot, clip-ft, imagenet, other)")
    p.add_argument("--baseline", default=None, help="baseline line of the ER section (default: the claims')")
    p.add_argument("--out", help="output folder (default: figures/cards)")
    p.set_defaults(func=cmd_card)


def _print_card(card, written: list, missing: list[str]) -> None:
    er = card.er.set_index("shift")
    print(f"{card.row.name} ({card.row.group})")
    for shift, r in er.iterrows():
        print(f"  ER {shift:16s} {r['er']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}]")
    for r in card.ranks.itertuples():
        if r.rank:
            print(f"  rank among the zoo's {r.population} ({r.shift}): {r.rank} of {r.of}")
    for j in card.joins.itertuples():
        print(f"  {j.claim}: {'joins' if j.joins else 'does not join'} {j.population}; moves: {j.moves}")
    for note in (*card.notes, *missing):
        print(f"  note: {note}")
    print(f"  wrote {len(written)} files under {written[0].parent if written else '-'}")


def _rows(args: argparse.Namespace) -> list[tuple[object, list[str]]]:
    from .sections.your_model import caches, schema

    if args.results:
        return [(r, []) for r in schema.read_results(args.results, args.name, args.group)]
    out = []
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        row, missing = caches.row_from_caches(model, args.group)
        if row is None:
            raise LookupError("\n".join(missing))
        out.append((row, missing))
    return out


def cmd_card(args: argparse.Namespace) -> int:
    """Build and write the card of every selected row."""
    from .sections.your_model import Options, card, schema

    opts = Options(baseline=args.baseline) if args.baseline else Options()
    try:
        rows = _rows(args)
    except schema.ResultsError as exc:
        print(f"cliprobust card: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LookupError as exc:
        print(f"cliprobust card: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for row, missing in rows:
        c = card.build_card(row, opts.er_options())
        c = card.Card(**{**c.__dict__, "notes": (*c.notes, *missing)}) if missing else c
        _print_card(c, card.write_card(c, args.out, opts.er_options()), [])
    return EXIT_OK
