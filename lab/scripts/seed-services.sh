#!/usr/bin/env bash
# Prints the lines .lab/env gets for the seed's check on the lab (lab/README.md): Antaeus's
# NodePort URL and one of its callers' tokens, read from its Secret in the first environment.
# Prints nothing until that Secret exists (its controller unseals it). Used by up.sh; about the
# two seed services by name.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

first_env="$(delivery catalogue environments | head -n 1)"
namespace="$(delivery catalogue namespace "$(delivery catalogue team-of antaeus)" "$first_env")"
tokens="$(kubectl -n "$namespace" get secret antaeus-api-tokens -o jsonpath='{.data.tokens}' 2>/dev/null)" || exit 0
cat <<ENV
export ANTAEUS_URL=http://$LAB_NODE_IP:30080
export ANTAEUS_TOKEN=$(base64 -d <<<"$tokens" | cut -d, -f1)
ENV
