//! A thin wrapper over tract: parse an ONNX model once, then build and cache
//! one optimised plan per input shape.
//!
//! RetinaFace declares symbolic height and width, but tract fails on its
//! Resize nodes unless the shape is fixed before optimisation, so every input
//! size gets its own plan.
//!
//! Before optimising, each plan gets rewrites that keep the function and
//! remove work tract does slowly or twice: duplicated nodes merged
//! ([`dedup`]), PReLUs fused into one pass ([`prelu`]),
//! nearest resizes lowered to pixel replication ([`upsample`]), max pools
//! taken row by row ([`maxpool`]), convolutions over one pixel cut to the
//! kernel tap that sees it ([`single_tap`]), and, where the caller asks, a
//! final softmax left to the caller ([`softmax`]).

mod dedup;
mod maxpool;
mod prelu;
mod single_tap;
mod softmax;
mod upsample;

pub(crate) use softmax::softmax_pairs;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tract_onnx::prelude::*;

use crate::models::{ModelError, ModelKind};

pub(crate) type Plan = Arc<TypedRunnableModel>;

/// Plans kept per network; an adversary choosing odd aspect ratios can only
/// make us rebuild, never grow memory without bound.
const MAX_CACHED_PLANS: usize = 8;

pub(crate) struct OnnxNetwork {
    kind: ModelKind,
    model: InferenceModel,
    /// An output whose final softmax the plan leaves out: it returns logits.
    logits_output: Option<usize>,
    plans: Mutex<HashMap<[usize; 4], Plan>>,
}

/// A model run failed (shape or internal error in the inference engine).
#[derive(Debug, thiserror::Error)]
#[error("inference with {file} failed: {reason}")]
pub struct InferenceError {
    pub file: &'static str,
    pub reason: String,
}

impl OnnxNetwork {
    /// Parses already hash-checked model bytes.
    pub(crate) fn parse(kind: ModelKind, bytes: &[u8]) -> Result<Self, ModelError> {
        let file = kind.spec().file_name;
        let model = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(bytes))
            .map_err(|e| ModelError::Invalid {
                file,
                reason: format!("{e:#}"),
            })?;
        Ok(Self {
            kind,
            model,
            logits_output: None,
            plans: Mutex::new(HashMap::new()),
        })
    }

    /// Plans return output `index` before its final softmax over pairs of
    /// classes; the caller applies [`softmax_pairs`]. Building a plan fails if
    /// that output is not such a softmax.
    pub(crate) fn with_logits_output(mut self, index: usize) -> Self {
        self.logits_output = Some(index);
        self
    }

    pub(crate) fn file(&self) -> &'static str {
        self.kind.spec().file_name
    }

    /// The optimised plan for one NCHW input shape, built on first use.
    pub(crate) fn plan(&self, shape: [usize; 4]) -> Result<Plan, ModelError> {
        if let Some(plan) = self.lock_plans().get(&shape) {
            return Ok(plan.clone());
        }
        let file = self.file();
        let invalid = |e: TractError| ModelError::Invalid {
            file,
            reason: format!("{e:#}"),
        };
        let plan = self
            .model
            .clone()
            .with_input_fact(0, f32::fact(shape).into())
            .and_then(|m| m.into_typed())
            .and_then(|m| m.into_decluttered())
            .and_then(|mut m| {
                dedup::merge_duplicates(&mut m)?;
                prelu::fuse_prelu(&mut m)?;
                upsample::lower_nearest_resize(&mut m)?;
                maxpool::lower_max_pool(&mut m)?;
                single_tap::lower_single_tap_conv(&mut m)?;
                if let Some(index) = self.logits_output {
                    tract_onnx::tract_core::internal::ensure!(
                        softmax::strip_output_softmax(&mut m, index, 2)?,
                        "output {index} is not a softmax over two classes"
                    );
                }
                m.into_optimized()
            })
            .and_then(|m| m.into_runnable())
            .map_err(invalid)?;
        let mut plans = self.lock_plans();
        if plans.len() >= MAX_CACHED_PLANS {
            plans.clear();
        }
        plans.insert(shape, plan.clone());
        Ok(plan)
    }

    /// Runs the network on one NCHW float tensor and returns every output.
    ///
    /// The input tensor (pixels of a face) is overwritten with zeros before
    /// this returns, and the outputs (an embedding, for the embedder) when
    /// they are dropped. The network's intermediate activations live in
    /// buffers of the runtime, freed without being overwritten.
    pub(crate) fn run(&self, shape: [usize; 4], data: &[f32]) -> Result<Outputs, InferenceError> {
        let plan = self.plan(shape).map_err(|e| self.error(e.to_string()))?;
        let input = Tensor::from_shape(&shape, data)
            .map_err(|e| self.error(format!("{e:#}")))?
            .into_tvalue();
        let kept = input.clone();
        let result = plan.run(tvec!(input));
        wipe_value(kept);
        result
            .map(Outputs)
            .map_err(|e| self.error(format!("{e:#}")))
    }

    fn error(&self, reason: String) -> InferenceError {
        InferenceError {
            file: self.file(),
            reason,
        }
    }

    fn lock_plans(&self) -> std::sync::MutexGuard<'_, HashMap<[usize; 4], Plan>> {
        // A panic while holding the lock leaves the map consistent (insert is
        // atomic from our side), so a poisoned lock is safe to reuse.
        self.plans.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs `rewrite` on every node of `model`, in evaluation order, and applies
/// each patch it returns; then drops the nodes left without successors.
/// Returns how many nodes were rewritten. What the plan rewrites share.
fn rewrite_nodes(
    model: &mut TypedModel,
    rewrite: impl Fn(&TypedModel, &TypedNode) -> TractResult<Option<TypedModelPatch>>,
) -> TractResult<usize> {
    let mut rewritten = 0;
    for id in model.eval_order()? {
        if let Some(patch) = rewrite(model, model.node(id))? {
            patch.apply(model)?;
            rewritten += 1;
        }
    }
    if rewritten > 0 {
        model.compact()?;
    }
    Ok(rewritten)
}

/// A network's outputs, overwritten with zeros when dropped.
pub(crate) struct Outputs(TVec<TValue>);

impl std::ops::Deref for Outputs {
    type Target = TVec<TValue>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        for value in self.0.drain(..) {
            wipe_value(value);
        }
    }
}

/// Overwrites a tensor with zeros when this is its last reference (the
/// runtime holds none once a run has returned); returns whether it did.
fn wipe_value(value: TValue) -> bool {
    use zeroize::Zeroize;
    match Arc::try_unwrap(value.into_arc_tensor()) {
        Ok(mut tensor) => match tensor.as_plain_ram_storage_mut() {
            Some(storage) => {
                storage.as_bytes_mut().zeroize();
                true
            }
            None => false,
        },
        Err(_) => false,
    }
}

/// Copies one output tensor into a flat `Vec<f32>`, checking its element count.
pub(crate) fn output_f32(
    outputs: &TVec<TValue>,
    index: usize,
    expected_len: usize,
    file: &'static str,
) -> Result<Vec<f32>, InferenceError> {
    let err = |reason: String| InferenceError { file, reason };
    let value = outputs
        .get(index)
        .ok_or_else(|| err(format!("missing output {index}")))?;
    let view = value
        .to_plain_array_view::<f32>()
        .map_err(|e| err(format!("{e:#}")))?;
    if view.len() != expected_len {
        return Err(err(format!(
            "output {index} has {} values, expected {expected_len}",
            view.len()
        )));
    }
    Ok(view.iter().copied().collect())
}

/// A model parsed and decluttered at a fixed input shape, as `plan` starts:
/// what the rewrites' tests work on.
#[cfg(test)]
pub(crate) fn decluttered(kind: ModelKind, shape: [usize; 4]) -> TypedModel {
    let bytes = crate::models::ModelLocator::from_env()
        .read(kind)
        .unwrap_or_else(|e| panic!("{kind:?}: {e} (set FACESEAL_MODEL_DIR)"));
    tract_onnx::onnx()
        .model_for_read(&mut std::io::Cursor::new(bytes))
        .and_then(|m| m.with_input_fact(0, f32::fact(shape).into()))
        .and_then(|m| m.into_typed())
        .and_then(|m| m.into_decluttered())
        .unwrap()
}

#[cfg(test)]
mod wipe_tests {
    use super::*;

    #[test]
    fn an_exclusive_tensor_is_wiped_and_a_shared_one_is_left() {
        let value = Tensor::from_shape(&[4], &[1f32, 2.0, 3.0, 4.0])
            .unwrap()
            .into_tvalue();
        assert!(wipe_value(value));
        let value = Tensor::from_shape(&[2], &[1f32, 2.0])
            .unwrap()
            .into_tvalue();
        let other = value.clone();
        assert!(!wipe_value(value), "another reference still reads it");
        let view = other.to_plain_array_view::<f32>().unwrap();
        assert_eq!(view.iter().copied().collect::<Vec<_>>(), vec![1.0, 2.0]);
    }

    #[test]
    fn a_run_leaves_its_input_to_this_module_alone() {
        // The embedder's input is wiped after the run: a second run on the
        // same caller-owned data gives the same embedding.
        let bytes = crate::models::ModelLocator::from_env()
            .read(ModelKind::Embedder)
            .unwrap_or_else(|e| panic!("embedder: {e}"));
        let net = OnnxNetwork::parse(ModelKind::Embedder, &bytes).unwrap();
        let data = vec![128f32; 3 * 150 * 150];
        let a = output_f32(&net.run([1, 3, 150, 150], &data).unwrap(), 0, 128, "e").unwrap();
        let b = output_f32(&net.run([1, 3, 150, 150], &data).unwrap(), 0, 128, "e").unwrap();
        assert_eq!(a, b);
        assert!(data.iter().all(|&v| v == 128.0));
    }
}
