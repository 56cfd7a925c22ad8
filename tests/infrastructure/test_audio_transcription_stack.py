"""Properties of the AudioTranscription stack and its wiring to SessionManagement."""

from __future__ import annotations

from aws_cdk.assertions import Match

from infra import constants
from tests.infrastructure.helpers import (
    FAILURE_DESTINATION,
    TRACING,
    actions_on,
    as_list,
    function_by_name,
    post_to_connections,
    resources,
    role_statements,
    text,
)


def test_translation_bucket_cors_lifecycle_and_privacy(synth):
    synth.transcription.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "CorsConfiguration": {
                "CorsRules": [
                    Match.object_like(
                        {
                            "AllowedMethods": ["GET", "HEAD"],
                            "AllowedOrigins": list(constants.DEFAULT_APP_ORIGINS["dev"]),
                        }
                    )
                ]
            },
            "LifecycleConfiguration": {
                "Rules": Match.array_with([Match.object_like({"ExpirationInDays": 1, "Status": "Enabled"})])
            },
            "PublicAccessBlockConfiguration": Match.object_like({"BlockPublicPolicy": True}),
            "BucketEncryption": Match.any_value(),
        },
    )


def test_processor_environment_is_wired_across_stacks(synth):
    _, processor = function_by_name(synth.transcription, "audio-processor-dev")
    variables = processor["Environment"]["Variables"]
    endpoint = text(variables["API_GATEWAY_ENDPOINT"])
    assert endpoint.startswith('{"Fn::Join": ["", ["https://"'), endpoint
    assert "wss://" not in endpoint and ".execute-api." in endpoint and "/dev" in endpoint
    assert "Fn::ImportValue" in endpoint
    assert "Fn::ImportValue" in text(variables["CONNECTIONS_TABLE"])
    assert variables["PRESIGNED_URL_EXPIRATION"] == "600"
    bucket_ids = list(resources(synth.transcription, "AWS::S3::Bucket"))
    assert variables["S3_BUCKET_NAME"]["Ref"] in bucket_ids
    assert processor["Timeout"] == 60 and processor["MemorySize"] == 1024
    # Translation tuning comes from context only when set.
    assert variables["TRANSLATE_TERMINOLOGY_NAMES"] == "event-glossary"
    # The processor no longer transcribes: recognition settings go to the streaming worker.
    for moved in (
        "TRANSCRIBE_VOCABULARY_NAME",
        "TRANSCRIBE_VOCABULARY",
        "TRANSCRIBE_PARTIAL_STABILITY",
        "RECOGNIZER",
        "SEGMENT_MS",
        "WORKER_HANDOVER_SECONDS",
    ):
        assert moved not in variables, moved


def test_processor_permissions_are_exactly_the_pipelines(synth):
    statements = role_statements(synth.transcription, "audio-processor-dev")
    allowed = actions_on(statements)
    assert set(allowed) == {
        "translate:TranslateText",
        "polly:SynthesizeSpeech",
        "s3:PutObject",
        "s3:GetObject",
        "dynamodb:Query",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "execute-api:ManageConnections",
        "lambda:InvokeFunction",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        *TRACING,
        *FAILURE_DESTINATION,
    }
    # Invoke: only the fan-out function (a page of listeners each).
    fanout_id, _ = function_by_name(synth.transcription, "fanout-dev")
    assert allowed["lambda:InvokeFunction"] and all(
        fanout_id in text(r) for r in allowed["lambda:InvokeFunction"]
    )
    translation_bucket = next(
        iter(k for k in resources(synth.transcription, "AWS::S3::Bucket") if "Translation" in k)
    )
    assert all(translation_bucket in text(r) and "/sessions/*" in text(r) for r in allowed["s3:PutObject"])
    assert allowed["dynamodb:Query"] and all(
        "/index/sessionId-targetLanguage-index" in text(r) for r in allowed["dynamodb:Query"]
    )
    # DeleteItem only on the connections table itself (stale listeners), never on an index.
    connections_delete = [r for r in allowed["dynamodb:DeleteItem"] if "Connections" in text(r)]
    assert connections_delete and all("/index/" not in text(r) for r in connections_delete)
    # POST (send to a listener) only: no GET or DELETE on connections.
    assert allowed["execute-api:ManageConnections"] and all(
        post_to_connections("dev") in text(r) for r in allowed["execute-api:ManageConnections"]
    )


def test_fanout_posts_to_connections_only_and_the_processor_knows_its_name(synth):
    fanout_id, fanout = function_by_name(synth.transcription, "fanout-dev")
    assert fanout["MemorySize"] == 1769 and fanout["Handler"] == "fanout.handler.lambda_handler"
    allowed = actions_on(role_statements(synth.transcription, "fanout-dev"))
    assert set(allowed) == {
        "execute-api:ManageConnections",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        *TRACING,
    }
    assert all(post_to_connections("dev") in text(r) for r in allowed["execute-api:ManageConnections"])
    _, processor = function_by_name(synth.transcription, "audio-processor-dev")
    variables = processor["Environment"]["Variables"]
    assert variables["FANOUT_FUNCTION"] == {"Ref": fanout_id}
    assert (variables["FANOUT_PAGE_SIZE"], variables["FANOUT_IN_FLIGHT"]) == ("1000", "250")


def test_processor_does_not_transcribe(synth):
    """Speech recognition moved to the session's streaming worker (s3-audio-consumer)."""
    allowed = actions_on(role_statements(synth.transcription, "audio-processor-dev"))
    assert not any(action.startswith("transcribe:") for action in allowed)
    assert allowed["translate:TranslateText"] == ["*"] and allowed["polly:SynthesizeSpeech"] == ["*"]


def test_processor_reads_and_updates_sessions_only(synth):
    """UpdateItem: removing a stale listener lowers the session's listener counters."""
    statements = role_statements(synth.transcription, "audio-processor-dev")
    on_sessions = [
        s for s in statements if "ExportsOutputFnGetAttSessionStoreSessions" in text(s["Resource"])
    ]
    assert on_sessions
    assert {a for s in on_sessions for a in as_list(s["Action"])} == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
    }


def test_processor_async_config(synth):
    processor_id, _ = function_by_name(synth.transcription, "audio-processor-dev")
    synth.transcription.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": processor_id},
            "MaximumRetryAttempts": constants.ASYNC_RETRIES[constants.AUDIO_PROCESSOR],
            "MaximumEventAgeInSeconds": 60,
            "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}},
        },
    )


def test_idempotency_table_uses_powertools_schema(synth):
    synth.transcription.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
        },
    )


def _object_suffixes(resources_: list[object]) -> set[str]:
    """The key patterns of object ARNs ({"Fn::Join": ["", [<bucket arn>, "/sessions/..."]]})."""
    suffixes = set()
    for resource in resources_:
        parts = (
            resource["Fn::Join"][1] if isinstance(resource, dict) and "Fn::Join" in resource else [resource]
        )
        suffixes.add(str(parts[-1]))
    return suffixes


def test_transcripts_function_reads_records_and_writes_transcripts_only(synth):
    statements = role_statements(synth.transcription, "transcripts-dev")
    allowed = actions_on(statements)
    assert set(allowed) == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:ListBucket",
        "execute-api:ManageConnections",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        *TRACING,
        *FAILURE_DESTINATION,
    }
    assert _object_suffixes(allowed["s3:GetObject"]) == {
        "/sessions/*/utterances/*",
        "/sessions/*/transcripts/*",
    }
    assert _object_suffixes(allowed["s3:PutObject"]) == {"/sessions/*/transcripts/*"}
    (listing,) = [s for s in statements if "s3:ListBucket" in as_list(s["Action"])]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["sessions/*/utterances/*"]}}


def test_transcripts_function_has_its_reserved_concurrency_as_its_ceiling(synth):
    _, function = function_by_name(synth.transcription, "transcripts-dev")
    assert (
        function["ReservedConcurrentExecutions"]
        == constants.RESERVED_CONCURRENCY[constants.TRANSCRIPTS]["dev"]
    )
    # Far below the unreserved pool the speech path runs on (docs/ARCHITECTURE.md §12).
    assert constants.RESERVED_CONCURRENCY[constants.TRANSCRIPTS] == {"dev": 2, "prod": 10}
