"""SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from .. import __version__
from ..rules import RULES, Result, Severity

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def as_data(results: Sequence[Result]) -> dict[str, object]:
    rules = list(RULES)
    index = {r.id: i for i, r in enumerate(rules)}
    out_results = []
    for res in results:
        for f in res.findings:
            region = {"startLine": f.line or 1}
            if f.column:
                region["startColumn"] = f.column
            out_results.append(
                {
                    "ruleId": f.rule_id,
                    "ruleIndex": index[f.rule_id],
                    "level": LEVEL[f.severity],
                    "message": {"text": f"{f.target}: {f.message}"},
                    "locations": [
                        {
                            "physicalLocation": {"artifactLocation": {"uri": f.file}, "region": region},
                            "logicalLocations": [{"fullyQualifiedName": f.target, "kind": "object"}],
                        }
                    ],
                    # Stable across unrelated edits of the file: rule + target, not line numbers.
                    "partialFingerprints": {
                        "gpuctlTarget/v1": hashlib.sha256(f"{f.rule_id}|{f.target}".encode()).hexdigest()[:32]
                    },
                }
            )
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "gpuctl",
                        "version": __version__,
                        "informationUri": "https://github.com/gpuctl/gpuctl",
                        "rules": [
                            {
                                "id": r.id,
                                "name": r.slug,
                                "shortDescription": {"text": r.summary},
                                "fullDescription": {"text": r.doc or r.summary},
                                "help": {"text": r.remediation},
                                "defaultConfiguration": {"level": LEVEL[r.severity]},
                                "properties": {"tags": [r.family]},
                            }
                            for r in rules
                        ],
                    }
                },
                "results": out_results,
            }
        ],
    }


def render(results: Sequence[Result]) -> str:
    return json.dumps(as_data(results), indent=2, allow_nan=False) + "\n"
