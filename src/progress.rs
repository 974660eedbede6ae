//! Progress reports and cancellation, called between chunks of work (never from inside a
//! parallel region, so a JavaScript callback can be one).

use crate::error::Result;

pub trait Progress {
    /// `fraction` of `stage` is done (0–1). Returning `Err(Error::Cancelled)` stops the run.
    fn report(&mut self, stage: &str, fraction: f64) -> Result<()>;
}

impl<F: FnMut(&str, f64) -> Result<()>> Progress for F {
    fn report(&mut self, stage: &str, fraction: f64) -> Result<()> {
        self(stage, fraction)
    }
}

/// For callers that want neither progress nor cancellation.
pub fn silent() -> impl Progress {
    |_: &str, _: f64| Ok(())
}
