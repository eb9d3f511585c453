//! Pipeline errors: what ends a pipeline early reaches its consumer.

use core::fmt;

use crate::context::ContextError;
use crate::future::PromiseError;

/// Why a pipeline ended before its input did.
#[derive(Debug)]
pub enum PipelineError {
    /// A stage's code panicked; the panic's message.
    Panicked(String),
    /// A `try_map` stage returned this error.
    Failed(Box<dyn std::error::Error + Send + Sync>),
    /// The pipeline's context was cancelled or passed its deadline.
    Canceled(ContextError),
}

impl PipelineError {
    pub(super) fn failed(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        PipelineError::Failed(Box::new(e))
    }

    /// From the error of a caught panic (`future::catch`).
    pub(super) fn from_promise(e: PromiseError) -> Self {
        match e {
            PromiseError::Panicked(m) => PipelineError::Panicked(m),
            other => PipelineError::Panicked(other.to_string()),
        }
    }
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipelineError::Panicked(m) => write!(f, "a pipeline stage panicked: {m}"),
            PipelineError::Failed(e) => write!(f, "a pipeline stage failed: {e}"),
            PipelineError::Canceled(e) => write!(f, "pipeline stopped: {e}"),
        }
    }
}

impl std::error::Error for PipelineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PipelineError::Failed(e) => Some(&**e),
            PipelineError::Canceled(e) => Some(e),
            PipelineError::Panicked(_) => None,
        }
    }
}
