//! What an [`Engine`](super::Engine) is built from.

use std::time::Duration;

use super::EngineError;
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

/// Most worker threads an engine starts.
pub const MAX_WORKERS: usize = 64;
/// Most requests that may wait for a worker.
pub const MAX_QUEUE_DEPTH: usize = 4096;
/// Most frames one request may carry.
pub const MAX_REQUEST_FRAMES: usize = 64;

impl EngineConfig {
    /// Checks every threshold and size: what [`Engine::new`](super::Engine::new)
    /// refuses. Bindings call it to refuse a bad value when it is set.
    pub fn validate(&self) -> Result<(), EngineError> {
        let a = &self.analyzer;
        // A liveness threshold of 0 accepts every print; NaN compares false
        // with every score and would make the decision meaningless.
        if !(a.liveness_threshold > 0.0 && a.liveness_threshold <= 1.0) {
            return Err(EngineError::InvalidConfig(
                "liveness threshold must be above 0 and at most 1",
            ));
        }
        if !(a.match_threshold > 0.0 && a.match_threshold.is_finite()) {
            return Err(EngineError::InvalidConfig(
                "descriptor match threshold must be a positive distance",
            ));
        }
        let d = &a.detector;
        if !(d.score_threshold > 0.0 && d.score_threshold < 1.0) {
            return Err(EngineError::InvalidConfig(
                "detector score threshold must lie strictly within 0 and 1",
            ));
        }
        if !(d.nms_iou > 0.0 && d.nms_iou <= 1.0) {
            return Err(EngineError::InvalidConfig(
                "detector overlap threshold must be above 0 and at most 1",
            ));
        }
        if !(32..=4096).contains(&d.input_size) {
            return Err(EngineError::InvalidConfig(
                "detector input size must be 32 to 4096 pixels",
            ));
        }
        let q = &a.quality;
        let non_negative = [q.min_face_size, q.min_sharpness];
        if non_negative.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(EngineError::InvalidConfig(
                "minimum face size and sharpness must be finite and not negative",
            ));
        }
        if !(0.0..=255.0).contains(&q.min_brightness)
            || !(0.0..=255.0).contains(&q.max_brightness)
            || q.min_brightness > q.max_brightness
        {
            return Err(EngineError::InvalidConfig(
                "brightness limits must lie within 0 and 255, the minimum below the maximum",
            ));
        }
        if !(0.0..=1.0).contains(&q.max_clipped_share) {
            return Err(EngineError::InvalidConfig(
                "largest clipped share must lie within 0 and 1",
            ));
        }
        if [q.max_yaw, q.max_pitch, q.max_roll]
            .iter()
            .any(|v| !(*v > 0.0 && *v <= 90.0))
        {
            return Err(EngineError::InvalidConfig(
                "head angle limits must be above 0 and at most 90 degrees",
            ));
        }
        if !(1..=MAX_WORKERS).contains(&self.workers)
            || !(1..=MAX_QUEUE_DEPTH).contains(&self.queue_depth)
        {
            return Err(EngineError::InvalidConfig(
                "workers must be 1 to 64 and queue depth 1 to 4096",
            ));
        }
        if self.default_deadline.is_zero() {
            return Err(EngineError::InvalidConfig(
                "the default deadline must be positive",
            ));
        }
        if !(1..=MAX_REQUEST_FRAMES).contains(&self.max_frames) || self.best_frames == 0 {
            return Err(EngineError::InvalidConfig(
                "max_frames must be 1 to 64 and best_frames at least 1",
            ));
        }
        if let Some(tenant) = &self.tenant
            && (tenant.tenant_id.is_empty()
                || tenant.tenant_id.len() > crate::seal::MAX_TENANT_ID_LEN)
        {
            return Err(EngineError::InvalidConfig(
                "tenant id must be 1 to 128 bytes",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> EngineConfig {
        EngineConfig::new(ModelLocator::new())
    }

    fn refused(change: impl FnOnce(&mut EngineConfig)) -> bool {
        let mut c = config();
        change(&mut c);
        matches!(c.validate(), Err(EngineError::InvalidConfig(_)))
    }

    #[test]
    fn the_defaults_are_valid() {
        config().validate().unwrap();
    }

    #[test]
    fn a_liveness_threshold_of_zero_nan_negative_or_above_one_is_refused() {
        for bad in [0.0, -0.1, f32::NAN, 1.01, f32::INFINITY] {
            assert!(refused(|c| c.analyzer.liveness_threshold = bad), "{bad}");
        }
        for good in [0.01, 0.5, 1.0] {
            let mut c = config();
            c.analyzer.liveness_threshold = good;
            c.validate().unwrap();
        }
    }

    #[test]
    fn other_thresholds_and_sizes_are_range_checked() {
        assert!(refused(|c| c.analyzer.match_threshold = f32::NAN));
        assert!(refused(|c| c.analyzer.detector.score_threshold = 0.0));
        assert!(refused(|c| c.analyzer.detector.score_threshold = 1.0));
        assert!(refused(|c| c.analyzer.detector.nms_iou = f32::NAN));
        assert!(refused(|c| c.analyzer.detector.input_size = 0));
        assert!(refused(|c| c.analyzer.quality.min_sharpness = -1.0));
        assert!(refused(|c| c.analyzer.quality.min_brightness = 220.0));
        assert!(refused(|c| c.analyzer.quality.max_clipped_share = 2.0));
        assert!(refused(|c| c.analyzer.quality.max_yaw = 0.0));
        assert!(refused(|c| c.workers = 0));
        assert!(refused(|c| c.workers = 65));
        assert!(refused(|c| c.queue_depth = 0));
        assert!(refused(|c| c.queue_depth = 4097));
        assert!(refused(|c| c.default_deadline = Duration::ZERO));
        assert!(refused(|c| c.max_frames = 0));
        assert!(refused(|c| c.best_frames = 0));
    }
}
