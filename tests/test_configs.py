"""Typed configs: parsing, validation, precedence and the CLI options derived from them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import pytest

from ganzoo import configs
from ganzoo.configs import option
from ganzoo.errors import ConfigError
from ganzoo.run_config import read_config_file, resolve
from ganzoo.testing import toy_plugin


@dataclass
class Sample:
    size: int = option(32, "Size.", choices=(16, 32, 64))
    lr: float = option(2e-4, "Learning rate.", min=0)
    betas: tuple[float, ...] = option((0.5, 0.999), "Betas.")
    norm: Literal["batch", "instance"] = option("batch", "Norm.")
    path: str | None = option(None, "A path.")
    flag: bool = option(False, "A flag.")


def test_describe_reports_types_defaults_and_help():
    infos = {f.name: f for f in configs.describe(Sample)}
    assert infos["size"].type_name == "16|32|64"
    assert infos["betas"].type_name == "float,..."
    assert infos["path"].type_name == "str or none"
    assert infos["norm"].choices == ("batch", "instance")
    assert infos["lr"].help == "Learning rate."
    assert infos["flag"].flag == "--flag"


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("size", "64", 64),
        ("lr", "1e-4", 1e-4),
        ("betas", "0,0.9", (0.0, 0.9)),
        ("betas", [0.1, 0.2], (0.1, 0.2)),
        ("path", "none", None),
        ("path", "a/b.png", "a/b.png"),
        ("flag", "yes", True),
        ("flag", "off", False),
        ("norm", "instance", "instance"),
    ],
)
def test_values_are_parsed_to_the_field_type(key, raw, expected):
    built = configs.build(Sample, [("--set", {key: raw})])
    assert getattr(built, key) == expected


@pytest.mark.parametrize(
    ("key", "raw", "message"),
    [
        ("size", "48", "not one of 16, 32, 64"),
        ("lr", "-1", "below the minimum"),
        ("lr", "fast", "not a valid float"),
        ("flag", "maybe", "not a boolean"),
        ("norm", "layer", "not one of batch, instance"),
        ("sise", "32", "Did you mean: size"),
    ],
)
def test_bad_values_name_the_layer_and_the_problem(key, raw, message):
    with pytest.raises(ConfigError) as err:
        configs.build(Sample, [("--set", {key: raw})])
    assert message in str(err.value)
    assert "--set" in str(err.value)


def test_round_trip_through_dict():
    built = configs.build(Sample, [("x", {"betas": "0,0.99", "path": "p"})])
    data = configs.to_dict(built)
    assert data["betas"] == [0.0, 0.99]
    assert configs.from_dict(Sample, data) == built


def test_precedence_defaults_registry_file_set_flags(tmp_path):
    spec = replace(toy_plugin.TOY_MODEL, plugin="ganzoo-toy")
    config_file = tmp_path / "c.yaml"
    config_file.write_text("model:\n  hidden: 11\n  lr: 0.5\ntrain:\n  batch_size: 8\nlatent_dim: 5\n")
    run = resolve(
        spec,
        catalogue_defaults={"model": {"hidden": 10, "latent_dim": 4, "lr": 0.25}, "train": {"seed": 7}},
        config_file=config_file,
        set_items=["lr=0.125", "train.seed=9"],
        model_flags={"lr": "0.0625"},
    )
    assert run.model.hidden == 11  # file beats registry
    assert run.model.latent_dim == 5  # flat key in the file
    assert run.model.lr == 0.0625  # flag beats --set beats file
    assert run.train.seed == 9  # --set beats registry
    assert run.train.batch_size == 8  # file beats spec train_defaults (16)
    assert run.train.steps == 20  # spec train_defaults
    assert run.model.image_size == 8  # dataclass default


def test_steps_and_epochs_replace_each_other_but_not_both_at_once():
    spec = replace(toy_plugin.TOY_MODEL, plugin="ganzoo-toy")
    run = resolve(spec, train_flags={"epochs": 3})
    assert run.train.epochs == 3 and run.train.steps is None
    with pytest.raises(ConfigError, match="either --steps or --epochs"):
        resolve(spec, train_flags={"epochs": 3, "steps": 5})


def test_data_specific_defaults_apply_only_to_their_data():
    spec = replace(toy_plugin.TOY_MODEL, plugin="ganzoo-toy",
                   data_defaults={"toy-squares": {"model": {"hidden": 7}, "train": {"steps": 3}}})
    assert resolve(spec).model.hidden == 7
    assert resolve(spec).train.steps == 3
    assert resolve(spec, model_flags={"hidden": 9}).model.hidden == 9
    other = resolve(spec, train_flags={"data": "elsewhere"})
    assert other.model.hidden == 32 and other.train.steps == 20


def test_unknown_and_ambiguous_set_keys_are_errors():
    spec = replace(toy_plugin.TOY_MODEL, plugin="ganzoo-toy")
    with pytest.raises(ConfigError, match=r"unknown option 'hiden'\. Did you mean: hidden"):
        resolve(spec, set_items=["hiden=3"])
    with pytest.raises(ConfigError, match="key=value"):
        resolve(spec, set_items=["hidden"])


def test_config_file_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        read_config_file(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        read_config_file(tmp_path / "missing.yaml")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("name: dcgan\n")
    spec = replace(toy_plugin.TOY_MODEL, plugin="ganzoo-toy")
    with pytest.raises(ConfigError, match="is for model 'dcgan', not 'toy'"):
        resolve(spec, config_file=wrong)
