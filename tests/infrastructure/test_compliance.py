"""cdk-nag AwsSolutions and cfn-lint over both synthesized stacks."""

from __future__ import annotations

import json
import subprocess
import sys

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
    completed = subprocess.run(
        [sys.executable, "-m", "cfnlint", "--format", "json", *templates],
        capture_output=True,
        text=True,
        check=False,
    )
    findings = json.loads(completed.stdout or "[]")
    errors = [f for f in findings if f["Level"] == "Error"]
    assert errors == [], errors
