"""Properties of the SessionManagement stack."""

from __future__ import annotations

from aws_cdk.assertions import Match

from infra import constants
from lambdas.shared import resources as names
from tests.infrastructure.helpers import (
    FAILURE_DESTINATION,
    TRACING,
    actions_on,
    as_list,
    function_by_name,
    post_to_connections,
    resource_id,
    resources,
    role_statements,
    statements_with,
    text,
)


def test_connections_table_has_listener_index(synth):
    synth.sessions.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": "Connections-dev",
            "KeySchema": [{"AttributeName": "connectionId", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "sessionId-targetLanguage-index",
                    "KeySchema": [
                        {"AttributeName": "sessionId", "KeyType": "HASH"},
                        {"AttributeName": "targetLanguage", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ],
        },
    )


def test_sessions_table_key_and_ttl(synth):
    synth.sessions.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": "Sessions-dev",
            "KeySchema": [{"AttributeName": "sessionId", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
        },
    )


def test_chunk_bucket_sends_no_notifications(synth):
    """The live path reads chunks by key; nothing waits on S3 events any more."""
    assert resources(synth.sessions, "Custom::S3BucketNotifications") == {}
    for bucket in resources(synth.sessions, "AWS::S3::Bucket").values():
        assert "NotificationConfiguration" not in bucket["Properties"]
    # No S3 principal may invoke any function, and CDK's BucketNotificationsHandler is gone.
    for permission in resources(synth.sessions, "AWS::Lambda::Permission").values():
        assert "s3" not in text(permission["Properties"]["Principal"])
    for function in resources(synth.sessions, "AWS::Lambda::Function").values():
        assert function["Properties"].get("FunctionName"), "a function not of this project"


def test_chunk_bucket_is_private_encrypted_and_expires(synth):
    synth.sessions.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LifecycleConfiguration": {
                "Rules": Match.array_with([Match.object_like({"ExpirationInDays": 1, "Status": "Enabled"})])
            },
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": "chunk-bucket/"}),
        },
    )


def test_every_bucket_denies_plain_http(synth):
    for template in (synth.sessions, synth.transcription):
        buckets = resources(template, "AWS::S3::Bucket")
        policies = resources(template, "AWS::S3::BucketPolicy")
        secured = {
            p["Properties"]["Bucket"]["Ref"]
            for p in policies.values()
            if any(
                s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                for s in p["Properties"]["PolicyDocument"]["Statement"]
            )
        }
        assert secured == set(buckets)


def test_consumer_size_and_ffmpeg_layer(synth):
    _, consumer = function_by_name(synth.sessions, "s3-audio-consumer-dev")
    assert consumer["MemorySize"] == 1024
    # The streaming worker holds its Transcribe stream up to Lambda's limit, then hands over.
    assert consumer["Timeout"] == 900
    assert consumer["EphemeralStorage"] == {"Size": 2048}
    layer_ids = [layer["Ref"] for layer in consumer["Layers"]]
    layers = resources(synth.sessions, "AWS::Lambda::LayerVersion")
    assert len(layer_ids) == 1 and layer_ids[0] in layers
    assert "ffmpeg" in layers[layer_ids[0]]["Properties"]["LayerName"]
    assert consumer["Environment"]["Variables"]["FFMPEG_PATH"] == "/opt/bin/ffmpeg"
    assert consumer["Environment"]["Variables"]["AUDIO_PROCESSOR_FUNCTION"] == "audio-processor-dev"


def test_functions_use_bundled_handlers_and_latest_runtime(synth):
    for base, handler in (
        (constants.CONNECTION_HANDLER, "connection_handler.handler.lambda_handler"),
        (constants.AUTHORIZER, "authorizer.handler.lambda_handler"),
        (constants.CHUNK_WRITER, "chunk_writer.handler.lambda_handler"),
        (constants.S3_AUDIO_CONSUMER, "s3_audio_consumer.handler.lambda_handler"),
        # Same package (and bundle) as the connection handler, another module.
        (constants.SESSION_TIMER, "connection_handler.timers.lambda_handler"),
    ):
        _, function = function_by_name(synth.sessions, f"{base}-dev")
        assert function["Handler"] == handler
        assert function["Runtime"] == constants.RUNTIME.name
        assert function["LoggingConfig"]["LogGroup"]["Ref"] in resources(
            synth.sessions, "AWS::Logs::LogGroup"
        )


def test_log_groups_have_retention(synth):
    for template in (synth.sessions, synth.transcription):
        for group in resources(template, "AWS::Logs::LogGroup").values():
            assert group["Properties"]["RetentionInDays"] > 0


def test_connect_route_has_lambda_authorizer(synth):
    authorizers = resources(synth.sessions, "AWS::ApiGatewayV2::Authorizer")
    assert len(authorizers) == 1
    authorizer_id, authorizer = next(iter(authorizers.items()))
    assert authorizer["Properties"]["AuthorizerType"] == "REQUEST"
    authorizer_fn, _ = function_by_name(synth.sessions, "connect-authorizer-dev")
    assert authorizer_fn in text(authorizer["Properties"]["AuthorizerUri"])
    # No identity source: listeners connect without a token and are admitted by the authorizer.
    assert authorizer["Properties"]["IdentitySource"] == []
    synth.sessions.has_resource_properties(
        "AWS::ApiGatewayV2::Route",
        {"RouteKey": "$connect", "AuthorizationType": "CUSTOM", "AuthorizerId": {"Ref": authorizer_id}},
    )


def test_routes_cover_every_client_action(synth):
    route_keys = {
        r["Properties"]["RouteKey"] for r in resources(synth.sessions, "AWS::ApiGatewayV2::Route").values()
    }
    assert route_keys == {"$connect", "$disconnect", "$default", *constants.CLIENT_ACTIONS}
    synth.sessions.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"},
    )


def test_stage_throttles_and_logs_access(synth):
    synth.sessions.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": "dev",
            "AutoDeploy": True,
            "DefaultRouteSettings": {
                "ThrottlingRateLimit": constants.STAGE_THROTTLE_RATE["dev"],
                "ThrottlingBurstLimit": constants.STAGE_THROTTLE_BURST["dev"],
            },
            "AccessLogSettings": {
                "DestinationArn": Match.any_value(),
                "Format": Match.string_like_regexp("connectionId"),
            },
        },
    )


def test_speaker_user_pool_is_invite_only_with_mfa(synth):
    synth.sessions.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "MfaConfiguration": "ON",
            "Policies": {"PasswordPolicy": Match.object_like({"MinimumLength": 12})},
        },
    )
    synth.sessions.has_resource_properties(
        "AWS::Cognito::UserPoolClient", {"GenerateSecret": False, "ExplicitAuthFlows": Match.any_value()}
    )
    _, authorizer = function_by_name(synth.sessions, "connect-authorizer-dev")
    variables = authorizer["Environment"]["Variables"]
    assert set(variables) >= {"COGNITO_USER_POOL_ID", "COGNITO_APP_CLIENT_ID", "COGNITO_REGION"}


def _invoke_configs(synth):
    configs = resources(synth.sessions, "AWS::Lambda::EventInvokeConfig")
    return {c["Properties"]["FunctionName"]["Ref"]: c["Properties"] for c in configs.values()}


def test_async_functions_have_failure_queue_and_retry_policy(synth):
    queues = resources(synth.sessions, "AWS::SQS::Queue")
    by_function = _invoke_configs(synth)
    for name in ("chunk-writer-dev", "s3-audio-consumer-dev"):
        function_id, _ = function_by_name(synth.sessions, name)
        config = by_function[function_id]
        base = name.removesuffix("-dev")
        assert config["MaximumRetryAttempts"] == constants.ASYNC_RETRIES[base]
        assert config["MaximumEventAgeInSeconds"] == constants.ASYNC_MAX_EVENT_AGE[base].to_seconds()
        queue_id = config["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        assert queues[queue_id]["Properties"]["SqsManagedSseEnabled"] is True


def test_consumer_is_never_retried(synth):
    """A retry of the same generation could never claim the lease: a crashed worker is
    replaced by the chunk writer's next kick instead, and a stale kick is dropped."""
    function_id, _ = function_by_name(synth.sessions, "s3-audio-consumer-dev")
    config = _invoke_configs(synth)[function_id]
    assert config["MaximumRetryAttempts"] == 0
    assert config["MaximumEventAgeInSeconds"] == 60
    assert "OnFailure" in config["DestinationConfig"]


def _function_arn(name: str) -> dict:
    """The unqualified ARN a grant by deterministic name produces (infra.python_function.function_arn)."""
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":lambda:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":function:{name}",
            ],
        ]
    }


def _chunk_bucket_objects(synth) -> str:
    bucket = resource_id(synth.sessions, "AWS::S3::Bucket", "ChunkBucket")
    return text({"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/sessions/*"]]})


def _sessions_arn(synth) -> dict:
    return {"Fn::GetAtt": [resource_id(synth.sessions, "AWS::DynamoDB::Table", "Sessions"), "Arn"]}


def test_chunk_writer_puts_chunks_and_kicks_the_worker(synth):
    statements = role_statements(synth.sessions, "chunk-writer-dev")
    allowed = actions_on(statements)
    assert set(allowed) == {
        "s3:PutObject",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "lambda:InvokeFunction",
        # Starting the session's worker watch: a delayed message on the timers' queue.
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        *TRACING,
        *FAILURE_DESTINATION,
    }
    assert [text(r) for r in allowed["s3:PutObject"]] == [_chunk_bucket_objects(synth)]
    timer_queue = resource_id(synth.sessions, "AWS::SQS::Queue", "SessionTimersQueue")
    # Its own failure destination, and the timers' queue.
    assert {"Fn::GetAtt": [timer_queue, "Arn"]} in allowed["sqs:SendMessage"]
    assert len(allowed["sqs:SendMessage"]) == 2
    # The session item only (its worker lease and workerKickAt): no index, no other table.
    for action in ("dynamodb:GetItem", "dynamodb:UpdateItem"):
        assert allowed[action] == [_sessions_arn(synth)], action
    assert allowed["lambda:InvokeFunction"] == [_function_arn("s3-audio-consumer-dev")]
    assert all("Condition" not in s for s in statements)


def test_chunk_writer_environment(synth):
    _, writer = function_by_name(synth.sessions, "chunk-writer-dev")
    variables = writer["Environment"]["Variables"]
    bucket = resource_id(synth.sessions, "AWS::S3::Bucket", "ChunkBucket")
    sessions_table = resource_id(synth.sessions, "AWS::DynamoDB::Table", "Sessions")
    assert variables["CHUNK_BUCKET"] == {"Ref": bucket}
    assert variables["SESSIONS_TABLE"] == {"Ref": sessions_table}
    # The deterministic name, as the grant: no reference to the consumer is needed.
    assert variables["AUDIO_CONSUMER_FUNCTION"] == "s3-audio-consumer-dev"
    assert variables["AUDIO_CONSUMER_FUNCTION"] == names.function_name(constants.S3_AUDIO_CONSUMER, "dev")


def test_consumer_permissions_are_least_privilege(synth):
    statements = role_statements(synth.sessions, "s3-audio-consumer-dev")
    allowed = actions_on(statements)
    assert set(allowed) == {
        "s3:GetObject",
        "s3:ListBucket",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "transcribe:StartStreamTranscription",
        "lambda:InvokeFunction",
        "execute-api:ManageConnections",  # the speaker's live words (partialTranscript), POST only
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        *TRACING,
        *FAILURE_DESTINATION,
    }
    # Chunks are read by exact key: GetObject under sessions/ only; past a gap, one LIST
    # of the bucket, conditioned to keys under sessions/.
    assert [text(r) for r in allowed["s3:GetObject"]] == [_chunk_bucket_objects(synth)]
    bucket = resource_id(synth.sessions, "AWS::S3::Bucket", "ChunkBucket")
    assert allowed["s3:ListBucket"] == [{"Fn::GetAtt": [bucket, "Arn"]}]
    listing = [s for s in statements if "s3:ListBucket" in str(s["Action"])]
    assert [s["Condition"] for s in listing] == [{"StringLike": {"s3:prefix": ["sessions/*"]}}]
    for action in ("dynamodb:GetItem", "dynamodb:UpdateItem"):
        assert allowed[action] == [_sessions_arn(synth)], action
    # Transcribe streaming has no resource type: Resource * is all it supports.
    assert allowed["transcribe:StartStreamTranscription"] == ["*"]
    # The processor (other stack) and itself (handover), both by ARN from the deterministic name.
    assert sorted(map(text, allowed["lambda:InvokeFunction"])) == sorted(
        text(_function_arn(name)) for name in ("audio-processor-dev", "s3-audio-consumer-dev")
    )
    assert all("Condition" not in s for s in statements if s not in listing)


def test_consumer_role_does_not_reference_its_own_function(synth):
    """Granting the self-invoke by reference would be a cycle (role -> function -> role)."""
    consumer_id, _ = function_by_name(synth.sessions, "s3-audio-consumer-dev")
    assert consumer_id not in text(role_statements(synth.sessions, "s3-audio-consumer-dev"))


def test_connection_handler_permissions(synth):
    statements = role_statements(synth.sessions, "connection-handler-dev")
    allowed = actions_on(statements)
    assert set(allowed) == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "lambda:InvokeFunction",
        "execute-api:ManageConnections",
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        *TRACING,
    }
    assert "/index/sessionId-targetLanguage-index" in text(allowed["dynamodb:Query"])
    assert allowed["execute-api:ManageConnections"] and all(
        post_to_connections("dev") in text(r) for r in allowed["execute-api:ManageConnections"]
    )
    timer_queue = resource_id(synth.sessions, "AWS::SQS::Queue", "SessionTimersQueue")
    assert allowed["sqs:SendMessage"] == [{"Fn::GetAtt": [timer_queue, "Arn"]}]
    writer_id, _ = function_by_name(synth.sessions, "chunk-writer-dev")
    # The chunk writer by reference; transcripts and fanout (in the later stack) by their
    # deterministic names.
    invoked = allowed["lambda:InvokeFunction"]
    assert {"Fn::GetAtt": [writer_id, "Arn"]} in invoked
    assert len(invoked) == 3
    assert any(":function:transcripts-dev" in text(r) for r in invoked)
    assert any(":function:fanout-dev" in text(r) for r in invoked)
    _, handler = function_by_name(synth.sessions, "connection-handler-dev")
    assert handler["Environment"]["Variables"]["FANOUT_FUNCTION"] == "fanout-dev"
    endpoint = text(handler["Environment"]["Variables"]["API_GATEWAY_ENDPOINT"])
    assert endpoint.startswith('{"Fn::Join": ["", ["https://"') and "wss" not in endpoint


def test_connection_handler_may_not_delete_sessions(synth):
    sessions_table = resource_id(synth.sessions, "AWS::DynamoDB::Table", "Sessions")
    statements = role_statements(synth.sessions, "connection-handler-dev")
    on_sessions = [
        s for s in statements if text(s["Resource"]) == text({"Fn::GetAtt": [sessions_table, "Arn"]})
    ]
    assert {a for s in on_sessions for a in as_list(s["Action"])} == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }
    # No session item can be deleted: DeleteItem reaches single-use rejoin tokens only.
    deletes = statements_with(on_sessions, "dynamodb:DeleteItem")
    assert deletes and all(as_list(s["Action"]) == ["dynamodb:DeleteItem"] for s in deletes)
    for statement in deletes:
        assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["rejoin#*"]}}
    assert all("Condition" not in s for s in on_sessions if s not in deletes)
    assert all(
        sessions_table not in text(s["Resource"]) for s in statements if "index" in text(s["Resource"])
    )


def test_no_wildcard_actions_or_unjustified_wildcard_resources(synth):
    # Actions that have no resource type to scope to, and the only functions that hold them.
    service_wide = {
        "s3-audio-consumer-dev": {"transcribe:StartStreamTranscription"},
        "audio-processor-dev": {"translate:TranslateText", "polly:SynthesizeSpeech"},
    }
    for template in (synth.sessions, synth.transcription):
        for function in resources(template, "AWS::Lambda::Function").values():
            name = function["Properties"]["FunctionName"]  # no CDK-internal functions
            for action, targets in actions_on(role_statements(template, name)).items():
                assert action != "*" and "*" not in action, f"{name}: wildcard action {action}"
                if "*" in targets:
                    justified = service_wide.get(name, set()) | set(TRACING)  # X-Ray takes no ARN
                    assert action in justified, f"{name}: {action} on Resource *"


def test_every_function_and_failure_queue_has_alarms(synth):
    for template in (synth.sessions, synth.transcription):
        alarms = resources(template, "AWS::CloudWatch::Alarm").values()
        watched = {(a["Properties"]["MetricName"], text(a["Properties"]["Dimensions"])) for a in alarms}
        for logical_id, function in resources(template, "AWS::Lambda::Function").items():
            if not function["Properties"].get("FunctionName"):
                continue
            for metric in ("Errors", "Throttles"):
                assert any(m == metric and logical_id in d for m, d in watched), (logical_id, metric)
        for logical_id in resources(template, "AWS::SQS::Queue"):
            assert any(m == "ApproximateNumberOfMessagesVisible" and logical_id in d for m, d in watched)
        for alarm in alarms:
            assert alarm["Properties"]["AlarmActions"], "alarm without an action"


def test_session_stack_does_not_depend_on_transcription_stack(synth):
    assert "Fn::ImportValue" not in text(synth.sessions.to_json())
    assert names.function_name(constants.AUDIO_PROCESSOR, "dev") == "audio-processor-dev"
