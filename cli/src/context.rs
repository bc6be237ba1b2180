//! Building the analyzer from the command line, and reading pictures.

use std::path::Path;

use faceseal_core::{AnalyzerConfig, FaceAnalyzer, ModelLocator, RgbFrame};
use faceseal_vision::input::{InputLimits, decode_image};

use crate::GlobalArgs;

/// Errors of the command-line tool: a message with its cause chain.
pub type CliResult<T> = Result<T, CliError>;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Message(String),
    #[error(transparent)]
    Pipeline(#[from] faceseal_core::PipelineError),
    #[error(transparent)]
    Model(#[from] faceseal_core::ModelError),
    #[error(transparent)]
    Inference(#[from] faceseal_core::InferenceError),
    #[error("{path}: {source}")]
    Image {
        path: String,
        #[source]
        source: faceseal_vision::input::InputError,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

pub fn message(text: impl Into<String>) -> CliError {
    CliError::Message(text.into())
}

pub fn locator(args: &GlobalArgs) -> ModelLocator {
    let mut locator = ModelLocator::new();
    for dir in &args.model_dirs {
        locator = locator.with_dir(dir);
    }
    locator.with_default_dirs()
}

pub fn config(args: &GlobalArgs) -> AnalyzerConfig {
    let mut config = AnalyzerConfig::default();
    config.detector.input_size = args.det_size;
    if let Some(t) = args.det_threshold {
        config.detector.score_threshold = t;
    }
    if let Some(t) = args.liveness_threshold {
        config.liveness_threshold = t;
    }
    config.mirror_embedding = !args.no_mirror;
    config
}

pub fn analyzer(args: &GlobalArgs) -> CliResult<FaceAnalyzer> {
    analyzer_with(args, config(args))
}

pub fn analyzer_with(args: &GlobalArgs, config: AnalyzerConfig) -> CliResult<FaceAnalyzer> {
    Ok(FaceAnalyzer::load(&locator(args), config)?)
}

/// Reads a file's bytes.
pub fn read_bytes(path: &Path) -> CliResult<Vec<u8>> {
    std::fs::read(path).map_err(|source| CliError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Reads and decodes a picture through the input gate.
pub fn load_image(path: &Path) -> CliResult<RgbFrame> {
    let bytes = read_bytes(path)?;
    decode_image(&bytes, &InputLimits::default()).map_err(|source| CliError::Image {
        path: path.display().to_string(),
        source,
    })
}

/// An engine keyed for a throwaway tenant (a fresh sealing key and template
/// secret, default template parameters), for measuring the SDK's own path:
/// `workers` workers, a queue twice as deep, `deadline` per request.
pub fn throwaway_engine(
    args: &GlobalArgs,
    workers: usize,
    deadline: std::time::Duration,
) -> CliResult<std::sync::Arc<faceseal_core::engine::Engine>> {
    use faceseal_core::engine::{Engine, EngineConfig, TemplateConfig};
    use faceseal_core::seal::{self, TenantSecretKey};
    use faceseal_core::template::{IomParams, TemplateSecret};
    let tenant = TenantSecretKey::generate(&mut seal::os_rng());
    let workers = workers.max(1);
    let mut config = EngineConfig::new(locator(args))
        .with_tenant("throwaway".to_owned(), tenant.public_key().clone())
        .with_template(TemplateConfig {
            secret: TemplateSecret::generate(&mut seal::os_rng()),
            key_version: 1,
            params: IomParams::DEFAULT,
        })
        .with_queue(workers, 2 * workers)
        .with_default_deadline(deadline);
    config.analyzer = self::config(args);
    Ok(std::sync::Arc::new(
        Engine::new(config).map_err(|e| message(e.to_string()))?,
    ))
}
