//! `FacesealConfig`: what an engine is built from, set field by field so
//! that the ABI can grow without breaking callers.

use std::ffi::c_char;
use std::time::Duration;

use faceseal_core::ModelKind;
use faceseal_core::engine::{EngineConfig, TemplateConfig, TenantConfig};
use faceseal_core::seal::TenantPublicKey;
use faceseal_core::template::{IomParams, MatchThreshold, TemplateSecret};
use faceseal_vision::models::ModelLocator;

use super::FacesealStatus;
use super::call::{FfiError, call, free_handle};
use super::strings::{byte_slice, out_ptr, required_str};

/// Engine configuration under construction (opaque). Starts with the
/// library's defaults and the model search of the command-line tool: the
/// directories named by the `FACESEAL_MODEL_DIR` environment variable, if
/// set, then `./models` (relative to the working directory).
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
            inner: EngineConfig::new(ModelLocator::new().with_default_dirs()),
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

/// Runs a setter on a configuration handle. The changed configuration is
/// kept only when the core accepts it (`EngineConfig::validate`): a value
/// out of range fails at once with `FACESEAL_STATUS_INVALID_ARGUMENT` and
/// leaves the configuration as it was.
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
        let mut changed = config.inner.clone();
        set(&mut changed)?;
        changed
            .validate()
            .map_err(|e| FfiError::invalid(e.to_string()))?;
        config.inner = changed;
        Ok(())
    })
}

/// Adds a directory searched for model files (after those added before,
/// and after the default search).
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

/// The transform's parameters from the tenant's bundle (`template.m`, its
/// number of hashes, 1 to 4096, and `template.q`, its window, 2 to 256):
/// the same on every device of the tenant. Set the template secret first;
/// the defaults are 1024 and 8.
///
/// # Safety
/// `config` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_config_set_template_params(
    config: *mut FacesealConfig,
    m: u32,
    q: u32,
) -> FacesealStatus {
    // SAFETY: `config` as the function contract says; `with_config` relies
    // on nothing else.
    unsafe {
        with_config(config, |c| {
            let (Ok(m), Ok(q)) = (u16::try_from(m), u16::try_from(q)) else {
                return Err(FfiError::invalid("template parameters out of range"));
            };
            let params = IomParams::new(m, q).map_err(|e| FfiError::invalid(e.to_string()))?;
            let template = c.template.as_mut().ok_or_else(|| {
                FfiError::invalid("set the template secret before its parameters")
            })?;
            template.params = params;
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
            c.default_deadline = Duration::from_millis(u64::from(timeout_ms));
            Ok(())
        })
    }
}

/// Decision thresholds: the live probability a face needs (above 0, at
/// most 1) and the protected-domain score a local comparison needs to
/// match (0 to 1). The core checks the ranges; 0 and NaN are refused.
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
            c.match_threshold = MatchThreshold::new(match_threshold)
                .map_err(|e| FfiError::invalid(e.to_string()))?;
            c.analyzer.liveness_threshold = liveness_threshold;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_config() -> *mut FacesealConfig {
        let mut config = std::ptr::null_mut();
        // SAFETY: a valid out-pointer.
        assert_eq!(
            unsafe { faceseal_config_new(&mut config) },
            FacesealStatus::Ok
        );
        config
    }

    #[test]
    fn the_default_search_ends_with_the_working_directorys_models() {
        let config = new_config();
        // SAFETY: live from faceseal_config_new.
        let dirs = unsafe { &(*config).inner.models }.dirs().to_vec();
        assert_eq!(
            dirs.last().map(|d| d.as_path()),
            Some(std::path::Path::new("models")),
            "{dirs:?}"
        );
        // SAFETY: from faceseal_config_new, freed once.
        unsafe { faceseal_config_free(config) };
    }

    #[test]
    fn thresholds_the_core_refuses_are_refused_and_change_nothing() {
        let config = new_config();
        for bad in [0.0, f32::NAN, -0.5, 1.5] {
            // SAFETY: live config.
            let status = unsafe { faceseal_config_set_thresholds(config, bad, 0.6) };
            assert_eq!(status, FacesealStatus::InvalidArgument, "{bad}");
        }
        // SAFETY: live config.
        let kept = unsafe { (*config).inner.analyzer.liveness_threshold };
        assert_eq!(kept, faceseal_vision::liveness::DEFAULT_LIVENESS_THRESHOLD);
        // SAFETY: live config.
        unsafe {
            assert_eq!(
                faceseal_config_set_thresholds(config, 0.7, 0.6),
                FacesealStatus::Ok
            );
            assert_eq!(
                faceseal_config_set_queue(config, 0, 4),
                FacesealStatus::InvalidArgument
            );
            assert_eq!(
                faceseal_config_set_queue(config, 2, 5000),
                FacesealStatus::InvalidArgument
            );
            assert_eq!(
                faceseal_config_set_default_timeout_ms(config, 0),
                FacesealStatus::InvalidArgument
            );
            assert_eq!(faceseal_config_set_queue(config, 2, 8), FacesealStatus::Ok);
            faceseal_config_free(config);
        }
    }
}
