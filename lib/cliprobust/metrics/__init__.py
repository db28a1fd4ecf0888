"""Pure metric functions of numpy arrays / pandas DataFrames (no torch, no file I/O).

Modules (import the one you need; this package imports none of them):

- ``robustness`` — accuracy on class subsets (ImageNet-R/-A, ObjectNet), effective robustness
  (Taori et al. 2020; Fang et al. 2022): logit-space baseline fit, ER, bootstrap CIs, tidy tables.
- ``factors`` — ImageNet-X (Idrissi et al. 2022): per-factor accuracy, error ratio, factor-level
  effective robustness (Tu et al. 2023).
- ``shape_bias`` — cue-conflict shape bias (Geirhos et al. 2019; model-vs-human 16-class mapping).
- ``ood`` — OOD-detection scores and metrics.
- ``calibration`` — ECE, NLL, temperature scaling.
- ``features`` — representation statistics (outlier features, kurtosis).
"""
