#!/bin/sh
# One-shot MinIO setup, run with the `mc` image by docker compose (minio-init) and by the
# Kubernetes Job in deploy/ (minio-init, optional component): creates the bucket and attaches
# the bucket notification for cover objects to the AMQP target that MinIO's environment
# defines (MINIO_NOTIFY_AMQP_*_<ID>). Idempotent: safe to run on every `up`.
#
# Environment: S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET, AMQP_TARGET_ID.
set -eu

mc alias set store "$S3_ENDPOINT" "$S3_ACCESS_KEY" "$S3_SECRET_KEY"
mc mb --ignore-existing "store/$S3_BUCKET"
# `put` is every s3:ObjectCreated:* event (Put, Post, Copy, CompleteMultipartUpload); the
# prefix keeps other objects in a shared bucket from reaching the work queue at all.
mc event add --ignore-existing --event put --prefix covers/ \
    "store/$S3_BUCKET" "arn:minio:sqs::${AMQP_TARGET_ID}:amqp"
mc event ls "store/$S3_BUCKET"
