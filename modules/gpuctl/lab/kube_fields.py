"""Field ownership for the test Kubernetes API: server-side apply, merge patches and selectors, as
https://kubernetes.io/docs/reference/using-api/server-side-apply/ and RFC 7386 define them (lists atomic)."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

from ..errors import GpuctlError


class ApiError(GpuctlError):
    """A refusal the test API answers with (its HTTP code, Kubernetes reason and message)."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def status(self) -> dict[str, Any]:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "reason": self.reason,
            "message": self.message,
            "code": self.code,
        }


UNTRACKED = {
    ("apiVersion",),
    ("kind",),
    ("metadata", "name"),
    ("metadata", "namespace"),
    ("metadata", "resourceVersion"),
    ("metadata", "uid"),
    ("metadata", "creationTimestamp"),
    ("metadata", "managedFields"),
}


# ----- field ownership (server-side apply) -----

Path = tuple[str, ...]


def leaves(obj: Any, prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Leaf fields of an object; maps descend, lists and scalars are leaves (atomic)."""
    if isinstance(obj, dict) and obj:
        for key, value in obj.items():
            yield from leaves(value, (*prefix, key))
    else:
        yield prefix, obj


def get_path(obj: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return _MISSING
        obj = obj[key]
    return obj


_MISSING = object()


def set_path(obj: dict[str, Any], path: Path, value: Any) -> None:
    for key in path[:-1]:
        nxt = obj.get(key)
        if not isinstance(nxt, dict):
            nxt = obj[key] = {}
        obj = nxt
    obj[path[-1]] = copy.deepcopy(value)


def del_path(obj: dict[str, Any], path: Path) -> None:
    parents = []
    for key in path[:-1]:
        if not isinstance(obj.get(key), dict):
            return
        parents.append((obj, key))
        obj = obj[key]
    obj.pop(path[-1], None)
    for parent, key in reversed(parents):  # drop maps left empty
        if parent[key] == {}:
            del parent[key]


def tracked(obj: dict[str, Any]) -> dict[Path, Any]:
    return {p: v for p, v in leaves({k: v for k, v in obj.items() if k != "status"}) if p and p not in UNTRACKED}


def fields_v1(paths: set[Path]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in sorted(paths):
        node = out
        for key in path:
            node = node.setdefault(f"f:{key}", {})
    return out


def _paths_of(fields: dict[str, Any], prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for key, sub in fields.items():
        path = (*prefix, key.removeprefix("f:"))
        out |= _paths_of(sub, path) if sub else {path}
    return out


def ownership(obj: dict[str, Any]) -> dict[str, tuple[str, set[Path]]]:
    """manager -> (operation, owned leaf paths), from metadata.managedFields."""
    return {
        e["manager"]: (e.get("operation", "Update"), _paths_of(e.get("fieldsV1", {})))
        for e in obj.get("metadata", {}).get("managedFields", [])
    }


def set_ownership(obj: dict[str, Any], owners: dict[str, tuple[str, set[Path]]]) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    obj.setdefault("metadata", {})["managedFields"] = [
        {
            "manager": m,
            "operation": op,
            "apiVersion": obj.get("apiVersion", "v1"),
            "time": stamp,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields_v1(paths),
        }
        for m, (op, paths) in sorted(owners.items())
        if paths
    ]


def apply(current: dict[str, Any], applied: dict[str, Any], manager: str, force: bool) -> dict[str, Any]:
    """Server-side apply of `applied` by `manager` onto `current` (an empty dict when creating)."""
    owners = ownership(current)
    mine = tracked(applied)
    conflicts = []
    for path, value in mine.items():
        if get_path(current, path) == value:
            continue
        for other, (_, paths) in owners.items():
            if other != manager and path in paths:
                conflicts.append((other, path))
    if conflicts and not force:
        detail = "\n".join(f'- conflict with "{m}": .{".".join(p)}' for m, p in sorted(conflicts))
        n = len(conflicts)
        raise ApiError(409, "Conflict", f"Apply failed with {n} conflict{'s' if n > 1 else ''}:\n{detail}")
    merged = copy.deepcopy(current)
    before = owners.get(manager, ("Apply", set()))[1]
    shared = {p for m, (_, ps) in owners.items() if m != manager for p in ps}
    for path in before - set(mine) - shared:
        del_path(merged, path)
    for other, path in conflicts:
        owners[other][1].discard(path)
    for path, value in mine.items():
        set_path(merged, path, value)
    owners[manager] = ("Apply", set(mine))
    set_ownership(merged, owners)
    return merged


def take_ownership(before: dict[str, Any], after: dict[str, Any], manager: str) -> None:
    """An Update (create, replace, merge patch) owns the fields it set or changed; others lose them."""
    owners = ownership(before)
    old, new = tracked(before), tracked(after)
    changed = {p for p, v in new.items() if old.get(p, _MISSING) != v}
    for other in list(owners):
        op, paths = owners[other]
        owners[other] = (op, (paths - changed) & set(new))
    op, paths = owners.get(manager, ("Update", set()))
    owners[manager] = (op, (paths & set(new)) | changed)
    set_ownership(after, owners)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (strategic merge patch on the fields gpuctl patches behaves the same)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


# ----- selectors -----


def matches_labels(labels: dict[str, str], selector: str) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            if labels.get(k) != v:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def matches_fields(obj: dict[str, Any], selector: str) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        k, v = term.replace("==", "=").split("=", 1)
        value = get_path(obj, tuple(k.split(".")))
        if (value if value is not _MISSING else "") != v:
            return False
    return True


def selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {
            "In": labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True
