"""Validates request bodies a receiver saved against a service's published schema.

usage: validate_payloads.py pagerduty|adaptive-card SCHEMA FILE...

pagerduty: each file is one Events API v2 request body, checked against the request body schema
of POST /enqueue in PagerDuty's OpenAPI document, made strict (no member the API does not
define, at the top level or in `payload`), so a misspelt key fails too.
adaptive-card: each file is a Teams Workflows message; the card in its one attachment is checked
against the Adaptive Card schema.
Prints one line per error and exits 1 when any file is invalid; prints "valid N" otherwise.
"""
import copy
import json
import sys

import jsonschema

kind, schema_path, *files = sys.argv[1:]
with open(schema_path, encoding="utf-8") as handle:
    document = json.load(handle)

if kind == "pagerduty":
    schema = copy.deepcopy(document["paths"]["/enqueue"]["post"]["requestBody"]["content"]["application/json"]["schema"])
    schema["components"] = copy.deepcopy(document["components"])
    schema["additionalProperties"] = False
    schema["components"]["schemas"]["Payload"]["additionalProperties"] = False
    # OpenAPI 3.0 schema objects are a draft-4 dialect.
    validator = jsonschema.Draft4Validator(schema)
    extract = lambda body: body
elif kind == "adaptive-card":
    validator = jsonschema.Draft6Validator(document)

    def extract(body):
        attachments = body.get("attachments") or [{}]
        return attachments[0].get("content")
else:
    sys.exit(f"unknown kind {kind}")

failed = 0
for path in files:
    with open(path, encoding="utf-8") as handle:
        instance = extract(json.load(handle))
    errors = sorted(validator.iter_errors(instance), key=lambda error: list(error.absolute_path))
    for error in errors:
        failed += 1
        where = "/".join(str(part) for part in error.absolute_path) or "(top)"
        print(f"{path}: {where}: {error.message}")
if failed:
    sys.exit(1)
print(f"valid {len(files)}")
