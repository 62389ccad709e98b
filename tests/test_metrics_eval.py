"""Evaluation end to end: reference-statistics cache, protocol stamps and their check, generators
(conditional and a trained toy model), and `ganzoo eval` as a user runs it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.errors import GanzooError
from ganzoo.testing.kit import run_cli


@pytest.fixture(scope="module")
def digits():
    from ganzoo.data import DataOptions, resolve_data

    return resolve_data("digits", DataOptions(image_size=32, channels=1))


def held_out(source, count=None):
    n = len(source.test) if count is None else count
    batch = source.test.get_batch([(i, 0) for i in range(n)])
    return batch["image"], batch["label"]


def write_pngs(folder: Path, images: torch.Tensor, labels: torch.Tensor | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        array = ((image[0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
        suffix = f"-label{int(labels[i])}" if labels is not None else ""
        Image.fromarray(array, "L").save(folder / f"{i:05d}{suffix}.png")
    return folder


def test_reference_statistics_are_cached_on_disk_and_in_memory(digits, ganzoo_home):
    from ganzoo.metrics import reference
    from ganzoo.metrics.evaluate import evaluate_batches

    reference.clear_memory_cache()
    images, _ = held_out(digits, 400)
    before = reference.cache_hits()
    first = evaluate_batches([(images, None)], digits, "fid,kid", extractor="digits")
    files = sorted((ganzoo_home / "stats").glob("*.npz"))
    assert len(files) == 1
    sidecar = json.loads(files[0].with_suffix(".json").read_text())
    assert sidecar["count"] == 901 and sidecar["split"] == "train" and sidecar["extractor"] == "digits"
    assert sidecar["data_fingerprint"] == digits.fingerprint and sidecar["image_size"] == [32, 32]

    second = evaluate_batches([(images, None)], digits, "fid,kid", extractor="digits")  # from memory
    reference.clear_memory_cache()
    third = evaluate_batches([(images, None)], digits, "fid,kid", extractor="digits")  # from disk
    after = reference.cache_hits()
    assert after["computed"] - before["computed"] == 1
    assert after["memory"] - before["memory"] == 1
    assert after["disk"] - before["disk"] == 1
    assert first.values == second.values == third.values

    # Anything the statistics depend on gives a new entry: here the reference count and the split.
    evaluate_batches([(images, None)], digits, "fid", extractor="digits", n_ref=500)
    evaluate_batches([(images, None)], digits, "fid", extractor="digits", split="test")
    assert len(list((ganzoo_home / "stats").glob("*.npz"))) == 3


def test_protocol_stamp_and_json_lines(digits, ganzoo_home, tmp_path):
    from ganzoo import __version__
    from ganzoo.metrics.evaluate import evaluate_batches
    from ganzoo.metrics.extractors.digits import shipped_weights
    from ganzoo.metrics.protocol import append_jsonl, read_jsonl

    images, _ = held_out(digits, 300)
    result = evaluate_batches([(images[:150], None), (images[150:], None)], digits, ["fid", "is"],
                              extractor="digits", seed=7)
    p = result.protocol
    assert p["extractor"] == "digits"
    assert p["extractor_weights_sha256"] == hashlib.sha256(shipped_weights().read_bytes()).hexdigest()
    assert "bilinear" in p["resizer"] and p["extractor_input_size"] == 16
    assert p["image_size"] == [32, 32] and p["channels"] == 1
    assert p["n_fake"] == 300 and p["n_ref"] == 901 and p["ref_split"] == "train"
    assert p["ref_fingerprint"] == digits.fingerprint and p["seed"] == 7
    assert p["ganzoo_version"] == __version__ and "ganzoo-core" in p["plugin_versions"]
    assert set(result.values) == {"fid", "is", "is_std"}
    assert result.higher_is_better == {"fid": False, "is": True, "is_std": False}
    assert 1.0 < result.values["is"] <= 10.0

    out = tmp_path / "results.jsonl"
    append_jsonl(out, result)
    append_jsonl(out, result)
    lines = out.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["values"]["fid"] == result.values["fid"]
    loaded = read_jsonl(out)
    assert loaded[0].values == result.values and loaded[0].protocol == json.loads(json.dumps(p))
    assert loaded[0].higher_is_better == result.higher_is_better


def test_results_with_different_protocols_are_not_compared(digits, ganzoo_home):
    from ganzoo.metrics.evaluate import evaluate_batches
    from ganzoo.metrics.protocol import check_comparable

    images, _ = held_out(digits, 300)
    a = evaluate_batches([(images, None)], digits, "fid", extractor="digits", seed=0)
    b = evaluate_batches([(images, None)], digits, "fid", extractor="digits", seed=1)
    check_comparable([a, b])  # another seed is the same protocol
    fewer = evaluate_batches([(images[:200], None)], digits, "fid", extractor="digits")
    with pytest.raises(GanzooError, match="'n_fake' differs"):
        check_comparable([a, fewer])
    other_split = evaluate_batches([(images, None)], digits, "fid", extractor="digits", split="test")
    with pytest.raises(GanzooError, match="protocol field"):
        check_comparable([a, other_split])


def test_conditional_metrics_with_labels_for(digits, ganzoo_home):
    from ganzoo.metrics.evaluate import evaluate_generator

    images, labels = held_out(digits)
    by_class = {c: images[labels == c] for c in range(10)}

    def pick(n, seed, shuffle_labels):
        g = torch.Generator().manual_seed(seed)
        wanted = torch.arange(n) % 10
        out = torch.stack([by_class[int(c)][int(torch.randint(len(by_class[int(c)]), (1,), generator=g))]
                           for c in wanted])
        claimed = (wanted + 1) % 10 if shuffle_labels else wanted
        return out, claimed

    good = evaluate_generator(lambda n, s: pick(n, s, False)[0], digits, "class_acc,intra_fid", n=500,
                              extractor="digits", labels_for=lambda n, s: pick(n, s, False)[1])
    wrong = evaluate_generator(lambda n, s: pick(n, s, True), digits, "class_acc,intra_fid", n=500,
                               extractor="digits")
    assert good.values["class_acc"] > 0.97 and wrong.values["class_acc"] < 0.05
    assert good.values["intra_fid"] * 5 < wrong.values["intra_fid"]
    assert {f"intra_fid/{c}" for c in range(10)} <= set(good.values)
    with pytest.raises(GanzooError, match="needs class labels"):
        evaluate_generator(lambda n, s: pick(n, s, False)[0], digits, "class_acc", n=100, extractor="digits")


def test_evaluate_generator_on_a_trained_toy_model_is_repeatable(toy_registry, tmp_path, ganzoo_home):
    from ganzoo.data import DataOptions, resolve_data
    from ganzoo.engine.inference import load
    from ganzoo.metrics import reference
    from ganzoo.metrics.evaluate import evaluate_generator
    from ganzoo.testing.kit import smoke_train

    smoke_train("toy", tmp_path / "run", steps=6)
    loaded = load(str(tmp_path / "run" / "checkpoints" / "last.safetensors"))
    data = resolve_data("toy-squares", DataOptions(image_size=8, channels=1))
    generate = lambda n, seed: loaded.generate(n, seed=seed)  # noqa: E731
    before = reference.cache_hits()
    first = evaluate_generator(generate, data, ["fid", "kid", "pr"], n=300, extractor="digits", seed=3)
    again = evaluate_generator(generate, data, ["fid", "kid", "pr"], n=300, extractor="digits", seed=3)
    other = evaluate_generator(generate, data, ["fid"], n=300, extractor="digits", seed=4)
    assert first.values == again.values
    assert other.values["fid"] != first.values["fid"]
    assert reference.cache_hits()["computed"] - before["computed"] == 1
    assert first.protocol["n_fake"] == 300 and first.protocol["image_size"] == [8, 8]
    assert all(np.isfinite(v) for v in first.values.values())


def test_cli_eval_folder_json_out_table_and_compare(digits, tmp_path):
    images, labels = held_out(digits, 300)
    folder = write_pngs(tmp_path / "imgs", images, labels)
    env = {"GANZOO_HOME": str(tmp_path / "home")}
    results = tmp_path / "a.jsonl"
    done = run_cli("eval", str(folder), "--data", "digits", "--metric", "fid,kid,class_acc", "--json",
                   "--out", str(results), env=env)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["values"]["fid"] < 2.0 and payload["values"]["class_acc"] > 0.97
    assert payload["protocol"]["extractor"] == "digits" and payload["protocol"]["n_fake"] == 300
    assert payload["source"]["kind"] == "folder"
    assert len(results.read_text().splitlines()) == 1
    assert list((tmp_path / "home" / "stats").glob("*.npz"))

    table = run_cli("eval", str(folder), "--data", "digits", "--metric", "fid,kid", "--out", str(results), env=env)
    assert table.returncode == 0, table.stderr
    assert "fid" in table.stdout and "kid" in table.stdout and "protocol: extractor digits" in table.stdout
    assert len(results.read_text().splitlines()) == 2

    same = run_cli("eval", "--compare", str(results), env=env)
    assert same.returncode == 0, same.stderr
    assert same.stdout.count("imgs") >= 2

    fewer = tmp_path / "b.jsonl"
    assert run_cli("eval", str(folder), "--data", "digits", "--n", "100", "--out", str(fewer), env=env).returncode == 0
    refused = run_cli("eval", "--compare", str(results), "--compare", str(fewer), env=env)
    assert refused.returncode != 0
    assert refused.stderr.startswith("Error: cannot compare") and "'n_fake' differs (300 vs 100)" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr


def test_cli_eval_refuses_inception_offline_without_weights(digits, tmp_path):
    folder = write_pngs(tmp_path / "imgs", held_out(digits, 20)[0])
    env = {"GANZOO_HOME": str(tmp_path / "home"), "GANZOO_OFFLINE": "1", "TORCH_HOME": str(tmp_path / "torch")}
    done = run_cli("eval", str(folder), "--data", "digits", "--extractor", "inception-fid", env=env)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: inception-fid needs its weights")
    assert str(tmp_path / "home" / "weights" / "pt_inception-2015-12-05-6726825d.pth") in lines[0]


def test_cli_eval_one_line_errors(digits, tmp_path):
    folder = write_pngs(tmp_path / "imgs", held_out(digits, 10)[0])
    env = {"GANZOO_HOME": str(tmp_path / "home")}
    unknown = run_cli("eval", str(folder), "--data", "digits", "--metric", "fud", env=env)
    assert unknown.returncode != 0 and "unknown metric 'fud'" in unknown.stderr and "fid" in unknown.stderr
    no_data = run_cli("eval", str(folder), env=env)
    assert no_data.returncode != 0 and "needs --data" in no_data.stderr
    nothing = run_cli("eval", env=env)
    assert nothing.returncode != 0 and "SOURCE" in nothing.stderr


@pytest.mark.slow
def test_cli_eval_checkpoint_of_a_trained_model(toy_env, tmp_path):
    run = tmp_path / "run"
    trained = run_cli("train", "toy", "--out", str(run), "--steps", "10", env=toy_env)
    assert trained.returncode == 0, trained.stderr
    done = run_cli("eval", str(run / "checkpoints" / "last.safetensors"), "--n", "256", "--extractor", "digits",
                   "--metric", "fid,pr", "--json", env=toy_env)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["source"]["model"] == "toy" and payload["source"]["kind"] == "model"
    assert payload["protocol"]["ref_data"] == "toy-squares" and payload["protocol"]["n_fake"] == 256
    assert payload["values"]["fid"] > 0 and 0 <= payload["values"]["precision"] <= 1
    # A run folder works as SOURCE too, and gives the same numbers.
    again = run_cli("eval", str(run), "--n", "256", "--extractor", "digits", "--metric", "fid,pr", "--json",
                    env=toy_env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["values"] == payload["values"]


def test_a_plugin_adds_a_metric_and_an_extractor(digits, ganzoo_home):
    from ganzoo.hookspecs import hookimpl
    from ganzoo.metrics.evaluate import evaluate_batches
    from ganzoo.metrics.extractors import clear_cache
    from ganzoo.specs import ExtractorSpec, MetricSpec
    from ganzoo.testing.kit import isolated_registry

    class ThirdParty:
        @hookimpl
        def ganzoo_register_metrics(self):
            return [MetricSpec("fid_again", "FID under another name", "ganzoo.metrics.frechet:compute_fid")]

        @hookimpl
        def ganzoo_register_extractors(self):
            return [ExtractorSpec("digits_copy", "the digits net again", "ganzoo.metrics.extractors.digits:build",
                                  feature_dim=64, input_size=16)]

    images, _ = held_out(digits, 300)
    clear_cache()
    with isolated_registry(("ganzoo-third-party", ThirdParty())) as registry:
        assert registry.metric("fid_again").plugin == "ganzoo-third-party"
        result = evaluate_batches([(images, None)], digits, "fid_again", extractor="digits_copy")
        builtin = evaluate_batches([(images, None)], digits, "fid", extractor="digits")
    clear_cache()
    assert result.values["fid"] == pytest.approx(builtin.values["fid"])
    assert result.protocol["plugin_versions"]["ganzoo-third-party"] == "0.0.0+test"


def test_cli_eval_list(tmp_path):
    done = run_cli("eval", "--list", "--json", env={"GANZOO_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert {"fid", "kid", "is", "pr", "class_acc", "intra_fid"} <= {m["name"] for m in payload["metrics"]}
    extractors = {e["name"]: e for e in payload["extractors"]}
    assert extractors["inception-fid"]["feature_dim"] == 2048 and extractors["digits"]["input_size"] == 16


def test_a_metric_folder_reads_each_real_class_folder_once(digits, tmp_path):
    from ganzoo.metrics.images import scan_folder

    images = held_out(digits, 6)[0]
    write_pngs(tmp_path / "imgs" / "0", images[:2])
    write_pngs(tmp_path / "imgs" / "1", images[2:6])
    (tmp_path / "imgs" / "2").symlink_to("0")  # read twice, as class 2, before
    (tmp_path / "imgs" / "3").symlink_to(".")
    folder = scan_folder(tmp_path / "imgs")
    assert len(folder) == 6 and folder.labels == [0, 0, 1, 1, 1, 1]


def test_a_copied_reference_folder_hits_the_statistics_cache_and_compares(digits, tmp_path, ganzoo_home):
    import subprocess

    from ganzoo.data import DataOptions, resolve_data
    from ganzoo.metrics.evaluate import evaluate_folder
    from ganzoo.metrics.protocol import check_comparable
    from ganzoo.metrics.reference import clear_memory_cache

    images = held_out(digits, 120)[0]
    fake = write_pngs(tmp_path / "fake", images[:60])
    write_pngs(tmp_path / "ref", images[60:])
    subprocess.run(["cp", "-r", str(tmp_path / "ref"), str(tmp_path / "ref-copy")], check=True)
    results = []
    for ref in ("ref", "ref-copy"):
        clear_memory_cache()
        data = resolve_data(str(tmp_path / ref), DataOptions(image_size=32, channels=1))
        results.append(evaluate_folder(str(fake), data, "fid", extractor="digits"))
    assert len(list((ganzoo_home / "stats").glob("*.npz"))) == 1  # the copy's statistics came from the cache
    assert results[0].values == results[1].values
    check_comparable(results)  # refused before: 'ref_fingerprint' differed


def test_kid_stamps_the_subset_size_it_used(digits, ganzoo_home):
    from ganzoo.metrics.evaluate import evaluate_batches

    images = held_out(digits, 300)[0]
    small = evaluate_batches([(images, None)], digits, "kid", extractor="digits")  # 300 generated, 901 reference
    assert small.protocol["options"]["kid_subset_size"] == 300  # stamped 1000 (the asked size) before
    asked = evaluate_batches([(images, None)], digits, "kid", extractor="digits", options={"kid_subset_size": 100})
    assert asked.protocol["options"]["kid_subset_size"] == 100
    without_kid = evaluate_batches([(images, None)], digits, "fid", extractor="digits")
    assert without_kid.protocol["options"]["kid_subset_size"] == 1000  # no KID: the option as given


def _evaluate(source: str, **options):
    from ganzoo.cli.eval_cmd import evaluate_source

    settings = dict(data_ref=None, metric="fid,kid,pr", n=None, extractor="digits", weights=None, seed=0,
                    split="train", n_ref=None, domain=None, batch_size=256, device="cpu", progress=False)
    return evaluate_source(source, **{**settings, **options})


def test_a_model_scores_as_the_folder_of_its_sampled_pngs(toy_registry, toy_env, tmp_path, ganzoo_home):
    from ganzoo.testing import smoke_train

    smoke_train("toy", tmp_path / "run", steps=4)
    ckpt = str(tmp_path / "run" / "checkpoints" / "last.safetensors")
    pngs = tmp_path / "pngs"
    sampled = run_cli("sample", ckpt, "--seed", "5", "--n", "300", "--out", str(pngs), env=toy_env)
    assert sampled.returncode == 0, sampled.stderr
    by_model = _evaluate(ckpt, n=300, seed=5)  # what `ganzoo eval CKPT --n 300 --seed 5` computes
    by_folder = _evaluate(str(pngs), data_ref="toy-squares", seed=5)
    # eval quantises generated images to 8 bits, as the PNGs hold them: the same pictures, the same numbers
    assert by_model.values == pytest.approx(by_folder.values, rel=1e-6, abs=1e-9)
    assert by_model.protocol["n_fake"] == by_folder.protocol["n_fake"] == 300
    other = _evaluate(ckpt, n=300, seed=6)
    assert other.values["fid"] != by_model.values["fid"]  # the seed matters: not a constant


def test_swapping_source_and_reference_folders_gives_the_same_fid(digits, tmp_path, ganzoo_home):
    import torch.nn.functional as F

    images = held_out(digits, 200)[0]
    small = write_pngs(tmp_path / "small", images[:100])  # 32 x 32
    big = write_pngs(tmp_path / "big", F.interpolate(images[100:], size=(48, 48), mode="bilinear",
                                                     align_corners=False).clamp(-1, 1))
    results = [_evaluate(str(source), data_ref=str(reference), metric="fid")
               for source, reference in ((small, big), (big, small))]
    assert results[0].values["fid"] == pytest.approx(results[1].values["fid"], rel=1e-6)
    for result, native in zip(results, ([32, 32], [48, 48])):
        p = result.protocol
        assert p["image_size"] == p["ref_image_size"] == [32, 32]  # both sides at the smaller size
        assert p["source_image_size"] == native
        assert p["ref_split"] is None  # a folder has no split; it was stamped "train"
