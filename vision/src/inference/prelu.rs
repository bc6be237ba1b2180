//! A one-pass PReLU for tract.
//!
//! tract's ONNX front end expands `PRelu(x, slope)` into three whole-tensor
//! passes: `Mul(x, slope)`, `Greater(0, x)` (a boolean tensor) and
//! `Iff(test, x·slope, x)`. The MiniFASNet liveness networks put a PReLU after
//! nearly every convolution, so those passes took a sixth of a frame's time.
//! [`fuse_prelu`] finds the expanded pattern in a decluttered model and puts
//! one [`ChannelPrelu`] node in its place, which scales the negative values
//! of each channel in place. The result is the same function; the golden
//! tests compare it with a reference runtime.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::logic::Iff;

/// `y = x` where `x ≥ 0`, `slope[c] · x` elsewhere, `c` the index on axis 1
/// (channels of an NCHW tensor).
#[derive(Debug, Clone)]
pub(crate) struct ChannelPrelu {
    slopes: Arc<Vec<f32>>,
}

impl PartialEq for ChannelPrelu {
    fn eq(&self, other: &Self) -> bool {
        self.slopes.len() == other.slopes.len()
            && self
                .slopes
                .iter()
                .zip(other.slopes.iter())
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

impl Eq for ChannelPrelu {}

impl ChannelPrelu {
    fn apply(&self, data: &mut [f32], channels: usize) {
        let plane = data.len() / channels.max(1);
        for (c, chunk) in data.chunks_exact_mut(plane.max(1)).enumerate() {
            let slope = self.slopes[c % self.slopes.len()];
            for v in chunk {
                // Branch-free so that it vectorises.
                *v = if *v < 0.0 { *v * slope } else { *v };
            }
        }
    }
}

impl Op for ChannelPrelu {
    fn name(&self) -> StaticName {
        "ChannelPrelu".into()
    }

    op_as_typed_op!();
}

impl EvalOp for ChannelPrelu {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let mut tensor = input.into_tensor();
        let shape = tensor.shape().to_vec();
        ensure!(shape.len() >= 2, "ChannelPrelu needs a channel axis");
        let channels = shape[1];
        ensure!(
            self.slopes.len() == channels || self.slopes.len() == 1,
            "ChannelPrelu: {} slopes for {channels} channels",
            self.slopes.len()
        );
        let batches = shape[0].max(1);
        let mut view = tensor.try_as_plain_ram_mut()?;
        let data = view.as_slice_mut::<f32>()?;
        let per_batch = data.len() / batches;
        for batch in data.chunks_exact_mut(per_batch.max(1)) {
            self.apply(batch, channels);
        }
        Ok(tvec!(tensor.into_tvalue()))
    }
}

impl TypedOp for ChannelPrelu {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs[0].datum_type == f32::datum_type());
        Ok(tvec!(inputs[0].without_value()))
    }

    as_op!();
}

/// The per-channel slopes of a constant shaped `[1, C, 1, …]` (or a scalar).
fn channel_slopes(tensor: &Tensor) -> Option<Vec<f32>> {
    let shape = tensor.shape();
    let channels = shape.get(1).copied().unwrap_or(1);
    if tensor.len() != channels || shape.iter().enumerate().any(|(i, &d)| i != 1 && d != 1) {
        return None;
    }
    Some(tensor.as_plain_ram()?.as_slice::<f32>().ok()?.to_vec())
}

fn is_zero_const(model: &TypedModel, outlet: OutletId) -> bool {
    model
        .outlet_fact(outlet)
        .ok()
        .and_then(|f| f.konst.clone())
        .and_then(|k| {
            k.as_plain_ram()?
                .as_slice::<f32>()
                .ok()
                .map(|s| s.iter().all(|&v| v == 0.0))
        })
        .unwrap_or(false)
}

fn bin_op<'m>(model: &'m TypedModel, outlet: OutletId, name: &str) -> Option<&'m TypedNode> {
    let node = model.node(outlet.node);
    let op = node.op_as::<TypedBinOp>()?;
    (op.0.name() == name).then_some(node)
}

/// `Iff(Greater(0, x), Mul(x, slope), x)` at `node`: returns `x` and the slopes.
fn match_prelu(model: &TypedModel, node: &TypedNode) -> Option<(OutletId, Vec<f32>)> {
    node.op_as::<Iff>()?;
    let [test, scaled, x] = node.inputs[..] else {
        return None;
    };
    let gt = bin_op(model, test, "GT")?;
    if gt.inputs.len() != 2 || !is_zero_const(model, gt.inputs[0]) || gt.inputs[1] != x {
        return None;
    }
    let mul = bin_op(model, scaled, "Mul")?;
    if mul.inputs.len() != 2 || mul.inputs[0] != x {
        return None;
    }
    let slope = model.outlet_fact(mul.inputs[1]).ok()?.konst.clone()?;
    if slope.datum_type() != f32::datum_type()
        || model.outlet_fact(x).ok()?.datum_type != f32::datum_type()
    {
        return None;
    }
    Some((x, channel_slopes(&slope)?))
}

/// Replaces every expanded PReLU of a decluttered model by one
/// [`ChannelPrelu`]; returns how many it replaced.
pub(crate) fn fuse_prelu(model: &mut TypedModel) -> TractResult<usize> {
    super::rewrite_nodes(model, |model, node| {
        let Some((x, slopes)) = match_prelu(model, node) else {
            return Ok(None);
        };
        let mut patch = TypedModelPatch::default();
        let tapped = patch.tap_model(model, x)?;
        let out = patch.wire_node(
            format!("{}.fused", node.name),
            ChannelPrelu {
                slopes: Arc::new(slopes),
            },
            &[tapped],
        )?;
        patch.shunt_outside(model, OutletId::new(node.id, 0), out[0])?;
        Ok(Some(patch))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_negative_values_per_channel() {
        let op = ChannelPrelu {
            slopes: Arc::new(vec![0.5, 2.0]),
        };
        let x = tensor4(&[[[[-2.0f32, 3.0]], [[-1.0, 0.0]]]]);
        let out = op
            .eval(&EvalContext::out_of_plan(), tvec!(x.into_tvalue()))
            .unwrap();
        assert_eq!(
            out[0].as_plain_ram().unwrap().as_slice::<f32>().unwrap(),
            &[-1.0, 3.0, -2.0, 0.0][..]
        );
    }

    /// Every PReLU of both liveness networks is fused: nothing of the
    /// three-pass expansion is left.
    #[test]
    fn fuses_every_prelu_of_the_liveness_networks() {
        use crate::models::ModelKind;
        for kind in [ModelKind::LivenessV2, ModelKind::LivenessV1Se] {
            let mut model = crate::inference::decluttered(kind, [1, 3, 80, 80]);
            let fused = fuse_prelu(&mut model).unwrap();
            assert!(fused > 20, "{kind:?}: only {fused} PReLUs fused");
            assert!(model.nodes().iter().all(|n| n.op_as::<Iff>().is_none()));
        }
    }

    #[test]
    fn slopes_must_be_per_channel() {
        assert_eq!(
            channel_slopes(&tensor4(&[[[[0.1f32]], [[0.2]]]])),
            Some(vec![0.1, 0.2])
        );
        assert_eq!(channel_slopes(&tensor4(&[[[[0.1f32]]], [[[0.2]]]])), None);
    }
}
