//! The worker's memory budget for decodes: one byte-weighted semaphore, so the covers decoded
//! at once (prefetch deliveries plus the reconciler) never need more than
//! `worker.memory_budget_bytes` together, whatever their sizes. A decode waits until its
//! share is free; one that could never fit is refused.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Permits are `u32` in tokio; counted in KiB, that is up to 4 TiB.
const UNIT: u64 = 1024;

#[derive(Debug, Clone)]
pub struct MemoryBudget {
    permits: Arc<Semaphore>,
    units: u32,
}

/// A decode that needs more than the whole budget.
#[derive(Debug, thiserror::Error)]
#[error(
    "decoding this image needs about {needed_mib} MiB, more than the worker's memory budget \
     of {budget_mib} MiB"
)]
pub struct OverBudget {
    pub needed_mib: u64,
    pub budget_mib: u64,
}

impl MemoryBudget {
    pub fn new(bytes: u64) -> Self {
        let units = u32::try_from(bytes / UNIT).unwrap_or(u32::MAX);
        Self {
            permits: Arc::new(Semaphore::new(units as usize)),
            units,
        }
    }

    /// Waits until `bytes` of the budget are free and holds them until the permit is dropped.
    pub async fn admit(&self, bytes: u64) -> Result<OwnedSemaphorePermit, OverBudget> {
        let units = u32::try_from(bytes.div_ceil(UNIT)).unwrap_or(u32::MAX);
        if units > self.units {
            let mib = |units: u32| (u64::from(units) * UNIT).div_ceil(1 << 20);
            return Err(OverBudget {
                needed_mib: mib(units),
                budget_mib: mib(self.units),
            });
        }
        Ok(Arc::clone(&self.permits)
            .acquire_many_owned(units)
            .await
            .expect("the budget's semaphore is never closed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn decodes_wait_for_their_share_and_what_never_fits_is_refused() {
        let budget = MemoryBudget::new(10 << 20);
        let first = budget.admit(6 << 20).await.unwrap();
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.admit(6 << 20).await.map(drop) }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "admitted past the budget");
        drop(first);
        waiting.await.unwrap().unwrap();

        let refused = budget.admit(11 << 20).await.unwrap_err();
        assert_eq!((refused.needed_mib, refused.budget_mib), (11, 10));
    }
}
