#!/usr/bin/env bash
# Follows one Lambda function's logs.
#   scripts/tail-lambda-logs.sh audio-processor            (environment dev)
#   scripts/tail-lambda-logs.sh s3-audio-consumer prod
#   scripts/tail-lambda-logs.sh audio-processor-dev        (a full function name works too)
set -euo pipefail
if [[ $# -lt 1 ]]; then
  echo "usage: $0 <function> [dev|prod]" >&2
  echo "functions: connection-handler connect-authorizer chunk-writer s3-audio-consumer audio-processor" >&2
  exit 2
fi
FN="$1"
ENV_NAME="${2:-${ENV:-dev}}"
[[ "$FN" == *-dev || "$FN" == *-prod ]] || FN="$FN-$ENV_NAME"

if ! command -v aws >/dev/null 2>&1; then
  echo "tail-lambda-logs: the AWS CLI v2 ('aws') is not installed; see the AWS CLI install guide." >&2
  exit 1
fi
if ! aws sts get-caller-identity >/dev/null 2>&1; then
  echo "tail-lambda-logs: no usable AWS credentials. Run 'aws configure' or set AWS_PROFILE," >&2
  echo "then run this again: $0 $*" >&2
  exit 1
fi
exec aws logs tail "/aws/lambda/$FN" --follow --format short
