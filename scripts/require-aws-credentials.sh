#!/usr/bin/env bash
# Stops a deploy early, with a clear message, when no AWS credentials are usable.
set -euo pipefail
PY="${PY:-.venv/bin/python}"
if ! identity="$("$PY" - <<'PY' 2>&1
import boto3, botocore.exceptions, sys
try:
    who = boto3.client("sts").get_caller_identity()
except (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError) as error:
    sys.exit(f"no AWS credentials: {error}")
except botocore.exceptions.NoRegionError:
    sys.exit("no AWS region: set AWS_REGION or AWS_DEFAULT_REGION")
except botocore.exceptions.BotoCoreError as error:
    sys.exit(f"AWS credentials are not usable: {error}")
except botocore.exceptions.ClientError as error:
    sys.exit(f"AWS rejected the credentials: {error}")
print(f"{who['Account']} as {who['Arn']}")
PY
)"; then
  echo "deploy needs AWS credentials and a region: $identity" >&2
  echo "Configure them (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY + AWS_REGION)," >&2
  echo "bootstrap once with: node_modules/.bin/cdk bootstrap aws://ACCOUNT/REGION, then run make deploy-dev again." >&2
  exit 1
fi
echo "AWS account $identity"
