"""``inspection calibrate``: camera calibration, scale, golden templates, printable boards, registration."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from calibration.boards import Board, BoardError
from calibration.camera import CalibrationError, CalibrationLimits, CameraCalibration, calibrate
from calibration.golden import GoldenTemplate
from calibration.registration import Motion, RegistrationError, register
from calibration.scale import Scale, from_board, from_length, from_working_distance
from inspection.cli.options import Commands
from inspection.core.channels import grey
from inspection.core.errors import StationError
from inspection.core.images import list_images, read_image
from inspection.core.types import Image


@contextmanager
def _as_station_errors() -> Iterator[None]:
    """The calibration package's errors, reported like every other command's (one line, exit code)."""
    try:
        yield
    except (CalibrationError, BoardError, RegistrationError) as exc:
        raise StationError(str(exc)) from None


def _read_images(patterns: list[Path]) -> list[tuple[str, Image]]:
    images = []
    for pattern in patterns:
        files = list_images(pattern)
        if not files:
            raise StationError(f"{pattern}: no images there (png, jpg, bmp, tif, webp)")
        for file in files:
            image = read_image(file)
            if image is None:
                raise StationError(f"{file}: not a readable image")
            images.append((file.name, image))
    return images


def _read_one(path: Path) -> Image:
    image = read_image(path)
    if image is None:
        raise StationError(f"{path}: no such image, or not readable")
    return np.asarray(image, np.uint8)


def calibrate_camera(images: list[Path], board_text: str, camera: str, out: Path, min_views: int | None) -> int:
    limits = CalibrationLimits() if min_views is None else CalibrationLimits(min_views=min_views)
    with _as_station_errors():
        board = Board.parse(board_text)
        result = calibrate(_read_images(images), board, camera, limits)
    for name, error in result.per_image_px.items():
        print(f"{name:<40} reprojection {error:.3f} px")
    for name, why in result.rejected.items():
        print(f"{name:<40} not used: {why}")
    matrix = result.camera_matrix
    print(
        f"camera {camera}: fx {matrix[0, 0]:.2f} fy {matrix[1, 1]:.2f} cx {matrix[0, 2]:.2f} cy {matrix[1, 2]:.2f} px; "
        f"distortion {' '.join(f'{k:.5f}' for k in result.distortion)}; reprojection RMS {result.rms_px:.3f} px "
        f"over {len(result.per_image_px)} views covering {result.coverage:.0%} of the image"
    )
    result.save(out)
    print(f"calibration written to {out}")
    return 0


def measure_scale(
    calibration_path: Path | None,
    board_text: str | None,
    image: Path | None,
    length_px: float | None,
    length_mm: float | None,
    distance_mm: float | None,
    save: bool,
) -> int:
    with _as_station_errors():
        calibration = CameraCalibration.load(calibration_path) if calibration_path is not None else None
        scale = _scale(calibration, board_text, image, length_px, length_mm, distance_mm)
        spread = f" (varies by {scale.spread:.1%} across the board)" if scale.spread else ""
        print(f"{scale.mm_per_px:.6f} mm/px = {scale.px_per_mm:.3f} px/mm{spread}")
        if scale.spread > 0.02:
            print("note: the board is not square to the camera, or the lens is not calibrated", file=sys.stderr)
        if save:
            if calibration is None or calibration_path is None:
                raise StationError("--save writes the scale into a calibration file: give --calibration")
            calibration.mm_per_px = scale.mm_per_px
            calibration.save(calibration_path)
            print(f"scale written to {calibration_path}")
    return 0


def _scale(
    calibration: CameraCalibration | None,
    board_text: str | None,
    image: Path | None,
    length_px: float | None,
    length_mm: float | None,
    distance_mm: float | None,
) -> Scale:
    if board_text is not None:
        if image is None:
            raise StationError("--board needs --image: a view of the board lying on the inspection plane")
        return from_board(_read_one(image), Board.parse(board_text), calibration)
    if length_px is not None or length_mm is not None:
        if length_px is None or length_mm is None:
            raise StationError("give both --length-px and --length-mm (a feature's size in the image and on the part)")
        return from_length(length_px, length_mm)
    if distance_mm is not None:
        if calibration is None:
            raise StationError("--distance-mm needs --calibration (the focal length comes from it)")
        return from_working_distance(calibration, distance_mm)
    raise StationError("say how to measure: --board with --image, --length-px with --length-mm, or --distance-mm")


def build_template(images: list[Path], out: Path, edge_px: int, motion: Motion) -> int:
    goods = _read_images(images)
    with _as_station_errors():
        template = GoldenTemplate.from_images([grey(image) for _, image in goods], edge_px, motion)
    out.parent.mkdir(parents=True, exist_ok=True)
    stem = out.with_suffix("")
    for path, layer in (
        (out, template.image),
        (Path(f"{stem}.low.png"), template.low),
        (Path(f"{stem}.high.png"), template.high),
    ):
        if not cv2.imwrite(str(path), layer):
            raise StationError(f"{path}: cannot write the image")
    band = float((template.high.astype(np.int16) - template.low.astype(np.int16)).mean())
    print(f"template of {len(goods)} good images written to {out}")
    print(f"tolerance band beside it: {stem.name}.low.png, {stem.name}.high.png (mean width {band:.1f} grey levels)")
    return 0


def draw_board(board_text: str, px_per_mm: float, margin_mm: float, out: Path) -> int:
    with _as_station_errors():
        board = Board.parse(board_text)
    image = board.image(px_per_mm, margin_mm)
    if not cv2.imwrite(str(out), image):
        raise StationError(f"{out}: cannot write the image")
    dpi = px_per_mm * 25.4
    print(
        f"{board.describe()} written to {out}: {image.shape[1]} x {image.shape[0]} px; "
        f"print at {dpi:.0f} dpi, without scaling"
    )
    return 0


def show_registration(image: Path, reference: Path, motion: Motion) -> int:
    with _as_station_errors():
        found = register(_read_one(image), _read_one(reference), motion)
    dx, dy = found.shift
    print(
        f"shift {dx:+.2f} {dy:+.2f} px, rotation {found.angle_deg:+.3f} deg, scale {found.scale:.4f}, "
        f"correlation {found.score:.3f}"
    )
    return 0


def add_commands(commands: Commands) -> None:
    calibrate = commands.add_parser(
        "calibrate",
        help="camera calibration, mm scale, golden templates",
        description="Calibrate a camera, measure the mm-per-pixel scale, build golden templates, print boards.",
    )
    actions = calibrate.add_subparsers(dest="calibrate_command", metavar="ACTION", required=True)
    _add_camera_and_scale(actions)
    _add_template_board_register(actions)
    calibrate.set_defaults(handler=_handle)


BOARD_HELP = "chessboard:COLSxROWS:SQUARE_MM or charuco:COLSxROWS:SQUARE_MM:MARKER_MM[:DICT] (squares, not corners)"


def _add_camera_and_scale(actions: Commands) -> None:
    board_help = BOARD_HELP
    camera = actions.add_parser(
        "camera",
        help="intrinsics and lens distortion from views of a board",
        description=(
            "Calibrate from views of a chessboard or ChArUco board: intrinsics, distortion, the reprojection "
            "error per view and overall. Unusable views are named with the reason (board not found, blurred, "
            "board too small); too few views or too little of the image covered is an error."
        ),
    )
    camera.add_argument("images", nargs="+", type=Path, help="views of the board: files, folders or globs")
    camera.add_argument("--board", required=True, help=board_help)
    camera.add_argument("--camera", required=True, help="the camera's serial number (the station checks it)")
    camera.add_argument("--out", type=Path, required=True, help="calibration file to write (JSON)")
    camera.add_argument("--min-views", type=int, help="usable views needed (default 6)")
    scale = actions.add_parser(
        "scale",
        help="millimetres per pixel on the inspection plane",
        description=(
            "Measure the scale: from a board lying on the inspection plane (--board, --image), from a feature of "
            "known size (--length-px, --length-mm), or from the working distance (--distance-mm, --calibration)."
        ),
    )
    scale.add_argument("--calibration", type=Path, help="camera calibration file (undistorts the board view)")
    scale.add_argument("--board", help=board_help)
    scale.add_argument("--image", type=Path, help="a view of the board on the inspection plane")
    scale.add_argument("--length-px", type=float, help="a feature's length in the image (pixels)")
    scale.add_argument("--length-mm", type=float, help="the same feature's length on the part (mm)")
    scale.add_argument("--distance-mm", type=float, help="lens to part, for a camera looking square onto it")
    scale.add_argument("--save", action="store_true", help="write the scale into the --calibration file")


def _add_template_board_register(actions: Commands) -> None:
    board_help = BOARD_HELP
    template = actions.add_parser(
        "template",
        help="a golden template from several good parts",
        description=(
            "Register several images of good parts to the first and write their median as OUT (a reference "
            "image for a recipe) with the tolerance band beside it (OUT.low.png, OUT.high.png)."
        ),
    )
    template.add_argument("images", nargs="+", type=Path, help="images of good parts: files, folders or globs")
    template.add_argument("--out", type=Path, required=True, help="the template image to write (.png)")
    template.add_argument("--edge-px", type=int, default=1, help="edge movement the band absorbs (default 1)")
    template.add_argument("--motion", choices=["translation", "euclidean", "affine"], default="euclidean")
    board = actions.add_parser("board", help="a printable calibration board", description="Draw a board to print.")
    board.add_argument("--board", required=True, help=board_help)
    board.add_argument("--px-per-mm", type=float, default=10.0, help="default 10 (254 dpi)")
    board.add_argument("--margin-mm", type=float, default=10.0, help="white margin (default 10 mm)")
    board.add_argument("--out", type=Path, required=True)
    registration = actions.add_parser(
        "register",
        help="how far a part lies from its reference",
        description="Register an image to a reference image: shift, rotation, scale and correlation.",
    )
    registration.add_argument("image", type=Path)
    registration.add_argument("reference", type=Path)
    registration.add_argument("--motion", choices=["translation", "euclidean", "affine"], default="euclidean")


def _handle(args: argparse.Namespace) -> int:
    action = args.calibrate_command
    if action == "camera":
        return calibrate_camera(args.images, args.board, args.camera, args.out, args.min_views)
    if action == "scale":
        return measure_scale(
            args.calibration, args.board, args.image, args.length_px, args.length_mm, args.distance_mm, args.save
        )
    if action == "template":
        return build_template(args.images, args.out, args.edge_px, args.motion)
    if action == "board":
        return draw_board(args.board, args.px_per_mm, args.margin_mm, args.out)
    return show_registration(args.image, args.reference, args.motion)
