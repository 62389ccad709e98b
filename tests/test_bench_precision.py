"""benchmarks/precision.py's table: what each variant ran as, and the issue's targets judged from the figures."""

from __future__ import annotations


def _variant(mode: str, seconds: float, *, channels_last: bool = False, products: bool = False) -> dict:
    return {"mode": mode, "channels_last": channels_last, "product_grads": products, "step_seconds": seconds,
            "images_per_s": 64 / seconds, "compile_seconds": 0.0, "gflops": 145.6 / seconds,
            "of_peak": 145.6 / seconds / 1600}


def test_the_table_says_how_each_variant_ran_and_judges_the_targets():
    from benchmarks.precision import markdown

    dcgan = {"label": "dcgan", "variants": {
        "fp32": {**_variant("fp32", 1.0), "vs_fp32": 1.0},
        "bf16 channels-last": {**_variant("bf16", 0.4, channels_last=True), "vs_fp32": 2.5},
        "auto": {**_variant("bf16", 0.25, channels_last=True, products=True), "vs_fp32": 4.0},
    }}
    cyclegan = {"label": "cyclegan", "variants": {"fp32": {**_variant("fp32", 3.0), "vs_fp32": 1.0},
                                                  "auto": {**_variant("bf16", 1.5, channels_last=True), "vs_fp32": 2.0}}}
    results = {"auto": {"mode": "bf16", "reason": "bf16 measured 1.4x"}, "quick": False,
               "peak_fp32": {"gflops": 200.0, "size": 1024}, "peak_bf16": {"gflops": 1600.0, "size": 1024},
               "models": {"dcgan": dcgan, "cyclegan": cyclegan}}
    machine = {"cpu": "Some CPU", "cores": 2, "cpu_flags": ["amx_bf16"], "torch": "2.x", "threads": 2,
               "load_average": (0.1,)}
    text = markdown(results, machine, "today")
    assert "| auto | bf16, channels-last, product weight grads | 250 ms |" in text
    assert "| bf16 channels-last | bf16, channels-last | 400 ms |" in text
    assert "| dcgan: auto / fp32 images/s | >= 3.5x | 4.00x | yes |" in text
    assert "| cyclegan: auto / fp32 images/s | >= 2.5x | 2.00x | no |" in text
    assert "| dcgan: auto, fraction of the bf16 matmul peak | >= 40% | 36% | no |" in text
    assert "Provisional" not in text
