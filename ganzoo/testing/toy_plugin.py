"""A tiny plugin used by ganzoo's own tests: the `toy` model and the `toy-squares` data set.

It is a complete plugin (hooks returning records, a torch-free config, a factory) and shows the
smallest model that runs through the whole engine.
"""

from __future__ import annotations

from ganzoo.hookspecs import hookimpl
from ganzoo.specs import DatasetSpec, ModelSpec

TOY_MODEL = ModelSpec(
    name="toy",
    summary="A tiny MLP GAN on 8x8 squares, for tests.",
    task="unconditional",
    config="ganzoo.testing.toy_config:ToyConfig",
    factory="ganzoo.testing.toy_model:build",
    default_data="toy-squares",
    train_defaults={"steps": 20, "batch_size": 16, "log_every": 5, "sample_every": 10, "checkpoint_every": 10},
    converters={"torch-state-dict": "ganzoo.testing.toy_model:convert_state_dict"},
)

TOY_DATA = DatasetSpec(
    name="toy-squares",
    summary="256 8x8 images of a bright square at a random position, labelled by quadrant.",
    kind="labelled",
    loader="ganzoo.testing.toy_model:load_squares",
)


@hookimpl
def ganzoo_register_models() -> list[ModelSpec]:
    return [TOY_MODEL]


@hookimpl
def ganzoo_register_datasets() -> list[DatasetSpec]:
    return [TOY_DATA]
