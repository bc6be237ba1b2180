//! Taking a network's final softmax out of the plan.
//!
//! RetinaFace ends in a softmax over two classes for each of its thousands of
//! anchors. tract runs a softmax row by row, which for rows of two values cost
//! 1.2 ms of a 320x256 detection; the same arithmetic over a flat slice takes
//! microseconds. [`strip_output_softmax`] makes the network return the logits
//! instead, and [`softmax_pairs`] finishes the job.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::DimLike;
use tract_onnx::tract_core::ops::nn::{Softmax, SoftmaxKind};

/// Makes output `index` the input of the softmax that produces it, over the
/// last axis, of length `classes`. Returns false, leaving the model as it was,
/// when that output is not such a softmax.
pub(crate) fn strip_output_softmax(
    model: &mut TypedModel,
    index: usize,
    classes: usize,
) -> TractResult<bool> {
    let Some(&outlet) = model.outputs.get(index) else {
        return Ok(false);
    };
    let node = model.node(outlet.node);
    let Some(softmax) = node.op_as::<Softmax>() else {
        return Ok(false);
    };
    let fact = model.outlet_fact(outlet)?;
    let rank = fact.rank();
    let last_is_classes = fact.shape.last().and_then(|d| d.to_usize().ok()) == Some(classes);
    if softmax.kind != SoftmaxKind::Softmax
        || softmax.axes.as_slice() != [rank - 1]
        || !last_is_classes
        || fact.datum_type != f32::datum_type()
    {
        return Ok(false);
    }
    model.outputs[index] = node.inputs[0];
    model.compact()?;
    Ok(true)
}

/// Softmax of each consecutive pair of logits, in place.
pub(crate) fn softmax_pairs(values: &mut [f32]) {
    for pair in values.chunks_exact_mut(2) {
        let max = pair[0].max(pair[1]);
        let (e0, e1) = ((pair[0] - max).exp(), (pair[1] - max).exp());
        let sum = e0 + e1;
        pair[0] = e0 / sum;
        pair[1] = e1 / sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_sum_to_one_and_keep_order() {
        let mut v = [0.0f32, 0.0, 1000.0, -1000.0, -3.0, 2.0];
        softmax_pairs(&mut v);
        assert_eq!(&v[..4], &[0.5, 0.5, 1.0, 0.0]);
        assert!((v[4] + v[5] - 1.0).abs() < 1e-6);
        let expected = 1.0 / (1.0 + (-5.0f32).exp());
        assert!((v[5] - expected).abs() < 1e-6);
    }

    /// The detector's `conf` output is such a softmax, and once stripped the
    /// network returns the logits that `softmax_pairs` turns back into it.
    #[test]
    fn strips_the_detector_softmax() {
        let typed =
            crate::inference::decluttered(crate::models::ModelKind::Detector, [1, 3, 64, 64]);
        let mut stripped = typed.clone();
        assert!(strip_output_softmax(&mut stripped, 1, 2).unwrap());
        assert!(!strip_output_softmax(&mut stripped, 1, 2).unwrap());
        assert!(!strip_output_softmax(&mut stripped.clone(), 0, 2).unwrap());

        let input: Vec<f32> = (0..3 * 64 * 64)
            .map(|i| ((i * 37) % 200) as f32 - 100.0)
            .collect();
        let run = |m: TypedModel| {
            let out = m
                .into_runnable()
                .unwrap()
                .run(tvec!(
                    Tensor::from_shape(&[1, 3, 64, 64], &input)
                        .unwrap()
                        .into_tvalue()
                ))
                .unwrap();
            out[1]
                .as_plain_ram()
                .unwrap()
                .as_slice::<f32>()
                .unwrap()
                .to_vec()
        };
        let reference = run(typed);
        let mut ours = run(stripped);
        softmax_pairs(&mut ours);
        assert_eq!(reference.len(), ours.len());
        for (a, b) in reference.iter().zip(&ours) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }
}
