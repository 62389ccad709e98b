"""The built-in feature extractors and metrics, as records (torch-free)."""

from __future__ import annotations

from ganzoo.specs import ExtractorSpec, MetricSpec

INCEPTION_WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
"""The FID Inception weights (pytorch-fid's port of TensorFlow's 2015-12-05 Inception-v3)."""

DIGITS_WEIGHTS_FILE = "digits_extractor.safetensors"
"""The digits classifier shipped in `ganzoo/assets/` (built by `scripts/train_digits_extractor.py`)."""

DEFAULT_EXTRACTOR = "inception-fid"
"""The extractor used when `--extractor` is not given and the data set has no default of its own."""

DATA_DEFAULT_EXTRACTORS: dict[str, str] = {"digits": "digits", "digits-invert": "digits", "digits-colorize": "digits",
                                          "digits-edges": "digits"}
"""Data set name -> the extractor used by default for it (offline defaults for the built-in data)."""

DEFAULT_METRICS: tuple[str, ...] = ("fid", "kid")
"""What `ganzoo eval` computes when `--metric` is not given."""


def default_extractor_for(data_name: str) -> str:
    """The extractor `ganzoo eval` uses for a data set when `--extractor` is not given."""
    return DATA_DEFAULT_EXTRACTORS.get(data_name, DEFAULT_EXTRACTOR)


def builtin_extractors() -> list[ExtractorSpec]:
    """Every feature extractor the core provides (`timm:NAME` is handled by the metrics package)."""
    return [
        ExtractorSpec(
            "inception-fid",
            "FID Inception-v3 (TensorFlow 2015-12-05 weights via pytorch-fid), 2048-d pool features, 299x299 bilinear.",
            "ganzoo.metrics.extractors.inception:build",
            feature_dim=2048,
            input_size=299,
            weights_file=INCEPTION_WEIGHTS_FILE,
        ),
        ExtractorSpec(
            "digits",
            "Small CNN trained on scikit-learn's digits (shipped, offline), 64-d features, 16x16 gray.",
            "ganzoo.metrics.extractors.digits:build",
            feature_dim=64,
            input_size=16,
            weights_file=DIGITS_WEIGHTS_FILE,
        ),
    ]


def builtin_metrics() -> list[MetricSpec]:
    """Every metric the core provides."""
    return [
        MetricSpec("fid", "Fréchet distance between Gaussian fits of real and generated features (lower is better).",
                   "ganzoo.metrics.frechet:compute_fid"),
        MetricSpec("kid", "Kernel Inception Distance: unbiased MMD^2, cubic polynomial kernel, mean and std over subsets.",
                   "ganzoo.metrics.kid:compute_kid"),
        MetricSpec("is", "Inception Score: exp(E KL(p(y|x) || p(y))) over splits, from the extractor's classifier.",
                   "ganzoo.metrics.inception_score:compute_is", higher_is_better=True),
        MetricSpec("pr", "Precision and recall of k-NN feature manifolds (Kynkäänniemi et al. 2019).",
                   "ganzoo.metrics.precision_recall:compute_pr", higher_is_better=True),
        MetricSpec("class_acc", "Class consistency: accuracy of the extractor's classifier on conditional samples.",
                   "ganzoo.metrics.conditional:compute_class_acc", needs_labels=True, higher_is_better=True),
        MetricSpec("intra_fid", "Intra-class FID: mean over classes of FID between same-class samples and data.",
                   "ganzoo.metrics.conditional:compute_intra_fid", needs_labels=True),
        MetricSpec("coverage", "Class coverage: total-variation distance of the samples' classes to the reference's "
                   "(coverage_tv) and the rarest class's share (coverage_min, higher is better).",
                   "ganzoo.metrics.coverage:compute_coverage"),
    ]
