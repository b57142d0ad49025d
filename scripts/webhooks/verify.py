"""Verifies one webhook request with the standardwebhooks library, unchanged, as a receiver
would: reads {"secret", "headers", "body"} as JSON on stdin, prints the verified event's
type, and exits non-zero (WebhookVerificationError) if the signature does not verify.
Run by color-worker's webhook_signatures test with the venv scripts/test installs."""

import json
import sys

from standardwebhooks.webhooks import Webhook

request = json.load(sys.stdin)
event = Webhook(request["secret"]).verify(request["body"], request["headers"])
print(event["type"])
