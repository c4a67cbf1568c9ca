"""The loader: locations come from the source text, for loc tuples and for finding targets."""

from __future__ import annotations

import pytest

from gpuctl.errors import SpecError
from gpuctl.loader import Locator, load_site, load_site_text, parse_path
from tests.conftest import EXAMPLE

TEXT = """name: s
racks:
  - name: rack-a
    cooling: {type: air_open}
    servers:
      - name: gpu.a01
        model: x
      - {name: gpu-b, model: "y"}
"""


def test_parse_path_keeps_dots_inside_brackets() -> None:
    assert parse_path("racks[rack-a].servers[gpu.a01].model") == [
        ("racks", "rack-a"),
        ("servers", "gpu.a01"),
        ("model", None),
    ]


def test_locator_finds_named_items_and_fields() -> None:
    loc = Locator(TEXT)
    pos = loc.find("racks[rack-a].servers[gpu.a01].model")
    assert (pos.line, pos.column) == (7, 16)
    flow = loc.find("racks[rack-a].servers[gpu-b].model")
    assert flow is not None and flow.line == 8
    assert loc.position(("racks", 0, "cooling", "type")).line == 4
    assert loc.pretty(("racks", 0, "servers", 1, "model")) == "racks[rack-a].servers[gpu-b].model"


def test_locator_falls_back_to_the_deepest_existing_node() -> None:
    loc = Locator(TEXT)
    assert loc.find("racks[rack-a].servers[nope]").line == 5


def test_duplicate_keys_are_reported_with_both_lines(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpecError) as err:
        load_site_text("name: a\nracks: []\nname: b\n", "f.yaml")
    assert err.value.problems[0].line == 3
    assert "first at line 1" in err.value.problems[0].message


def test_example_site_loads_with_catalog_extension() -> None:
    site = load_site(EXAMPLE).site
    server = next(s for _, s in site.all_servers() if s.name == "gpu-a01")
    assert site.server_spec(server).id == "r760xa-4xl40s-fra1"
    assert site.gpu_count(server) == 4
    assert site.rack_of("dgx-b01").name == "rack-b"


def test_models_are_frozen() -> None:
    site = load_site(EXAMPLE).site
    with pytest.raises(Exception, match="frozen"):
        site.racks[0].height_u = 50  # type: ignore[misc]


def test_catalog_extension_cannot_shadow_builtin_ids() -> None:
    text = EXAMPLE.read_text().replace("id: r760xa-4xl40s-fra1", "id: dgx-h100")
    with pytest.raises(SpecError) as err:
        load_site_text(text, "site.yaml")
    assert any("already in the built-in catalog" in p.message for p in err.value.problems)


def test_server_without_published_power_must_declare_it() -> None:
    text = EXAMPLE.read_text().replace("model: r760xa-4xl40s-fra1", "model: dell-r760xa-l40s", 1)
    with pytest.raises(SpecError) as err:
        load_site_text(text, "site.yaml")
    messages = [p.message for p in err.value.problems]
    assert any("declare max_power_kw" in m for m in messages)
    assert any("declare weight_kg" in m for m in messages)
