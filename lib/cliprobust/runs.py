"""The run of a notebook: its profile and its section's protocol options (the ``parameters`` cell).

Bottom layer (imports nothing of the package): :mod:`cliprobust.plots` and every section take a
:class:`Run` explicitly, so the run never reaches code through module state.

- :class:`Options` is the base of every section's frozen ``Options`` dataclass: the notebook's
  protocol parameters with their defaults and docstrings. ``Options.from_params`` rejects an unknown
  option name (naming the close ones, as the CLI does for model ids) and a value outside a field's
  declared choices, so a misspelt option never falls back silently to its default.
- :class:`Run` holds the profile (``published``, ``smoke``, ``full``, ``rehearsal``), the options,
  and the banner that every figure, table and printed number of a non-result run carries.
"""

from __future__ import annotations

import difflib
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any, ClassVar, Mapping, TypeVar

#: Notebook profiles: ``published`` (real published tables, no caches), ``smoke`` (engine with
#: random-init tiny models on the shipped images), ``full`` (the paper zoo's caches of real
#: weights), ``rehearsal`` (the full profile on synthetic caches written by ``cliprobust simulate``).
PROFILES: tuple[str, ...] = ("published", "smoke", "full", "rehearsal")
#: Profiles whose figures are checked strictly (a broken layout rule fails): the committed ones.
COMMITTED_PROFILES: tuple[str, ...] = ("published", "smoke")

#: Banners stamped on every figure/table and printed with every number that is not a result.
RANDOM_WEIGHTS_BANNER = "random weights — pipeline check, not a result"
SYNTHETIC_BANNER = "synthetic outputs (cliprobust simulate) — rehearsal at scale, not a result"

O = TypeVar("O", bound="Options")


class UnknownOptionError(TypeError):
    """A notebook parameter that no option of the section has (the message names the close ones)."""


def _close(name: str, known: list[str]) -> str:
    near = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    return f"did you mean {', '.join(near)}? " if near else ""


@dataclass(frozen=True)
class Options:
    """Base of a section's protocol options (a frozen dataclass of plain, hashable values).

    A subclass declares its fields with defaults and, for fields with a closed vocabulary, the
    allowed values in ``CHOICES`` (field name -> tuple of values); a value outside them raises.
    """

    CHOICES: ClassVar[Mapping[str, tuple[Any, ...]]] = {}

    def __post_init__(self) -> None:
        for name, allowed in self.CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"{type(self).__qualname__}.{name}={value!r} is not one of {allowed}")

    @classmethod
    def names(cls) -> list[str]:
        """The option names of this section."""
        return [f.name for f in fields(cls)]

    @classmethod
    def from_params(cls: type[O], **params: Any) -> O:
        """Options from a ``parameters`` cell: ``None`` means the section default; an unknown name
        raises :class:`UnknownOptionError` naming the close names and every known one."""
        known = cls.names()
        for name in params:
            if name not in known:
                raise UnknownOptionError(f"{cls.__module__}.{cls.__qualname__} has no option {name!r}; "
                                         f"{_close(name, known)}options: {', '.join(known) or 'none'}")
        return cls(**{k: v for k, v in params.items() if v is not None})

    def but(self: O, **changes: Any) -> O:
        """The same options with some replaced (how a claim evaluates a variant); names checked."""
        type(self).from_params(**changes)  # validates the names
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """Plain mapping of every option (for run banners and cache metadata)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def changed(self) -> dict[str, Any]:
        """The options that differ from the section defaults."""
        out = {}
        for f in fields(self):
            default = f.default if f.default is not MISSING else (
                f.default_factory() if f.default_factory is not MISSING else MISSING)
            if getattr(self, f.name) != default:
                out[f.name] = getattr(self, f.name)
        return out


@dataclass(frozen=True)
class Run:
    """One notebook run: the profile plus the section's :class:`Options` (hashable, so results can
    be memoized per run)."""

    profile: str = "published"
    options: Options = field(default_factory=Options)

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r}; choose one of {PROFILES}")
        if not isinstance(self.options, Options):
            raise TypeError(f"Run.options must be an Options dataclass, not {type(self.options).__name__}")

    @classmethod
    def from_params(cls, profile: str = "published", options: type[Options] = Options, **params: Any) -> "Run":
        """The run of a ``parameters`` cell: ``Run.from_params(profile, sec.Options, score=score, ...)``."""
        return cls(profile=profile, options=options.from_params(**params))

    def options_for(self, options: type[O]) -> O:
        """This run's options as the section type ``options``: the run's own when they are of that
        type, the section defaults when the run carries none (the base, or a section without
        options such as the claims checklist); another section's options raise."""
        if isinstance(self.options, options):
            return self.options
        if not fields(self.options):  # the base, or a section without options (the claims checklist)
            return options()
        raise TypeError(f"this run carries {type(self.options).__qualname__}, not {options.__qualname__}")

    def with_options(self, options: Options) -> "Run":
        """The same profile with other options (how a section evaluates a variant)."""
        return replace(self, options=options)

    @property
    def random_weights(self) -> bool:
        """Outputs come from random-init models (pipeline check only)."""
        return self.profile == "smoke"

    @property
    def synthetic(self) -> bool:
        """Outputs come from synthetic caches (``cliprobust simulate``)."""
        return self.profile == "rehearsal"

    @property
    def uses_caches(self) -> bool:
        """The cache-driven parts of the sections run (anything but ``published``)."""
        return self.profile != "published"

    @property
    def real_results(self) -> bool:
        """Printed numbers are results (published data, or caches of real weights)."""
        return not (self.random_weights or self.synthetic)

    @property
    def strict_layout(self) -> bool:
        """A broken figure layout rule fails the run (committed profiles) instead of a loud warning."""
        return self.profile in COMMITTED_PROFILES

    @property
    def banner(self) -> str | None:
        """The warning every figure, table and print of this run carries, or None for real results."""
        if self.random_weights:
            return RANDOM_WEIGHTS_BANNER
        return SYNTHETIC_BANNER if self.synthetic else None

    def say(self) -> str:
        """One line for the notebook's first output: which profile, changed options, the banner."""
        changed = self.options.changed()
        head = f"profile {self.profile!r}" + (f", options {changed}" if changed else "")
        return head + (f" — {self.banner.upper()}" if self.banner else "")
