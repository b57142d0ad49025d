//! Liveness and readiness, the same way in both services: one name per dependency
//! (`postgres`, `s3`, `rabbitmq`), one value per state (`ok`, `down`), one timeout per
//! probe, and the `healthcheck` subcommand's probe of the local `/healthz`.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::Context;
use deadpool_postgres::Pool;
use serde::Serialize;

/// Longest a readiness probe waits on one dependency: orchestrators poll `/readyz` every few
/// seconds and give up on the whole request after a few more.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub const POSTGRES: &str = "postgres";
pub const S3: &str = "s3";
pub const RABBITMQ: &str = "rabbitmq";

/// Runs one probe within [`PROBE_TIMEOUT`]; a probe that hangs counts as down.
pub async fn ping<E>(probe: impl Future<Output = Result<(), E>>) -> anyhow::Result<()>
where
    E: Into<anyhow::Error>,
{
    tokio::time::timeout(PROBE_TIMEOUT, probe)
        .await
        .context("no answer within the probe timeout")?
        .map_err(Into::into)
}

/// Postgres answers a query through the pool.
pub async fn postgres(pool: &Pool) -> anyhow::Result<()> {
    ping(async {
        let client = pool.get().await?;
        client.simple_query("SELECT 1").await?;
        anyhow::Ok(())
    })
    .await
}

/// State of one dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    Ok,
    Down,
}

/// What `/readyz` says: `{"ok", "checks": {"postgres": "ok", …}, "message", "code"}`, with
/// `message` naming what is down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub ok: bool,
    /// Each dependency probed (none for liveness) and its state.
    #[schema(value_type = BTreeMap<String, Check>)]
    pub checks: BTreeMap<&'static str, Check>,
    /// When not ok: `unavailable: <names>`.
    pub message: Option<String>,
    /// When not ok: `dependency_unavailable`.
    #[schema(value_type = Option<String>)]
    pub code: Option<&'static str>,
}

impl Readiness {
    /// Readiness from each dependency's probe result; logs why each one is down.
    pub fn of(probes: impl IntoIterator<Item = (&'static str, anyhow::Result<()>)>) -> Self {
        let mut checks = BTreeMap::new();
        for (name, result) in probes {
            let check = match result {
                Ok(()) => Check::Ok,
                Err(error) => {
                    tracing::warn!(dependency = name, error = format!("{error:#}"), "Not ready");
                    Check::Down
                }
            };
            checks.insert(name, check);
        }
        let down: Vec<&str> = checks
            .iter()
            .filter(|(_, check)| **check == Check::Down)
            .map(|(name, _)| *name)
            .collect();
        let ok = down.is_empty();
        Self {
            ok,
            checks,
            message: (!ok).then(|| format!("unavailable: {}", down.join(", "))),
            code: (!ok).then_some("dependency_unavailable"),
        }
    }
}

/// Covers a loaded server; orchestrators give the whole check a few seconds more.
const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// The `healthcheck` subcommand of both binaries: Ok when `GET /healthz` on
/// 127.0.0.1:`port` answers 200. For container health checks in images that ship no curl; a
/// bare HTTP/1.0 request is all it takes.
pub fn healthcheck(port: u16) -> anyhow::Result<()> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, HEALTHCHECK_TIMEOUT)
        .with_context(|| format!("Failed to connect to {address}"))?;
    stream.set_read_timeout(Some(HEALTHCHECK_TIMEOUT))?;
    stream.set_write_timeout(Some(HEALTHCHECK_TIMEOUT))?;
    stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .context("Failed to send the health check")?;
    let mut head = [0u8; 12];
    stream
        .read_exact(&mut head)
        .context("Failed to read the health check answer")?;
    // "HTTP/1.x 200"
    anyhow::ensure!(
        head.starts_with(b"HTTP/1.") && &head[8..12] == b" 200",
        "/healthz answered {:?}",
        String::from_utf8_lossy(&head)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_names_what_is_down() {
        let readiness = Readiness::of([(POSTGRES, Ok(())), (S3, Err(anyhow::anyhow!("refused")))]);
        assert!(!readiness.ok);
        assert_eq!(readiness.checks[POSTGRES], Check::Ok);
        assert_eq!(readiness.checks[S3], Check::Down);
        assert_eq!(readiness.message.as_deref(), Some("unavailable: s3"));
        assert_eq!(readiness.code, Some("dependency_unavailable"));
    }

    #[tokio::test]
    async fn a_probe_that_hangs_is_down() {
        let hung = ping(std::future::pending::<Result<(), anyhow::Error>>()).await;
        assert!(hung.is_err());
    }
}
