"""Read a site spec file into a validated `Site`, or fail with one located problem per line."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml_rs
from pydantic import BaseModel, ValidationError

from .. import catalog
from ..errors import Problem, SpecError
from ..model import ReferenceProblems, Site
from .locate import Loc, Locator, Position

MAX_SPEC_BYTES = 256 * 1024 * 1024


@dataclass
class LoadedSite:
    site: Site
    file: str
    text: str
    locator: Locator = field(repr=False)

    def position(self, target: str) -> Position | None:
        return self.locator.find(target)


def load_site(path: str | Path) -> LoadedSite:
    p = Path(path)
    display = str(path)
    try:
        if p.stat().st_size > MAX_SPEC_BYTES:
            raise SpecError(f"{display}: larger than {MAX_SPEC_BYTES // 2**20} MiB; is this a site spec?")
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{display}: no such file", [Problem("no such file", file=display)]) from None
    except IsADirectoryError:
        raise SpecError(
            f"{display}: is a directory", [Problem("is a directory; name a site.yaml", file=display)]
        ) from None
    except UnicodeDecodeError as exc:
        raise SpecError("not UTF-8", [Problem(f"not UTF-8 text ({exc.reason})", file=display)]) from None
    except OSError as exc:
        raise SpecError(str(exc), [Problem(exc.strerror or str(exc), file=display)]) from None
    return load_site_text(text, display)


def load_site_text(text: str, file: str = "<site>") -> LoadedSite:
    locator = Locator(text)
    data = _parse(text, file, locator)
    if not isinstance(data, dict):
        raise SpecError(
            "not a site spec",
            [Problem("the document must be a mapping with name, racks, ...", file=file, line=1, column=1)],
        )
    try:
        models = {**catalog.models(), **_config_models(data, file)}
        site = Site.model_validate(data, context={"catalog": catalog.builtin(), "models": models})
    except ValidationError as exc:
        raise SpecError("invalid site spec", _pydantic_problems(exc, data, file, locator)) from None
    except ReferenceProblems as exc:
        problems = [_problem(msg, loc, file, locator) for loc, msg in exc.problems]
        raise SpecError("invalid site spec", problems) from None
    del data  # the raw tree is as large as the model; drop it before rules run
    return LoadedSite(site=site, file=file, text=text, locator=locator)


def _config_models(data: dict[str, Any], file: str) -> dict[str, Any]:
    """Deployments may name a Hugging Face config.json (relative to the site file) instead of a catalog id."""
    from ..vram.hf import arch_from_hf_config

    found = {}
    deployments = data.get("deployments")
    if isinstance(deployments, list):
        base = Path(file).parent
        for dep in deployments:
            model = dep.get("model") if isinstance(dep, dict) else None
            if isinstance(model, str) and model.endswith(".json") and (base / model).is_file():
                found[model] = arch_from_hf_config(base / model)
    return found


def _parse(text: str, file: str, locator: Locator) -> Any:
    try:
        return yaml_rs.loads(text)
    except yaml_rs.YAMLDecodeError as exc:
        message = str(exc)
        if "duplicate mapping key" in message:
            dups = list(locator.duplicate_keys())
            if dups:
                problems = [
                    Problem(
                        f"key '{key}' appears twice in one mapping (first at line {first.line})",
                        file=file,
                        line=second.line,
                        column=second.column,
                        hint="remove one of them",
                    )
                    for key, first, second in dups
                ]
                raise SpecError("duplicate keys", problems) from None
        return _yaml_syntax_error(message, file)


def _yaml_syntax_error(message: str, file: str) -> Any:
    import re

    m = re.search(r"line (\d+), column (\d+)", message)
    detail = message.strip().splitlines()[-1] if message.strip() else "malformed YAML"
    line, col = (int(m.group(1)), int(m.group(2))) if m else (None, None)
    raise SpecError("malformed YAML", [Problem(f"malformed YAML: {detail}", file=file, line=line, column=col)])


def _problem(
    message: str, loc: Loc, file: str, locator: Locator, hint: str | None = None, at_key: bool = False
) -> Problem:
    pos = locator.position(loc, at_key=at_key)
    return Problem(
        message,
        file=file,
        line=pos.line if pos else None,
        column=pos.column if pos else None,
        path=locator.pretty(loc) or None,
        hint=hint,
    )


def _pydantic_problems(exc: ValidationError, data: Any, file: str, locator: Locator) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = _clean_loc(err["loc"], data, missing=err["type"] == "missing")
        kind = err["type"]
        if kind == "extra_forbidden":
            key = loc[-1]
            fields = _fields_at(loc[:-1])
            near = difflib.get_close_matches(str(key), fields, n=1)
            hint = f"did you mean '{near[0]}'?" if near else (f"allowed: {', '.join(fields)}" if fields else None)
            problems.append(_problem(f"unknown key '{key}'", loc, file, locator, hint, at_key=True))
        elif kind == "missing":
            problems.append(_problem(f"missing required key '{loc[-1]}'", loc, file, locator))
        else:
            value = err.get("input")
            shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
            problems.append(_problem(f"{err['msg']}{shown}", loc, file, locator))
    return problems


def _clean_loc(loc: tuple[Any, ...], data: Any, missing: bool) -> Loc:
    """Keep the parts of pydantic's loc that are keys or indexes of the document.

    pydantic adds union-member tags ("IPv4Address", "function-after[...]") that are not YAML keys;
    walking the parsed data tells them apart from real keys. A missing key is kept as the last part.
    """
    out: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
            out.append(part)
        elif missing and i == len(loc) - 1 and isinstance(part, str):
            out.append(part)
    return tuple(out)


def _fields_at(loc: Loc) -> list[str]:
    """Field names of the model at loc (for 'did you mean'); walks the Site model's annotations."""
    model: Any = Site
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        info = model.model_fields.get(part)
        if info is None:
            return []
        model = _inner_model(info.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
