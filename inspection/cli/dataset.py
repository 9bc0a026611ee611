"""``inspection dataset``: import a labelled dataset, cut region crops, or build one from the records."""

from __future__ import annotations

import argparse
from pathlib import Path

from inspection.cli.options import Commands, add_record_filters, record_filter, split_groups
from inspection.config import DEMO_CONFIG, load_recipe, load_station_config
from inspection.core.errors import StationError
from inspection.ml.dataset.from_records import dataset_from_records
from inspection.ml.dataset.importer import import_deeppcb, import_labelled
from inspection.ml.dataset.region_crops import build_region_crops
from inspection.recorder.database import open_database, require_existing


def add_commands(commands: Commands) -> None:
    dataset = commands.add_parser("dataset", help="build training datasets", description="Build training datasets.")
    actions = dataset.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    _add_import(actions)
    _add_crops(actions)
    _add_from_records(actions)


def _add_import(actions: Commands) -> None:
    importer = actions.add_parser(
        "import",
        help="convert a labelled dataset into the project's layout",
        description=(
            "Convert a labelled dataset into the project's YOLO layout with a manifest (source, classes, split, "
            "sha256 of every image). The validation split is by board group. Any bad label stops the import "
            "with its file and line; nothing is half-written."
        ),
    )
    importer.add_argument("source", type=Path, help="the source dataset folder")
    importer.add_argument("out", type=Path, help="new folder for the dataset")
    importer.add_argument(
        "--format",
        choices=["deeppcb", "yolo", "coco", "masks", "folders"],
        default="deeppcb",
        help=(
            "source layout: deeppcb (default; pairs of _test/_temp images), yolo (data.yaml with names and "
            "train/val image folders), coco (annotation JSON files; a 'val' in the name marks the split), "
            "masks (images with defect mask images in masks/ or ground_truth/ at the same relative path: a box "
            "per mask component, class from the image's folder or one class 'defect'; no mask: a good part), "
            "folders (good/ and one folder per defect class: image-level labels, written as train/<class>/ "
            "and val/<class>/); masks and folders keep top-level train/ and val/ (or test/) folders as the "
            "split, else every 10th image of each class validates"
        ),
    )
    importer.add_argument(
        "--val-groups",
        help=(
            "comma-separated groups for validation: DeepPCB board groups; for yolo/coco the first sub-folder or "
            "the file-name prefix before '_' (default: the source's own val split, else the last groups, >= 10%%)"
        ),
    )
    importer.add_argument(
        "--input",
        choices=["image", "image+reference"],
        default="image",
        help="model input: the image alone (default), or stacked with its reference image of the good part",
    )
    importer.set_defaults(handler=_import)


def _add_crops(actions: Commands) -> None:
    crops = actions.add_parser(
        "crops",
        help="cut the golden-template detector's regions out as a classification dataset",
        description=(
            "Run the golden-template detector on every image of an image+reference dataset and cut each region "
            "it reports out as a 48 x 48 crop (board, template, difference), filed under the class of the "
            "labelled box it overlaps (IoU > 0.3) or 'none'. The result trains the region classifier: "
            "'inspection train --data OUT'."
        ),
    )
    crops.add_argument(
        "data", type=Path, help="dataset folder from 'inspection dataset import --input image+reference'"
    )
    crops.add_argument("out", type=Path, help="new folder for the crops")
    crops.add_argument(
        "--proposals",
        type=Path,
        default=DEMO_CONFIG.parent / "detectors" / "golden-template.yaml",
        help="golden-template settings that propose the regions (default: configs/detectors/golden-template.yaml)",
    )
    crops.set_defaults(handler=_crops)


def _add_from_records(actions: Commands) -> None:
    from_records = actions.add_parser(
        "from-records",
        help="turn recorded parts and their reviews into a training dataset",
        description=(
            "Recorded images with labels from reviews (corrected boxes; 'correct' keeps the station's counted "
            "boxes; 'false call' means no defect; an 'escape' without drawn boxes is left out) and, unless "
            "--reviewed-only, unreviewed parts with the station's counted boxes. Validation: the newest days."
        ),
    )
    from_records.add_argument("out", type=Path, help="new folder for the dataset")
    from_records.add_argument(
        "--config", type=Path, default=DEMO_CONFIG, help="the station whose records (default demo)"
    )
    from_records.add_argument("--recipe", type=Path, help="recipe giving the class list (default: the station's)")
    add_record_filters(from_records)
    from_records.add_argument("--reviewed-only", action="store_true", help="only records a person has reviewed")
    from_records.add_argument("--val-groups", help="comma-separated days (YYYY-MM-DD) for validation")
    from_records.set_defaults(handler=_from_records)


def _import(args: argparse.Namespace) -> int:
    if not args.source.exists():
        raise StationError(f"{args.source}: no such file or folder")
    groups = split_groups(args.val_groups)
    if args.format == "deeppcb":
        import_deeppcb(args.source, args.out, groups, input_mode=args.input)
        return 0
    if args.input != "image":
        raise StationError(f"--input {args.input} needs image pairs (the deeppcb format); {args.format} has none")
    import_labelled(args.source, args.out, args.format, groups)
    return 0


def _crops(args: argparse.Namespace) -> int:
    if not args.proposals.is_file():
        raise StationError(f"{args.proposals}: no such detector settings file")
    summary = build_region_crops(args.data, args.out, args.proposals)
    for split, counts in summary["counts"].items():
        print(f"{split}: {sum(counts.values())} regions {counts}")
    return 0


def _from_records(args: argparse.Namespace) -> int:
    config = load_station_config(args.config)
    recipe = load_recipe(args.recipe or config.recipe)
    url = config.storage.resolved_database_url()
    require_existing(url)
    engine = open_database(url)
    dataset_from_records(
        engine, config.storage.data_dir, args.out, record_filter(args), recipe.classes, args.reviewed_only,
        split_groups(args.val_groups),
    )  # fmt: skip
    return 0
