"""``python -m cliprobust.simulate``: the same as ``cliprobust simulate``."""

import argparse
import sys

from . import __doc__ as _doc
from . import add_arguments, main

_parser = argparse.ArgumentParser(prog="cliprobust simulate", description=(_doc or "").split("\n\n")[0])
add_arguments(_parser)
sys.exit(main(_parser.parse_args()))
