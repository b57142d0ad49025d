//! Queries on `webhook_endpoints`, `webhook_deliveries` and `webhook_attempts`: the endpoints
//! a caller manages (only its organization's), and the dispatcher's claim-send-record cycle.
//! The events themselves are written by the `cover_uploads` trigger (V0009).

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::db::query;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::{Json, ToSql};
use uuid::Uuid;

/// Column list of every statement that returns an endpoint; [`endpoint_from_row`] reads it.
macro_rules! endpoint_columns {
    () => {
        "id, url, events, secret, created_at, disabled_at, disabled_reason"
    };
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub secret: String,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
}

fn endpoint_from_row(row: &Row) -> Endpoint {
    Endpoint {
        id: row.get(0),
        url: row.get(1),
        events: row.get(2),
        secret: row.get(3),
        created_at: row.get(4),
        disabled_at: row.get(5),
        disabled_reason: row.get(6),
    }
}

/// Inserts an endpoint unless the organization has `max` already; `None` if it has. Run it
/// in a transaction: the organization's row is locked so that concurrent creations count
/// each other.
pub async fn insert_endpoint(
    client: &impl GenericClient,
    organization_id: Uuid,
    url: &str,
    events: &[&str],
    secret: &str,
    max: i64,
) -> Result<Option<Endpoint>, tokio_postgres::Error> {
    let lock = "SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE";
    query::execute(client, lock, &[&organization_id]).await?;
    let sql = concat!(
        "INSERT INTO webhook_endpoints (id, organization_id, url, events, secret)
         SELECT $1, $2, $3, $4, $5
         WHERE (SELECT count(*) FROM webhook_endpoints WHERE organization_id = $2) < $6
         RETURNING ",
        endpoint_columns!()
    );
    let id = Uuid::now_v7();
    let params: [&(dyn ToSql + Sync); 6] = [&id, &organization_id, &url, &events, &secret, &max];
    query::opt(client, sql, &params, endpoint_from_row).await
}

/// The organization's endpoints, oldest first (there are at most `webhooks.max_endpoints`).
pub async fn list_endpoints(
    client: &impl GenericClient,
    organization_id: Uuid,
) -> Result<Vec<Endpoint>, tokio_postgres::Error> {
    let sql = concat!(
        "SELECT ",
        endpoint_columns!(),
        " FROM webhook_endpoints WHERE organization_id = $1 ORDER BY created_at, id"
    );
    query::all(client, sql, &[&organization_id], endpoint_from_row).await
}

pub async fn get_endpoint(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
) -> Result<Option<Endpoint>, tokio_postgres::Error> {
    let sql = concat!(
        "SELECT ",
        endpoint_columns!(),
        " FROM webhook_endpoints WHERE id = $1 AND organization_id = $2"
    );
    query::opt(client, sql, &[&id, &organization_id], endpoint_from_row).await
}

/// Deletes the endpoint with its deliveries; false if the organization has no such endpoint.
pub async fn delete_endpoint(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
) -> Result<bool, tokio_postgres::Error> {
    let sql = "DELETE FROM webhook_endpoints WHERE id = $1 AND organization_id = $2";
    Ok(query::execute(client, sql, &[&id, &organization_id]).await? == 1)
}

/// Replaces the endpoint's secret; the one it had keeps signing beside it for `overlap`.
pub async fn rotate_secret(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
    secret: &str,
    overlap: Duration,
) -> Result<Option<Endpoint>, tokio_postgres::Error> {
    let sql = concat!(
        "UPDATE webhook_endpoints
         SET previous_secret = secret, secret = $3,
             previous_secret_expires_at = now() + make_interval(secs => $4)
         WHERE id = $1 AND organization_id = $2
         RETURNING ",
        endpoint_columns!()
    );
    let params: [&(dyn ToSql + Sync); 4] = [&id, &organization_id, &secret, &overlap.as_secs_f64()];
    query::opt(client, sql, &params, endpoint_from_row).await
}

/// One delivery of one event to one endpoint, with its attempts.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub cover_upload_id: Uuid,
    pub status: String,
    pub attempts: Vec<Attempt>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Attempt {
    pub attempted_at: DateTime<Utc>,
    /// The receiver's answer; null when there was none (see `error`).
    pub status_code: Option<i32>,
    /// Why there was no 2xx answer: a timeout, a refused connection, a refused address.
    pub error: Option<String>,
    pub duration_ms: i32,
}

macro_rules! delivery_columns {
    () => {
        "d.id, d.event_id, ev.type, (ev.upload ->> 'id')::uuid, d.status,
         (SELECT coalesce(jsonb_agg(jsonb_build_object(
                     'attempted_at', a.attempted_at, 'status_code', a.status_code,
                     'error', a.error, 'duration_ms', a.duration_ms)
                  ORDER BY a.attempted_at), '[]')
          FROM webhook_attempts a WHERE a.delivery_id = d.id),
         CASE WHEN d.status = 'pending' THEN d.next_attempt_at END, d.created_at,
         d.finished_at"
    };
}

fn delivery_from_row(row: &Row) -> Delivery {
    Delivery {
        id: row.get(0),
        event_id: row.get(1),
        event_type: row.get(2),
        cover_upload_id: row.get(3),
        status: row.get(4),
        attempts: row.get::<_, Json<Vec<Attempt>>>(5).0,
        next_attempt_at: row.get(6),
        created_at: row.get(7),
        finished_at: row.get(8),
    }
}

/// The endpoint's deliveries, newest first, paged.
pub async fn list_deliveries(
    client: &impl GenericClient,
    endpoint_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<Vec<Delivery>, tokio_postgres::Error> {
    let sql = concat!(
        "SELECT ",
        delivery_columns!(),
        " FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id
         WHERE d.endpoint_id = $1
         ORDER BY d.created_at DESC, d.id DESC LIMIT $2 OFFSET $3"
    );
    query::all(
        client,
        sql,
        &[&endpoint_id, &limit, &offset],
        delivery_from_row,
    )
    .await
}

/// Makes the delivery due now with a fresh schedule, whatever became of it, and enables its
/// endpoint again: a retry by hand says the receiver is back. `None` if the endpoint has no
/// such delivery.
pub async fn retry_delivery(
    client: &impl GenericClient,
    endpoint_id: Uuid,
    id: Uuid,
) -> Result<Option<Delivery>, tokio_postgres::Error> {
    let sql = "UPDATE webhook_deliveries
         SET status = 'pending', attempts = 0, next_attempt_at = now(), claimed_until = NULL,
             finished_at = NULL
         WHERE id = $1 AND endpoint_id = $2";
    if query::execute(client, sql, &[&id, &endpoint_id]).await? == 0 {
        return Ok(None);
    }
    let sql = "UPDATE webhook_endpoints
         SET disabled_at = NULL, disabled_reason = NULL, failing_since = NULL
         WHERE id = $1 AND disabled_at IS NOT NULL";
    query::execute(client, sql, &[&endpoint_id]).await?;
    let sql = concat!(
        "SELECT ",
        delivery_columns!(),
        " FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id
         WHERE d.id = $1"
    );
    query::opt(client, sql, &[&id], delivery_from_row).await
}

/// A delivery a dispatcher has claimed: what it needs to send one attempt.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    /// This attempt's number since the delivery was created or retried, from 1.
    pub attempt: i32,
    pub event_id: Uuid,
    pub event_type: String,
    pub event_created_at: DateTime<Utc>,
    pub endpoint_id: Uuid,
    pub url: String,
    /// The secrets that sign: the endpoint's, and the one before a rotation until it expires.
    pub secrets: Vec<String>,
}

/// Claims up to `limit` due deliveries of enabled endpoints, at most `per_endpoint` in flight
/// per endpoint across every dispatcher, for `lease`. Each endpoint costs two index probes
/// (due, in flight), whatever the backlog, so one receiver's backlog never slows the claims
/// of others. A dispatcher that dies mid-attempt leaves its deliveries due again when the
/// lease ends (sent twice, never lost). Locked rows are skipped, so replicas never claim the
/// same delivery at once.
pub async fn claim_due(
    client: &impl GenericClient,
    limit: i64,
    per_endpoint: i64,
    lease: Duration,
) -> Result<Vec<Claimed>, tokio_postgres::Error> {
    let sql = "WITH due AS (
             SELECT d.id
             FROM webhook_endpoints e
             CROSS JOIN LATERAL (
                 SELECT d.id FROM webhook_deliveries d
                 WHERE d.endpoint_id = e.id AND d.status = 'pending'
                   AND d.next_attempt_at <= now()
                 ORDER BY d.next_attempt_at
                 LIMIT greatest($2 - (SELECT count(*) FROM webhook_deliveries f
                                      WHERE f.endpoint_id = e.id AND f.status = 'pending'
                                        AND f.claimed_until IS NOT NULL
                                        AND f.claimed_until > now()), 0)
                 FOR UPDATE SKIP LOCKED) d
             WHERE e.disabled_at IS NULL
             LIMIT $1)
         UPDATE webhook_deliveries d
         SET attempts = d.attempts + 1, claimed_until = now() + make_interval(secs => $3),
             next_attempt_at = now() + make_interval(secs => $3)
         FROM due, webhook_events ev, webhook_endpoints e
         WHERE d.id = due.id AND ev.id = d.event_id AND e.id = d.endpoint_id
         RETURNING d.id, d.attempts, ev.id, ev.type, ev.created_at, e.id, e.url, e.secret,
             CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret END";
    let lease = lease.as_secs_f64();
    query::all(client, sql, &[&limit, &per_endpoint, &lease], |row| {
        Claimed {
            id: row.get(0),
            attempt: row.get(1),
            event_id: row.get(2),
            event_type: row.get(3),
            event_created_at: row.get(4),
            endpoint_id: row.get(5),
            url: row.get(6),
            secrets: [row.get::<_, Option<String>>(7), row.get(8)]
                .into_iter()
                .flatten()
                .collect(),
        }
    })
    .await
}

/// How an attempt ended: the receiver's status code, or why there was none.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration: Duration,
}

impl Outcome {
    pub fn delivered(&self) -> bool {
        self.status_code
            .is_some_and(|code| (200..300).contains(&code))
    }
}

/// Records delivered attempts (`Outcome::delivered`), all in one statement: each attempt,
/// its delivery `delivered`, and its endpoint no longer failing.
pub async fn record_delivered(
    client: &impl GenericClient,
    delivered: &[(Claimed, Outcome)],
) -> Result<(), tokio_postgres::Error> {
    let ids: Vec<Uuid> = delivered.iter().map(|(delivery, _)| delivery.id).collect();
    let endpoints: Vec<Uuid> = delivered.iter().map(|(d, _)| d.endpoint_id).collect();
    let at: Vec<DateTime<Utc>> = delivered.iter().map(|(_, o)| o.attempted_at).collect();
    let codes: Vec<Option<i32>> = delivered.iter().map(|(_, o)| o.status_code).collect();
    let durations: Vec<i32> = delivered.iter().map(|(_, o)| duration_ms(o)).collect();
    let sql = "WITH done AS (
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::int[],
                                  $5::int[]) AS t(id, endpoint_id, attempted_at, status_code,
                                                  duration_ms)),
         attempt AS (
             INSERT INTO webhook_attempts
                 (delivery_id, attempted_at, status_code, duration_ms)
             SELECT d.id, done.attempted_at, done.status_code, done.duration_ms
             FROM done JOIN webhook_deliveries d ON d.id = done.id),
         delivery AS (
             UPDATE webhook_deliveries d
             SET status = 'delivered', finished_at = now(), claimed_until = NULL
             FROM done WHERE d.id = done.id AND d.status = 'pending')
         UPDATE webhook_endpoints e SET failing_since = NULL
         WHERE e.id IN (SELECT endpoint_id FROM done) AND e.failing_since IS NOT NULL";
    let params: [&(dyn ToSql + Sync); 5] = [&ids, &endpoints, &at, &codes, &durations];
    query::execute(client, sql, &params).await?;
    Ok(())
}

fn duration_ms(outcome: &Outcome) -> i32 {
    i32::try_from(outcome.duration.as_millis()).unwrap_or(i32::MAX)
}

/// Records a failed attempt and what follows from it: due again after `retry_in`, or, with
/// no `retry_in`, failed. A failure that leaves the endpoint failing for longer than
/// `disable_after` disables it and fails its pending deliveries.
pub async fn record_failure(
    client: &impl GenericClient,
    delivery: &Claimed,
    outcome: &Outcome,
    retry_in: Option<Duration>,
    disable_after: Duration,
) -> Result<(), tokio_postgres::Error> {
    let retry_in = retry_in.map(|wait| wait.as_secs_f64());
    let sql = "WITH attempt AS (
             INSERT INTO webhook_attempts
                 (delivery_id, attempted_at, status_code, error, duration_ms)
             SELECT id, $2, $3, $4, $5 FROM webhook_deliveries WHERE id = $1)
         UPDATE webhook_deliveries
         SET status = CASE WHEN $6::float8 IS NULL THEN 'failed' ELSE 'pending' END,
             next_attempt_at = now() + make_interval(secs => coalesce($6, 0)),
             finished_at = CASE WHEN $6 IS NULL THEN now() END, claimed_until = NULL
         WHERE id = $1 AND status = 'pending'";
    let params: [&(dyn ToSql + Sync); 6] = [
        &delivery.id,
        &outcome.attempted_at,
        &outcome.status_code,
        &outcome.error,
        &duration_ms(outcome),
        &retry_in,
    ];
    query::execute(client, sql, &params).await?;
    let sql = "UPDATE webhook_endpoints
         SET failing_since = coalesce(failing_since, $2),
             disabled_at = CASE WHEN failing_since < now() - make_interval(secs => $3)
                                THEN now() END,
             disabled_reason = CASE WHEN failing_since < now() - make_interval(secs => $3)
                 THEN 'every attempt failed since ' || to_char(failing_since AT TIME ZONE 'UTC',
                                                               'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
                 END
         WHERE id = $1 AND disabled_at IS NULL
         RETURNING disabled_at IS NOT NULL";
    let disable_after = disable_after.as_secs_f64();
    let params: [&(dyn ToSql + Sync); 3] =
        [&delivery.endpoint_id, &outcome.attempted_at, &disable_after];
    let disabled = query::opt(client, sql, &params, |row| row.get::<_, bool>(0)).await?;
    if disabled == Some(true) {
        let sql = "UPDATE webhook_deliveries
             SET status = 'failed', finished_at = now(), claimed_until = NULL
             WHERE endpoint_id = $1 AND status = 'pending'";
        query::execute(client, sql, &[&delivery.endpoint_id]).await?;
    }
    Ok(())
}

/// Deletes events older than `retention` whose deliveries have all finished (their
/// deliveries and attempts go with them); returns how many.
pub async fn prune(
    client: &impl GenericClient,
    retention: Duration,
) -> Result<u64, tokio_postgres::Error> {
    let sql = "DELETE FROM webhook_events ev
         WHERE ev.created_at < now() - make_interval(secs => $1)
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                           WHERE d.event_id = ev.id AND d.status = 'pending')";
    query::execute(client, sql, &[&retention.as_secs_f64()]).await
}
