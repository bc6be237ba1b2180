//! `FacesealConfig`: what an engine is built from, set field by field so
//! that the ABI can grow without breaking callers.

use std::ffi::c_char;
use std::time::Duration;

use faceseal_core::ModelKind;
use faceseal_core::engine::{EngineConfig, TemplateConfig, TenantConfig};
use faceseal_core::models::ModelLocator;
use faceseal_core::seal::TenantPublicKey;
use faceseal_core::template::{MatchThreshold, TemplateSecret};

use super::FacesealStatus;
use super::call::{FfiError, call, free_handle};
use super::strings::{byte_slice, out_ptr, required_str};

/// Engine configuration under construction (opaque). Starts with the
/// library's defaults and the model directories named by the
/// `FACESEAL_MODEL_DIR` environment variable, if set.
pub struct FacesealConfig {
    pub(crate) inner: EngineConfig,
}

/// Values of the `kind` argument of `faceseal_config_set_model_bytes`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacesealModelKind {
    /// RetinaFace detector.
    Detector = 0,
    /// Face descriptor network.
    Embedder = 1,
    /// MiniFASNetV2 liveness model.
    LivenessV2 = 2,
    /// MiniFASNetV1SE liveness model.
    LivenessV1Se = 3,
}

/// Creates a configuration with the defaults: 1 worker, a queue of 4,
/// a 10 s deadline, no tenant and no template secret.
///
/// # Safety
/// `out_config` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_config_new(
    out_config: *mut *mut FacesealConfig,
) -> FacesealStatus {
    call(|| {
        // SAFETY: NULL or valid for writes by the function contract.
        let out = unsafe { out_ptr(out_config, "out_config") }?;
        let config = FacesealConfig {
            inner: EngineConfig::new(ModelLocator::from_env()),
        };
        *out = Box::into_raw(Box::new(config));
        Ok(())
    })
}

/// Frees a configuration (NULL is accepted). Engines built from it are not affected.
///
/// # Safety
/// `config` is NULL or a pointer from `faceseal_config_new`, not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_config_free(config: *mut FacesealConfig) {
    // SAFETY: NULL or a pointer from faceseal_config_new, freed once (function
    // contract).
    unsafe { free_handle(config) };
}

/// Runs a setter on a configuration handle.
///
/// # Safety
/// `config` is NULL or a live pointer from `faceseal_config_new`, not used
/// by another thread during the call.
unsafe fn with_config(
    config: *mut FacesealConfig,
    set: impl FnOnce(&mut EngineConfig) -> Result<(), FfiError>,
) -> FacesealStatus {
    call(|| {
        // SAFETY: forwarded from this function's contract.
        let config = unsafe { out_ptr(config, "config") }?;
        set(&mut config.inner)
    })
}

/// Adds a directory searched for model files (after those added before).
///
/// # Safety
/// `config` is NULL or live; `dir` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_config_add_model_dir(
    config: *mut FacesealConfig,
    dir: *const c_char,
) -> FacesealStatus {
    // SAFETY: `config` and the other pointers are as the function contract
    // says; `with_config` and the readers below rely on nothing else.
    unsafe {
        with_config(config, |c| {
            // (Inside the unsafe block above: `dir` is NULL or NUL-terminated
            // by the function contract.)
            let dir = required_str(dir, "dir")?;
            c.models = std::mem::take(&mut c.models).with_dir(dir);
            Ok(())
        })
    }
}

/// Supplies a model's bytes directly (an app that ships models as assets);
/// they take precedence over directories and are hash-checked on load.
/// `kind` is a `FacesealModelKind` value. The bytes are copied.
///
/// # Safety
/// `config` is NULL or live; `bytes` is NULL or points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_config_set_model_bytes(
    config: *mut FacesealConfig,
    kind: u32,
    bytes: *const u8,
    len: usize,
) -> FacesealStatus {
    // SAFETY: `config` and the other pointers are as the function contract
    // says; `with_config` and the readers below rely on nothing else.
    unsafe {
        with_config(config, |c| {
            let kind = match kind {
                0 => ModelKind::Detector,
                1 => ModelKind::Embedder,
                2 => ModelKind::LivenessV2,
                3 => ModelKind::LivenessV1Se,
                _ => return Err(FfiError::invalid("kind is not a FacesealModelKind")),
            };
            // (Inside the unsafe block above: `bytes` is NULL or `len`
            // readable bytes by the function contract.)
            let bytes = byte_slice(bytes, len, "bytes")?;
            if bytes.is_empty() {
                return Err(FfiError::invalid("model bytes are empty"));
            }
            c.models = std::mem::take(&mut c.models).with_bytes(kind, bytes.to_vec());
            Ok(())
        })
    }
}

/// The tenant sealed templates are encrypted to: its id (1 to 128 bytes of
/// UTF-8) and its 32-byte X25519 public key.
///
/// # Safety
/// `config` is NULL or live; `tenant_id` is NULL or NUL-terminated;
/// `public_key` is NULL or points to `public_key_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_config_set_tenant(
    config: *mut FacesealConfig,
    tenant_id: *const c_char,
    public_key: *const u8,
    public_key_len: usize,
) -> FacesealStatus {
    // SAFETY: `config` and the other pointers are as the function contract
    // says; `with_config` and the readers below rely on nothing else.
    unsafe {
        with_config(config, |c| {
            // (Inside the unsafe block above: pointers as the function
            // contract says.)
            let tenant_id = required_str(tenant_id, "tenant_id")?;
            let key = byte_slice(public_key, public_key_len, "public_key")?;
            let key: [u8; 32] = key
                .try_into()
                .map_err(|_| FfiError::invalid("public_key must be 32 bytes"))?;
            c.tenant = Some(TenantConfig {
                tenant_id: tenant_id.to_owned(),
                public_key: TenantPublicKey::from_bytes(key),
            });
            Ok(())
        })
    }
}

/// The tenant's template secret (32 to 1024 bytes, copied and wiped on free)
/// and the key version templates are made under.
///
/// # Safety
/// `config` is NULL or live; `secret` is NULL or points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_config_set_template_secret(
    config: *mut FacesealConfig,
    secret: *const u8,
    len: usize,
    key_version: u32,
) -> FacesealStatus {
    // SAFETY: `config` and the other pointers are as the function contract
    // says; `with_config` and the readers below rely on nothing else.
    unsafe {
        with_config(config, |c| {
            // (Inside the unsafe block above: `secret` is NULL or `len`
            // readable bytes by the function contract.)
            let bytes = byte_slice(secret, len, "secret")?;
            let secret =
                TemplateSecret::from_bytes(bytes).map_err(|e| FfiError::invalid(e.to_string()))?;
            c.template = Some(TemplateConfig::new(secret, key_version));
            Ok(())
        })
    }
}

/// Worker threads (1 to 64) and the number of requests that may wait for
/// one (1 to 4096); a request beyond that fails at once with
/// `FACESEAL_STATUS_BUSY`.
///
/// # Safety
/// `config` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_config_set_queue(
    config: *mut FacesealConfig,
    workers: u32,
    queue_depth: u32,
) -> FacesealStatus {
    // SAFETY: `config` and the other pointers are as the function contract
    // says; `with_config` and the readers below rely on nothing else.
    unsafe {
        with_config(config, |c| {
            if !(1..=64).contains(&workers) || !(1..=4096).contains(&queue_depth) {
                return Err(FfiError::invalid(
                    "workers must be 1 to 64 and queue_depth 1 to 4096",
                ));
            }
            c.workers = workers as usize;
            c.queue_depth = queue_depth as usize;
            Ok(())
        })
    }
}

/// The deadline of requests that do not set their own, in milliseconds (at least 1).
///
/// # Safety
/// `config` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_config_set_default_timeout_ms(
    config: *mut FacesealConfig,
    timeout_ms: u32,
) -> FacesealStatus {
    // SAFETY: `config` and the other pointers are as the function contract
    // says; `with_config` and the readers below rely on nothing else.
    unsafe {
        with_config(config, |c| {
            if timeout_ms == 0 {
                return Err(FfiError::invalid("timeout_ms must be at least 1"));
            }
            c.default_deadline = Duration::from_millis(u64::from(timeout_ms));
            Ok(())
        })
    }
}

/// Decision thresholds: the live probability a face needs (0 to 1) and the
/// protected-domain score a local comparison needs to match (0 to 1).
///
/// # Safety
/// `config` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_config_set_thresholds(
    config: *mut FacesealConfig,
    liveness_threshold: f32,
    match_threshold: f64,
) -> FacesealStatus {
    // SAFETY: `config` and the other pointers are as the function contract
    // says; `with_config` and the readers below rely on nothing else.
    unsafe {
        with_config(config, |c| {
            if !(0.0..=1.0).contains(&liveness_threshold) {
                return Err(FfiError::invalid(
                    "liveness_threshold must lie within 0 and 1",
                ));
            }
            c.match_threshold = MatchThreshold::new(match_threshold)
                .map_err(|e| FfiError::invalid(e.to_string()))?;
            c.analyzer.liveness_threshold = liveness_threshold;
            Ok(())
        })
    }
}
