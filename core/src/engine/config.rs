//! What an [`Engine`](super::Engine) is built from.

use std::time::Duration;

use crate::analyzer::AnalyzerConfig;
use crate::input::InputLimits;
use crate::models::ModelLocator;
use crate::seal::TenantPublicKey;
use crate::template::{IomParams, MatchThreshold, TemplateSecret};

/// The tenant whose public key every sealed template is encrypted to.
#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// 1 to 128 bytes of UTF-8, bound to every sealed template.
    pub tenant_id: String,
    pub public_key: TenantPublicKey,
}

/// The tenant's template secret and the key version and parameters of the
/// transform: together they decide every subject's template key.
#[derive(Debug, Clone)]
pub struct TemplateConfig {
    pub secret: TemplateSecret,
    pub key_version: u32,
    pub params: IomParams,
}

impl TemplateConfig {
    /// Default parameters.
    pub fn new(secret: TemplateSecret, key_version: u32) -> Self {
        Self {
            secret,
            key_version,
            params: IomParams::DEFAULT,
        }
    }
}

/// Models, thresholds, keys and queue sizes of an engine.
///
/// `tenant` is needed by the operations that seal (enrol, probe),
/// `template` by every operation that makes a template (enrol, probe,
/// local comparison); detection and liveness need neither.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub models: ModelLocator,
    pub analyzer: AnalyzerConfig,
    pub input_limits: InputLimits,
    pub tenant: Option<TenantConfig>,
    pub template: Option<TemplateConfig>,
    /// Decision threshold of local comparisons in the protected domain.
    pub match_threshold: MatchThreshold,
    /// Worker threads running the models (at least 1).
    pub workers: usize,
    /// Requests that may wait for a worker; one more is refused as busy.
    pub queue_depth: usize,
    /// Deadline of a request that names none.
    pub default_deadline: Duration,
    /// Most frames one request may carry: bounds the memory a request holds.
    pub max_frames: usize,
    /// Most frames whose descriptors are fused into a template, best first.
    pub best_frames: usize,
}

impl EngineConfig {
    pub const DEFAULT_WORKERS: usize = 1;
    pub const DEFAULT_QUEUE_DEPTH: usize = 4;
    pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);
    pub const DEFAULT_MAX_FRAMES: usize = 8;

    /// Defaults everywhere, models from `models`, no tenant and no template secret.
    pub fn new(models: ModelLocator) -> Self {
        Self {
            models,
            analyzer: AnalyzerConfig::default(),
            input_limits: InputLimits::default(),
            tenant: None,
            template: None,
            match_threshold: MatchThreshold::DEFAULT,
            workers: Self::DEFAULT_WORKERS,
            queue_depth: Self::DEFAULT_QUEUE_DEPTH,
            default_deadline: Self::DEFAULT_DEADLINE,
            max_frames: Self::DEFAULT_MAX_FRAMES,
            best_frames: crate::enrolment::CaptureOptions::DEFAULT.best_frames,
        }
    }

    pub fn with_tenant(
        mut self,
        tenant_id: impl Into<String>,
        public_key: TenantPublicKey,
    ) -> Self {
        self.tenant = Some(TenantConfig {
            tenant_id: tenant_id.into(),
            public_key,
        });
        self
    }

    pub fn with_template(mut self, template: TemplateConfig) -> Self {
        self.template = Some(template);
        self
    }

    pub fn with_queue(mut self, workers: usize, queue_depth: usize) -> Self {
        self.workers = workers;
        self.queue_depth = queue_depth;
        self
    }

    pub fn with_default_deadline(mut self, deadline: Duration) -> Self {
        self.default_deadline = deadline;
        self
    }
}
