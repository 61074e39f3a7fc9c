#!/usr/bin/env python3
"""AWS resources for the Lambda tests, made on moto_server with boto3 (which moto
installs). Every subcommand prints one JSON document.

    aws_fixture.py put-object BUCKET KEY FILE        the migration bundle asset
    aws_fixture.py create-secret NAME SECRET_JSON    -> {"arn"}
    aws_fixture.py capture BUS                       bus (unless "default") + queue + rule for
                                                     depot-migrate lifecycle events -> {"queueUrl"}
    aws_fixture.py drain QUEUE_URL [SECONDS]         message bodies, parsed, until the queue
                                                     stays empty for SECONDS (default 1)
    aws_fixture.py create-queue NAME                 -> {"queueUrl", "arn"}
    aws_fixture.py send-receive QUEUE_URL BODY       sends BODY, receives it -> the record an
                                                     SQS event source mapping would pass (other
                                                     messages received meanwhile are deleted)
    aws_fixture.py visibility QUEUE_URL              -> {"visible", "inFlight"} message counts
    aws_fixture.py caller-identity                   STS GetCallerIdentity -> {"arn", "account", "userId"}

The endpoint is AWS_ENDPOINT_URL (moto_server); credentials are dummies.
"""

import json
import os
import sys
import time
import uuid

import boto3

REGION = os.environ.get("AWS_REGION", "eu-west-1")


def client(name):
    return boto3.client(
        name,
        region_name=REGION,
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def main(argv):
    cmd, args = argv[0], argv[1:]
    if cmd == "caller-identity":
        out = client("sts").get_caller_identity()
        return {"arn": out["Arn"], "account": out["Account"], "userId": out["UserId"]}
    if cmd == "put-object":
        bucket, key, path = args
        s3 = client("s3")
        try:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        with open(path, "rb") as f:
            s3.put_object(Bucket=bucket, Key=key, Body=f.read())
        return {"uri": f"s3://{bucket}/{key}"}
    if cmd == "create-secret":
        name, secret = args
        out = client("secretsmanager").create_secret(Name=name, SecretString=secret)
        return {"arn": out["ARN"]}
    if cmd == "capture":
        (bus,) = args
        events, sqs = client("events"), client("sqs")
        if bus != "default":
            events.create_event_bus(Name=bus)
        q = sqs.create_queue(QueueName=f"capture-{uuid.uuid4().hex[:12]}")
        arn = sqs.get_queue_attributes(QueueUrl=q["QueueUrl"], AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        rule = f"capture-{uuid.uuid4().hex[:12]}"
        events.put_rule(
            Name=rule,
            EventBusName=bus,
            EventPattern=json.dumps({"source": ["tech.stage.depot"], "detail-type": ["migration-lifecycle"]}),
        )
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
        return {"queueUrl": q["QueueUrl"]}
    if cmd == "drain":
        url = args[0]
        quiet = float(args[1]) if len(args) > 1 else 1.0
        sqs, bodies = client("sqs"), []
        last = time.monotonic()
        while time.monotonic() - last < quiet:
            out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            msgs = out.get("Messages", [])
            if not msgs:
                time.sleep(0.1)
                continue
            last = time.monotonic()
            for m in msgs:
                bodies.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return bodies
    if cmd == "create-queue":
        (name,) = args
        sqs = client("sqs")
        q = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "30"})
        arn = sqs.get_queue_attributes(QueueUrl=q["QueueUrl"], AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        return {"queueUrl": q["QueueUrl"], "arn": arn}
    if cmd == "send-receive":
        url, body = args
        sqs = client("sqs")
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sent = sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"]
        # Receive the message just sent (earlier ones whose visibility ran out may come
        # first: they are deleted, as the event source mapping would have done).
        deadline, m = time.monotonic() + 20, None
        while m is None and time.monotonic() < deadline:
            out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for msg in out.get("Messages", []):
                if msg["MessageId"] == sent:
                    m = msg
                else:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
        if m is None:
            raise SystemExit(f"message {sent} did not arrive")
        return {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": arn,
            "awsRegion": REGION,
        }
    if cmd == "visibility":
        (url,) = args
        a = client("sqs").get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return {
            "visible": int(a["ApproximateNumberOfMessages"]),
            "inFlight": int(a["ApproximateNumberOfMessagesNotVisible"]),
        }
    raise SystemExit(f"unknown subcommand {cmd!r}; see the docstring")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
