//! Convolutions over a single pixel, reduced to the one kernel tap that sees it.
//!
//! The embedding network ends with a 3x3 convolution with 256 channels and
//! a padding of one pixel over a 1x1 feature map. Eight of the nine taps of
//! each output read padding, so only the centre of the kernel contributes;
//! tract still multiplies all nine (2,304 products per output where 256
//! matter, with 2.4 MB of weights read where 0.26 MB matter).
//! [`lower_single_tap_conv`] replaces every float convolution whose output is
//! one pixel computed from one pixel by a 1x1 convolution with that tap's
//! weights, which tract then runs as a plain matrix product. The sum is the
//! same except for the zeros it no longer adds.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};

/// The position of the only kernel tap that reads input, per spatial axis,
/// when `conv` maps a one-pixel input to a one-pixel output.
fn single_tap(conv: &Conv, input_shape: &[usize]) -> Option<TVec<usize>> {
    let spec = &conv.pool_spec;
    if conv.q_params.is_some()
        || conv.kernel_fmt != KernelFormat::OIHW
        || spec.dilations().iter().any(|&d| d != 1)
    {
        return None;
    }
    let shape = spec.data_format.shape(input_shape).ok()?;
    let hw = shape.hw_dims();
    if hw.iter().any(|&d| d != 1) {
        return None;
    }
    spec.computed_padding(hw)
        .iter()
        .zip(&spec.kernel_shape)
        .map(|(pad, &k)| (pad.convoluted == 1 && pad.pad_before < k).then_some(pad.pad_before))
        .collect()
}

/// The weights of one tap of an OIHW kernel, as a 1x1 kernel.
fn tap_weights(kernel: &Tensor, tap: &[usize]) -> TractResult<Tensor> {
    let (&first, rest) = tap
        .split_first()
        .ok_or_else(|| TractError::msg("a kernel without spatial axes"))?;
    let mut sliced = kernel.slice(2, first, first + 1)?;
    for (axis, &t) in rest.iter().enumerate() {
        sliced = sliced.slice(3 + axis, t, t + 1)?;
    }
    Ok(sliced)
}

/// Replaces every single-tap convolution by its 1x1 equivalent; returns how
/// many it replaced.
pub(crate) fn lower_single_tap_conv(model: &mut TypedModel) -> TractResult<usize> {
    super::rewrite_nodes(model, |model, node| {
        let Some(conv) = node.op_as::<Conv>() else {
            return Ok(None);
        };
        let &[data, kernel, bias] = &node.inputs[..] else {
            return Ok(None);
        };
        let input = model.outlet_fact(data)?;
        let kernel = model.outlet_fact(kernel)?;
        let (Some(shape), Some(weights)) = (input.shape.as_concrete(), kernel.konst.as_ref())
        else {
            return Ok(None);
        };
        if input.datum_type != f32::datum_type() {
            return Ok(None);
        }
        let Some(tap) = single_tap(conv, shape) else {
            return Ok(None);
        };
        let one_by_one = Conv {
            pool_spec: PoolSpec {
                kernel_shape: tvec![1; tap.len()],
                padding: PaddingSpec::Valid,
                dilations: None,
                strides: None,
                ..conv.pool_spec.clone()
            },
            ..conv.clone()
        };
        let name = &node.name;
        let mut patch = TypedModelPatch::new(format!("single tap of {name}"));
        let data = patch.tap_model(model, data)?;
        let bias = patch.tap_model(model, bias)?;
        let weights =
            patch.add_const(format!("{name}.tap_weights"), tap_weights(weights, &tap)?)?;
        let wire = patch.wire_node(
            format!("{name}.single_tap"),
            one_by_one,
            &[data, weights, bias],
        )?[0];
        patch.shunt_outside(model, OutletId::new(node.id, 0), wire)?;
        Ok(Some(patch))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::tract_core::ops::nn::DataFormat;

    fn pseudo_random(len: usize, seed: u32) -> Vec<f32> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }

    /// One convolution over a `c x 1 x 1` input with a `k x k` kernel and
    /// padding `pad` on every side.
    fn one_conv(c: usize, o: usize, k: usize, pad: usize) -> TypedModel {
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact([1, c, 1, 1])).unwrap();
        let kernel = Tensor::from_shape(&[o, c, k, k], &pseudo_random(o * c * k * k, 7)).unwrap();
        let kernel = model.add_const("kernel", kernel).unwrap();
        let bias = Tensor::from_shape(&[o], &pseudo_random(o, 11)).unwrap();
        let bias = model.add_const("bias", bias).unwrap();
        let conv = Conv {
            pool_spec: PoolSpec {
                data_format: DataFormat::NCHW,
                kernel_shape: tvec![k, k],
                padding: PaddingSpec::Explicit(tvec![pad, pad], tvec![pad, pad]),
                dilations: None,
                strides: None,
                input_channels: c,
                output_channels: o,
            },
            kernel_fmt: KernelFormat::OIHW,
            group: 1,
            q_params: None,
        };
        let y = model.wire_node("conv", conv, &[x, kernel, bias]).unwrap();
        model.select_output_outlets(&y).unwrap();
        model
    }

    fn run(model: TypedModel, input: &Tensor) -> Vec<f32> {
        let out = model
            .into_runnable()
            .unwrap()
            .run(tvec!(input.clone().into_tvalue()))
            .unwrap();
        out[0]
            .to_plain_array_view::<f32>()
            .unwrap()
            .iter()
            .copied()
            .collect()
    }

    #[test]
    fn same_outputs_as_the_full_kernel() {
        for (k, pad) in [(3, 1), (5, 2), (3, 2)] {
            let model = one_conv(16, 8, k, pad);
            let input = Tensor::from_shape(&[1, 16, 1, 1], &pseudo_random(16, 3)).unwrap();
            let expected = run(model.clone(), &input);
            let mut lowered = model;
            let count = lower_single_tap_conv(&mut lowered).unwrap();
            if k == 3 && pad == 2 {
                // Nine output pixels: not a single-tap convolution.
                assert_eq!(count, 0);
                continue;
            }
            assert_eq!(count, 1, "k={k} pad={pad}");
            let got = run(lowered, &input);
            assert_eq!(got.len(), expected.len());
            for (g, e) in got.iter().zip(&expected) {
                assert!((g - e).abs() <= 1e-5 * e.abs().max(1.0), "{g} vs {e}");
            }
        }
    }

    #[test]
    fn off_centre_padding_picks_the_tap_that_reads_the_pixel() {
        let conv = Conv {
            pool_spec: PoolSpec {
                data_format: DataFormat::NCHW,
                kernel_shape: tvec![3, 3],
                padding: PaddingSpec::Explicit(tvec![2, 0], tvec![0, 2]),
                dilations: None,
                strides: None,
                input_channels: 4,
                output_channels: 4,
            },
            kernel_fmt: KernelFormat::OIHW,
            group: 1,
            q_params: None,
        };
        assert_eq!(single_tap(&conv, &[1, 4, 1, 1]), Some(tvec![2, 0]));
        assert_eq!(single_tap(&conv, &[1, 4, 2, 1]), None);
    }

    /// The embedder's convolution over its last 1x1 map is the only one
    /// rewritten (the one before it reads a 3x3 window of a 4x4 map).
    #[test]
    fn lowers_the_last_convolution_of_the_embedder() {
        let mut model =
            crate::inference::decluttered(crate::models::ModelKind::Embedder, [1, 3, 150, 150]);
        assert_eq!(lower_single_tap_conv(&mut model).unwrap(), 1);
    }
}
