"""cliprobust: reproducible robustness studies of CLIP vs ImageNet models.

Modules, one concept each: ``paths`` (where files live), ``fetch`` (pinned data),
``published`` (published per-model tables as tidy DataFrames), ``zoo`` (the paper's 210
models), ``datasets``, ``prompts``, ``inference`` and ``cache`` (per-sample outputs),
``metrics.*`` (pure metric functions), ``plots``, ``cli``.
"""

__version__ = "0.1.0"
