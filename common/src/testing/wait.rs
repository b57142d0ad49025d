//! The one way tests wait for what happens in the background (a worker applying a cover, a
//! pool reconnecting): look again until a condition holds, up to a deadline, then fail saying
//! what was awaited and what was seen last.

use std::fmt::Debug;
use std::time::Duration;

/// How long a test waits for an outcome before failing; generous for a loaded CI machine.
pub const WAIT: Duration = Duration::from_secs(60);
/// Between two looks. Well under the shortest retry backoff tests configure (300 ms), so a
/// test sees a state before the worker moves past it; a look is one cheap query or counter.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Calls `look` until `done` accepts what it returns, and returns that; panics after [`WAIT`]
/// naming `what` it waited for and the last value seen.
pub async fn wait_until<T: Debug>(
    what: &str,
    look: impl AsyncFnMut() -> T,
    done: impl FnMut(&T) -> bool,
) -> T {
    wait_until_within(WAIT, what, look, done).await
}

/// [`wait_until`] with a deadline of `limit`, for a test that promises a bound of its own
/// (or a benchmark whose run time grows with its size).
pub async fn wait_until_within<T: Debug>(
    limit: Duration,
    what: &str,
    mut look: impl AsyncFnMut() -> T,
    mut done: impl FnMut(&T) -> bool,
) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let seen = look().await;
        if done(&seen) {
            return seen;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {limit:?} for {what}; last seen: {seen:?}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
