//! Nearest-neighbour upsampling by whole factors, done as pixel replication.
//!
//! RetinaFace's feature pyramid doubles two feature maps with ONNX `Resize`
//! (nearest, asymmetric, floor) whose output size is computed from another
//! tensor's shape. tract optimises `Resize` into its fast `NearestUpsample`
//! only when the op carries constant scales; with sizes it keeps the general
//! resampler, which interpolates with a weight per sample and took 1.6 ms of
//! a 320x256 detection. Once the input shape is fixed, the sizes are
//! constants: [`lower_nearest_resize`] puts tract's `NearestUpsample` in place
//! of every such `Resize` whose sizes are whole multiples of its input. Under
//! the asymmetric transform with floor rounding, output pixel `x` reads input
//! pixel `floor(x / s)`, which is what replication computes, so the function
//! is unchanged (the golden tests compare it with a reference runtime).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::nn::resize::{
    CoordTransformer, Interpolator, Nearest, NearestUpsample, Resize,
};

/// Whole upsampling factors per axis when `resize` at `node` is a pixel
/// replication of a concretely shaped input.
fn replication_scales(
    model: &TypedModel,
    node: &TypedNode,
    resize: &Resize,
) -> Option<TVec<usize>> {
    if resize.interpolator != Interpolator::Nearest
        || resize.coord_transformer != CoordTransformer::Asymmetric
        || resize.nearest != Nearest::Floor
    {
        return None;
    }
    let input = model
        .outlet_fact(node.inputs[0])
        .ok()?
        .shape
        .as_concrete()?
        .to_vec();
    let output = model
        .outlet_fact(OutletId::new(node.id, 0))
        .ok()?
        .shape
        .as_concrete()?
        .to_vec();
    scales_between(&input, &output)
}

/// `output[a] / input[a]` for every axis, when each is a whole number ≥ 1.
fn scales_between(input: &[usize], output: &[usize]) -> Option<TVec<usize>> {
    if input.len() != output.len() {
        return None;
    }
    input
        .iter()
        .zip(output)
        .map(|(&i, &o)| (i > 0 && o >= i && o % i == 0).then(|| o / i))
        .collect()
}

/// Replaces every nearest `Resize` that replicates pixels by tract's
/// `NearestUpsample`; returns how many it replaced.
pub(crate) fn lower_nearest_resize(model: &mut TypedModel) -> TractResult<usize> {
    super::rewrite_nodes(model, |model, node| {
        let Some(scales) = node
            .op_as::<Resize>()
            .and_then(|resize| replication_scales(model, node, resize))
        else {
            return Ok(None);
        };
        let op = NearestUpsample { scales };
        TypedModelPatch::replace_single_op(model, node, &node.inputs[..1], op).map(Some)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_factors_only() {
        assert_eq!(
            scales_between(&[1, 64, 16, 20], &[1, 64, 32, 40]),
            Some(tvec![1, 1, 2, 2])
        );
        assert_eq!(
            scales_between(&[1, 8, 3, 3], &[1, 8, 3, 3]),
            Some(tvec![1, 1, 1, 1])
        );
        assert_eq!(scales_between(&[1, 8, 3, 3], &[1, 8, 4, 6]), None);
        assert_eq!(scales_between(&[1, 8, 4, 4], &[1, 8, 2, 2]), None);
        assert_eq!(scales_between(&[1, 0, 4], &[1, 0, 8]), None);
        assert_eq!(scales_between(&[1, 4], &[1, 4, 1]), None);
    }

    /// The detector's two pyramid upsamplings are lowered at the plan size
    /// the pipeline uses, and nothing else is left of the general resampler.
    #[test]
    fn lowers_both_upsamplings_of_the_detector() {
        let mut model =
            crate::inference::decluttered(crate::models::ModelKind::Detector, [1, 3, 256, 320]);
        assert_eq!(lower_nearest_resize(&mut model).unwrap(), 2);
        assert!(model.nodes().iter().all(|n| n.op_as::<Resize>().is_none()));
    }
}
