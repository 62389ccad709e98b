"""The built-in data sources, as records, and where their files live (torch-free).

Imported at discovery (`ganzoo data list`), so only the standard library and torch-free ganzoo
modules are used here; the loaders named by each record are imported when a reference is resolved.
"""

from __future__ import annotations

import os
from pathlib import Path

from ganzoo.paths import data_dir
from ganzoo.specs import DatasetSpec

BUILTIN = "ganzoo.data.builtin"
NAMED_LOADER = "ganzoo.data.named:load"
TORCHVISION_LOADER = "ganzoo.data.torchvision_sets:load"
COMPLETE_MARKER = ".ganzoo-complete.json"
"""Written into `data_dir()/NAME/` once a named archive was downloaded, verified, extracted and counted."""

CYCLEGAN_HOSTS = (
    "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip",
    "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/{name}.zip",
)
"""The current host of the CycleGAN data sets, then the old one (the reference repository's script)."""

# name: (zip size in bytes, sha256 of the zip, image counts, summary).
# Sizes and hashes as published in TensorFlow Datasets' checksum list for these archives; counts are
# checked after extraction where they are known (empty: only the trainA/trainB layout is checked).
CYCLEGAN_SETS: dict[str, tuple[int | None, str | None, dict[str, int], str]] = {
    "horse2zebra": (116867962, "a74d9d392eecca9966b51287a76ca126af473d9de4f3e8fc0e9cda08fa1730a1",
                    {"trainA": 1067, "trainB": 1334, "testA": 120, "testB": 140},
                    "CycleGAN: wild horses (A) and zebras (B) from ImageNet, 256x256."),
    "apple2orange": (78456409, "845a191e9af8926408ea597001cd03a452e3300a1f44a79fe329b3d59f6e3eb8", {},
                     "CycleGAN: apples (A) and navel oranges (B) from ImageNet, 256x256."),
    "summer2winter_yosemite": (132640856, "167fe1726807a9d22bd106b4a6c0bd7953b688af924ac1bf967439c4961e49f9", {},
                               "CycleGAN: Yosemite in summer (A) and winter (B), from Flickr, 256x256."),
    "monet2photo": (305231073, "88f91b00fc228f97c9411fbf1880ec1d119c98f1722e4cfcfaa2fb35fac05b04", {},
                    "CycleGAN: Monet paintings (A) and landscape photographs (B), 256x256."),
    "cezanne2photo": (279885071, "3a6c10ca21f9485862f1cbd707744b9dc258954a04631271d23a3605eeb63cff", {},
                      "CycleGAN: Cezanne paintings (A) and landscape photographs (B), 256x256."),
    "ukiyoe2photo": (292946532, "02a2a2fb5ecf425ca1bf86aca7304377da64a2a1d3b86df54eb65e4068bf3b08", {},
                     "CycleGAN: Ukiyo-e prints (A) and landscape photographs (B), 256x256."),
    "vangogh2photo": (306590349, "362c3473e70be0944bda08d49d660eafdc2854df55d697835b8186d1d79caaff", {},
                      "CycleGAN: Van Gogh paintings (A) and landscape photographs (B), 256x256."),
    "iphone2dslr_flower": (339964458, "8fcb5e374d631b107e1d961b8c4cd0a186aa2a4ff3e279923f4c426128de7113", {},
                           "CycleGAN: flower photos from iPhones (A) and DSLRs with shallow focus (B)."),
    "facades": (35135868, "9a31ebf3a31b9b5cd195dd5bf62e9308e00cb94604d1019e3889ac84248695c0", {},
                "CycleGAN: CMP facade photos and their label maps."),
    "maps": (1476754427, "639534f69dbf9f36bef8d6292a7698006361221f83f0285d7c9ca78afe6e8a9e", {},
             "CycleGAN: aerial photos and Google Maps renderings."),
    "cityscapes": (279601602, "d2f6910fd056c1ee9873777ae838e7ac4a2c833598ae62a04188e5ab2f4ea036", {},
                   "CycleGAN: Cityscapes street photos and label maps (may no longer be served; "
                   "Cityscapes licence terms apply)."),
}

PIX2PIX_HOSTS = (
    "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{archive}.tar.gz",
    "https://people.eecs.berkeley.edu/~tinghuiz/projects/pix2pix/datasets/{archive}.tar.gz",
)
"""The current host of the pix2pix data sets, then the old one (the reference repository's script)."""

# name: (archive name, tar.gz size in bytes or None, approximate size, summary).
# Each archive holds side-by-side AB images in train/ (and val/, test/). Nobody publishes sha256 hashes
# for them: the first download's hash is recorded and enforced afterwards (trust on first use). Sizes are
# those the host served (HTTP Content-Length in published download logs); where none was found the size
# is trusted on first use as well and the host's directory listing gives the approximate size shown.
# Three names carry "-paired" because the unpaired CycleGAN archives already use facades, maps, cityscapes.
PIX2PIX_SETS: dict[str, tuple[str, int | None, str, str]] = {
    "facades-paired": ("facades", 30168306, "29 MB",
                       "pix2pix: CMP facades, A = photo, B = label map, side by side (400 train, 100 val, 106 test)."),
    "cityscapes-paired": ("cityscapes", 103441232, "99 MB",
                          "pix2pix: Cityscapes street scenes, A = photo, B = label map (Cityscapes licence terms "
                          "apply; the hosts may no longer serve it)."),
    "maps-paired": ("maps", 250242400, "239 MB",
                    "pix2pix: A = aerial photo, B = Google Maps rendering of the same place (train, val)."),
    "edges2shoes": ("edges2shoes", None, "2.0 GB",
                    "pix2pix: A = edge map, B = shoe photo (UT Zappos50K; about 50k pairs; about 2.0 GB)."),
    "edges2handbags": ("edges2handbags", None, "8.0 GB",
                       "pix2pix: A = edge map, B = handbag photo (iGAN; about 137k pairs; about 8.0 GB)."),
    "night2day": ("night2day", None, "1.9 GB",
                  "pix2pix: A = night, B = day views of the same scene (Transient Attributes; about 1.9 GB)."),
}

ARCHIVE_MEMBERS: dict[str, int] = {"edges2shoes": 60_000, "edges2handbags": 150_000}
"""Members (files and folders) an archive is known to hold beyond the default extraction cap of
`ganzoo.data.archive_limits.ArchiveLimits` (50,000): edges2shoes about 50,000 pairs, edges2handbags
about 138,800. Named downloads raise the member cap to this unless GANZOO_ARCHIVE_MAX_MEMBERS is set."""

TORCHVISION_SETS: dict[str, dict[str, object]] = {
    "mnist": {
        "folder": "MNIST/raw",
        "files": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                  "t10k-labels-idx1-ubyte"),
        "urls": ("https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",),
        "summary": "MNIST handwritten digits (28x28, 10 classes, 60k train / 10k test) via torchvision.",
        "license": "CC BY-SA 3.0",
    },
    "fashion-mnist": {
        "folder": "FashionMNIST/raw",
        "files": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                  "t10k-labels-idx1-ubyte"),
        "urls": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz",),
        "summary": "Fashion-MNIST (28x28, 10 classes): Debian's dataset-fashion-mnist if installed, else torchvision.",
        "license": "MIT",
    },
    "cifar10": {
        "folder": "cifar-10-batches-py",
        "files": ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"),
        "urls": ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
        "summary": "CIFAR-10 colour images (32x32, 10 classes, 50k train / 10k test) via torchvision.",
        "license": "see https://www.cs.toronto.edu/~kriz/cifar.html",
    },
}

DEBIAN_FASHION_MNIST = "fashion-mnist"
"""Folder of Debian's `dataset-fashion-mnist` package below the system data folder (see system_datasets_dir)."""


def cyclegan_urls(name: str) -> tuple[str, ...]:
    return tuple(url.format(name=name) for url in CYCLEGAN_HOSTS)


def pix2pix_urls(archive: str) -> tuple[str, ...]:
    return tuple(url.format(archive=archive) for url in PIX2PIX_HOSTS)


def system_datasets_dir() -> Path:
    """Where distribution packages install data sets: `$GANZOO_SYSTEM_DATASETS`, else /usr/share/datasets."""
    return Path(os.environ.get("GANZOO_SYSTEM_DATASETS", "/usr/share/datasets"))


def torchvision_root() -> Path:
    """The `root` folder ganzoo hands to torchvision: `data_dir()/torchvision`."""
    return data_dir() / "torchvision"


def named_dir(name: str) -> Path:
    """Where a named (downloaded) data set lives: `data_dir()/NAME/`."""
    return data_dir() / name


def _idx_present(folder: Path, files: tuple[str, ...]) -> bool:
    return all((folder / f).is_file() or (folder / f"{f}.gz").is_file() for f in files)


def cache_state(spec: DatasetSpec) -> str:
    """'built-in', 'cached', 'system' (installed by the OS), 'not cached' or '' (nothing to cache)."""
    if spec.scheme:
        return ""
    if spec.loader.startswith(BUILTIN + ":"):
        return "built-in"
    if spec.loader == TORCHVISION_LOADER and spec.name in TORCHVISION_SETS:
        layout = TORCHVISION_SETS[spec.name]
        files = tuple(layout["files"])  # type: ignore[arg-type]
        if spec.name == "fashion-mnist" and _idx_present(system_datasets_dir() / DEBIAN_FASHION_MNIST, files):
            return "system"
        return "cached" if _idx_present(torchvision_root() / str(layout["folder"]), files) else "not cached"
    if spec.urls:
        return "cached" if (named_dir(spec.name) / COMPLETE_MARKER).is_file() else "not cached"
    return ""


def builtin_datasets() -> list[DatasetSpec]:
    """Every data source the core provides."""
    specs = [
        DatasetSpec("digits", "scikit-learn's handwritten digits (training half: 901 of 1797, 8x8, 10 classes), "
                    "upsampled; no download.", "labelled", f"{BUILTIN}:load_digits", license="BSD-3-Clause"),
        DatasetSpec("digits-invert", "Unpaired digits: A = digits, B = inverted digits of a disjoint part; "
                    "true mapping known.", "unpaired", f"{BUILTIN}:load_digits_unpaired", license="BSD-3-Clause"),
        DatasetSpec("digits-colorize", "Unpaired digits: A = gray digits, B = heat-coloured digits of a disjoint "
                    "part; true mapping known.", "unpaired", f"{BUILTIN}:load_digits_unpaired",
                    license="BSD-3-Clause"),
        DatasetSpec("digits-edges", "Paired digits: A = edge map of a digit, B = the digit; aligned held-out "
                    "test pairs.", "paired", f"{BUILTIN}:load_digits_edges", license="BSD-3-Clause"),
        DatasetSpec("photos", "scikit-learn's two colour photographs: china.jpg (content) and flower.jpg (style).",
                    "style", f"{BUILTIN}:load_photos", license="CC BY 2.0 (the photographs' authors)"),
        DatasetSpec("folder", "A folder of images (recursive); class sub-folders become labels. "
                    "Also a bare PATH; a folder with trainA/trainB is unpaired.", "images",
                    "ganzoo.data.folder:load", scheme=True),
        DatasetSpec("unpaired", "Two image folders: unpaired:PATH (trainA/trainB/testA/testB) or a=PATH,b=PATH.",
                    "unpaired", "ganzoo.data.folder:load_unpaired", scheme=True),
        DatasetSpec("paired", "Aligned pairs: paired:PATH (side-by-side AB images in train/ and test/ or val/, "
                    "or trainA/trainB matched by name) or paired:a=PATH,b=PATH.", "paired",
                    "ganzoo.data.paired:load", scheme=True),
    ]
    for name, layout in TORCHVISION_SETS.items():
        specs.append(DatasetSpec(name, str(layout["summary"]), "labelled", TORCHVISION_LOADER,
                                 urls=tuple(layout["urls"]), license=str(layout["license"])))  # type: ignore[arg-type]
    for name, (size, sha256, counts, summary) in CYCLEGAN_SETS.items():
        specs.append(DatasetSpec(name, summary, "unpaired", NAMED_LOADER, size_bytes=size,
                                 urls=cyclegan_urls(name), sha256=sha256, counts=counts,
                                 license="research use (see the CycleGAN project page)"))
    for name, (archive, size, _, summary) in PIX2PIX_SETS.items():
        specs.append(DatasetSpec(name, summary, "paired", NAMED_LOADER, size_bytes=size, urls=pix2pix_urls(archive),
                                 license="research use (see the pix2pix project page)"))
    return specs
