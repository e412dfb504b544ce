#!/usr/bin/env bash
# Smoke test of the local AWS emulators: brings them up with up.sh (reusing
# running ones), sources its env file, then with boto3 from the moto venv:
#   DynamoDB  create table, put/get an item, a conditional TransactWriteItems
#             that commits and one that must be cancelled without a partial write;
#   SQS       create a queue, send, receive and delete a message;
#   SES       verify an identity, send an email, read it back from moto's
#             GET /moto-api/data.json; an unverified sender must be rejected.
# Prints one OK line per step (to stdout); exits non-zero on the first failure.
# It leaves the emulators running: stop them with infra/emulators/down.sh.
#
# Usage:   bash infra/emulators/check.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${KHAMSA_CACHE:-${HOME:-/tmp}/.cache/khamsa}

env_file=$(bash "$here/up.sh")
# shellcheck disable=SC1090
source "$env_file"
echo "OK emulators up: dynamodb $AWS_ENDPOINT_URL_DYNAMODB, moto $KHAMSA_MOTO_URL"

exec "$cache/moto-venv/bin/python" - <<'PY'
import json
import os
import sys
import time
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

for var in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_SES", "KHAMSA_MOTO_URL"):
    url = os.environ.get(var, "")
    if not url.startswith("http://127.0.0.1:"):
        sys.exit(f"FAIL {var}={url!r} does not point at a local emulator")

cfg = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"})
region = os.environ["AWS_REGION"]
# Each client picks its endpoint from AWS_ENDPOINT_URL_<SERVICE> (botocore >= 1.31).
ddb = boto3.client("dynamodb", region_name=region, config=cfg)
sqs = boto3.client("sqs", region_name=region, config=cfg)
ses = boto3.client("ses", region_name=region, config=cfg)
suffix = f"{int(time.time() * 1000)}-{os.getpid()}"


def ok(msg):
    print(f"OK {msg}", flush=True)


def fail(msg):
    sys.exit(f"FAIL {msg}")


# ----------------------------------------------------------------- DynamoDB
assert ddb.meta.endpoint_url == os.environ["AWS_ENDPOINT_URL_DYNAMODB"], ddb.meta.endpoint_url
table = f"khamsa-check-{suffix}"
ddb.create_table(
    TableName=table,
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                          {"AttributeName": "sk", "AttributeType": "S"}],
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
               {"AttributeName": "sk", "KeyType": "RANGE"}],
    BillingMode="PAY_PER_REQUEST",
)
ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
ok(f"dynamodb create_table {table}")

acct = {"pk": {"S": "ACCOUNT#omar"}, "sk": {"S": "BALANCE"}, "cents": {"N": "5000"}, "name": {"S": "عمر"}}
ddb.put_item(TableName=table, Item=acct, ConditionExpression="attribute_not_exists(pk)")
got = ddb.get_item(TableName=table, Key={"pk": acct["pk"], "sk": acct["sk"]}, ConsistentRead=True).get("Item")
if got != acct:
    fail(f"dynamodb get_item returned {got!r}, expected {acct!r}")
ok("dynamodb put_item/get_item round-trip")

# A transfer into escrow: debit only if the balance covers it, create the
# order only if it does not exist yet.
key = {"pk": acct["pk"], "sk": acct["sk"]}


def transfer(order_id, cents):
    return ddb.transact_write_items(TransactItems=[
        {"Update": {
            "TableName": table, "Key": key,
            "UpdateExpression": "SET cents = cents - :amt",
            "ConditionExpression": "cents >= :amt",
            "ExpressionAttributeValues": {":amt": {"N": str(cents)}},
        }},
        {"Put": {
            "TableName": table,
            "Item": {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "META"}, "cents": {"N": str(cents)}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }},
    ])


def balance():
    item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    return int(item["cents"]["N"])


transfer("o1", 1500)
if balance() != 3500:
    fail(f"dynamodb balance after transfer is {balance()}, expected 3500")
ok("dynamodb transact_write_items (conditions hold) committed")

for order_id, cents, expect in (("o2", 999999, ["ConditionalCheckFailed", "None"]),
                                ("o1", 100, ["None", "ConditionalCheckFailed"])):
    try:
        transfer(order_id, cents)
    except ClientError as e:
        if e.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = [r.get("Code") for r in e.response.get("CancellationReasons", [])]
        if reasons != expect:
            fail(f"dynamodb cancellation reasons {reasons}, expected {expect}")
    else:
        fail(f"dynamodb transaction {order_id}/{cents} should have been cancelled")
    if balance() != 3500:
        fail("dynamodb cancelled transaction left a partial write")
ok("dynamodb transact_write_items (a condition fails) cancelled with reasons, nothing written")

ddb.delete_table(TableName=table)
ok("dynamodb delete_table")

# ---------------------------------------------------------------------- SQS
assert sqs.meta.endpoint_url == os.environ["AWS_ENDPOINT_URL_SQS"], sqs.meta.endpoint_url
queue_url = sqs.create_queue(QueueName=f"khamsa-check-{suffix}")["QueueUrl"]
ok(f"sqs create_queue {queue_url}")
body = json.dumps({"kind": "order_placed", "order": "o1", "text": "مرحبا"}, ensure_ascii=False)
sent = sqs.send_message(QueueUrl=queue_url, MessageBody=body,
                        MessageAttributes={"kind": {"DataType": "String", "StringValue": "order_placed"}})
msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=2,
                           MessageAttributeNames=["All"]).get("Messages", [])
if len(msgs) != 1 or msgs[0]["Body"] != body or msgs[0]["MessageId"] != sent["MessageId"]:
    fail(f"sqs received {msgs!r}, expected the message just sent")
if msgs[0]["MessageAttributes"]["kind"]["StringValue"] != "order_placed":
    fail(f"sqs message attributes {msgs[0].get('MessageAttributes')!r}")
sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=msgs[0]["ReceiptHandle"])
left = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", [])
if left:
    fail(f"sqs queue not empty after delete_message: {left!r}")
sqs.delete_queue(QueueUrl=queue_url)
ok("sqs send_message/receive_message/delete_message")

# ---------------------------------------------------------------------- SES
assert ses.meta.endpoint_url == os.environ["AWS_ENDPOINT_URL_SES"], ses.meta.endpoint_url
sender = "noreply@khamsa.test"
ses.verify_email_identity(EmailAddress=sender)
if sender not in ses.list_identities(IdentityType="EmailAddress")["Identities"]:
    fail("ses identity not listed after verify_email_identity")
ok(f"ses verify_email_identity {sender}")

to = f"sara+{suffix}@example.com"
subject = f"طلب جديد {suffix}"
text = "Omar ordered your logo service."
msg_id = ses.send_email(
    Source=sender,
    Destination={"ToAddresses": [to]},
    Message={"Subject": {"Data": subject, "Charset": "UTF-8"},
             "Body": {"Text": {"Data": text, "Charset": "UTF-8"}}},
)["MessageId"]
ok(f"ses send_email {msg_id}")

# moto's GET /moto-api/data.json (moto 5.2.x) dumps every model instance of
# every loaded service, all accounts and regions together (no region field):
#   {"ses": {"Message": [{"id": "<MessageId>", "source": "noreply@...",
#       "subject": "...", "body": "...",
#       "destinations": {"ToAddresses": [...], "CcAddresses": [...], "BccAddresses": [...]}}],
#     "RawMessage": [{"id", "source", "destinations": [...], "raw_data": "<MIME>"}],
#     "TemplateMessage": [...], "EmailIdentity": [...], ...}, "sqs": {...}, ...}
# "body" is the Html part when the email has one, else the Text part (never
# both); "destinations" echoes only the keys the request had. The "ses" key
# is absent until moto has served its first SES call. POST /moto-api/reset
# clears all state.
with urllib.request.urlopen(os.environ["KHAMSA_MOTO_URL"] + "/moto-api/data.json", timeout=10) as r:
    data = json.load(r)
found = [m for m in data.get("ses", {}).get("Message", []) if m.get("id") == msg_id]
if len(found) != 1:
    fail(f"ses message {msg_id} not in /moto-api/data.json")
m = found[0]
expected = {"id": msg_id, "source": sender, "subject": subject, "body": text,
            "destinations": {"ToAddresses": [to]}}
if m != expected:
    fail(f"ses message in data.json is {m!r}, expected {expected!r}")
ok("ses message read back from /moto-api/data.json (source, subject, body, destinations)")

try:
    ses.send_email(Source=f"nobody+{suffix}@unverified.example",
                   Destination={"ToAddresses": [to]},
                   Message={"Subject": {"Data": "x"}, "Body": {"Text": {"Data": "x"}}})
except ClientError as e:
    if e.response["Error"]["Code"] != "MessageRejected":
        raise
    ok("ses send_email from an unverified sender rejected (MessageRejected)")
else:
    fail("ses accepted an email from an unverified sender")

print("check: all OK", flush=True)
PY
