#!/usr/bin/env bash
# Submit a job, read it back, and list jobs with plain curl and the API key.
#   ASYNCML_URL=http://127.0.0.1:8000/graphql ASYNCML_API_KEY=... client_examples/curl.sh [PAYLOAD]
# Against AppSync, set ASYNCML_URL to https://<id>.appsync-api.<region>.amazonaws.com/graphql and the
# API key to the stack's key: the requests are the same.
set -euo pipefail

URL="${ASYNCML_URL:-http://127.0.0.1:8000/graphql}"
KEY="${ASYNCML_API_KEY:?set ASYNCML_API_KEY to the API key (asyncml serve prints it)}"
PAYLOAD="${1:-5.1,3.5,1.4,0.2}"

# One GraphQL request: the query and its variables as a JSON body, the key in the x-api-key header.
graphql() {
  curl --silent --show-error --fail-with-body \
    -H "content-type: application/json" \
    -H "x-api-key: ${KEY}" \
    --data "$1" "${URL}"
  echo
}

# The payload is one CSV line, so it cannot hold a quote or backslash needing more JSON escaping than this.
payload_json=$(printf '%s' "$PAYLOAD" | sed 's/\\/\\\\/g; s/"/\\"/g')

echo "# submitJob"
submitted=$(graphql '{"query":"mutation ($input: SubmitJobInput!) { submitJob(input: $input) { jobId status submittedAt } }","variables":{"input":{"payload":"'"${payload_json}"'"}}}')
echo "$submitted"
job_id=$(printf '%s' "$submitted" | sed -n 's/.*"jobId" *: *"\([^"]*\)".*/\1/p')
if [ -z "$job_id" ]; then
  echo "submitJob returned no jobId" >&2
  exit 1
fi

echo "# getJob ${job_id}"
graphql '{"query":"query ($id: ID!) { getJob(jobId: $id) { jobId status batchId result error submittedAt completedAt } }","variables":{"id":"'"${job_id}"'"}}'

echo "# listJobs (newest 5)"
graphql '{"query":"{ listJobs(limit: 5) { items { jobId status result } nextToken } }"}'
