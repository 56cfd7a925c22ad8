"""cdk-nag AwsSolutions and cfn-lint over both synthesized stacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from aws_cdk.assertions import Annotations, Match


def test_cdk_nag_has_no_unsuppressed_findings(synth):
    for stack in (synth.sessions_stack, synth.transcription_stack):
        annotations = Annotations.from_stack(stack)
        errors = annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
        warnings = annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))
        assert errors == [], [e.entry.data for e in errors]
        assert warnings == [], [w.entry.data for w in warnings]


def test_every_nag_suppression_names_rule_and_reason(synth):
    found = 0
    for template_file in synth.outdir.glob("*.template.json"):
        template = json.loads(template_file.read_text())
        for resource in template["Resources"].values():
            for suppression in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
                found += 1
                assert suppression["id"].startswith("AwsSolutions-")
                assert len(suppression["reason"]) >= 40, suppression
    assert found > 0


def test_cfn_lint_reports_no_errors(synth):
    templates = sorted(str(p) for p in synth.outdir.glob("*.template.json"))
    assert len(templates) == 2
    # cfn-lint 1.x has no `python -m cfnlint` entry point: run its console script.
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    completed = subprocess.run(
        [str(cfn_lint), "--format", "json", *templates],
        capture_output=True,
        text=True,
        check=False,
    )
    # Exit status is a bit mask (2 errors, 4 warnings, 8 informational); 1 means cfn-lint failed.
    assert completed.returncode & 1 == 0 and completed.stdout.strip(), completed.stderr[-2000:]
    findings = json.loads(completed.stdout)
    errors = [f for f in findings if f["Level"] == "Error"]
    assert errors == [], errors
