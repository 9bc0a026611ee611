"""Product changeover time on a running station: from the switch being asked for to the new product ready
(its next part judged by it), between the demo's two products with different models (the bundled
template-regions network and the golden-template comparison).

    .venv/bin/python benchmarks/changeover.py [--switches 10]

"cached": the models preloaded at start (``pipeline.preload_products``, the default) and kept loaded
(``product_cache: 3``). "cold": ``product_cache: 1`` and no preload, so every switch loads the model and
its references from disk and warms it up. The demo station runs camera-paced throughout (parts in flight
finish on the old product first, so the time includes that drain). Prints each switch and the medians.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

from inspection.config import DEMO_CONFIG, DEMO_RECIPE, load_recipe, load_station_config
from inspection.station.pipeline import Station

TEMPLATE_RECIPE = DEMO_RECIPE.parent / "deeppcb-template.yaml"


def station_file(folder: Path, cold: bool) -> Path:
    config = yaml.safe_load(DEMO_CONFIG.read_text())
    config["camera"]["image_folder"] = str((DEMO_CONFIG.parent / config["camera"]["image_folder"]).resolve())
    config["recipe"] = str(DEMO_RECIPE)
    config["recipes"] = {1: str(DEMO_RECIPE), 2: str(TEMPLATE_RECIPE)}
    config["storage"] = {"data_dir": str(folder / "data"), "archive": "none"}
    config["pipeline"] = {**config.get("pipeline", {}), "product_cache": 1 if cold else 3, "preload_products": not cold}
    path = folder / "station.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def measure(cold: bool, switches: int) -> list[float]:
    with tempfile.TemporaryDirectory() as folder:
        station = Station(load_station_config(station_file(Path(folder), cold)))
        products = [load_recipe(TEMPLATE_RECIPE), load_recipe(DEMO_RECIPE)]
        runner = threading.Thread(target=station.run, daemon=True)
        runner.start()
        seconds = []
        try:
            while station.stats.parts < 5:
                time.sleep(0.05)
            for n in range(switches):
                parts = station.stats.parts
                result = station.change_product(products[n % 2], "benchmark")
                if result.refused is not None:
                    raise SystemExit(f"changeover refused: {result.refused}")
                seconds.append(result.seconds)
                print(f"  {'cold' if cold else 'cached'} switch {n + 1}: {result.product} {result.seconds:.3f} s")
                while station.stats.parts < parts + 3:  # a few parts on the new product before the next switch
                    time.sleep(0.02)
        finally:
            station.stop()
            runner.join(60)
            station.close()
        return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--switches", type=int, default=10)
    args = parser.parse_args(argv)
    for cold in (False, True):
        seconds = measure(cold, args.switches)
        print(
            f"{'cold' if cold else 'cached'}: median {statistics.median(seconds):.3f} s, "
            f"max {max(seconds):.3f} s over {len(seconds)} switches"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
