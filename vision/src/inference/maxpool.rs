//! Max pooling over square windows of an NCHW tensor, row by row.
//!
//! The embedding network pools its first feature map (32 x 72 x 72, 3x3 window,
//! stride 2) once per chip; tract's generic pooling walked it window by window
//! in 0.6 ms. [`lower_max_pool`] puts [`PlaneMaxPool`] in place of every
//! unpadded, undilated 2-D max pool over NCHW data: it takes the maximum down
//! each window's rows for a whole row at once, then across each window, which
//! is the same function in a few tens of microseconds.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{MaxPool, PaddingSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

/// `out[n, c, y, x] = max over i, j < kernel of in[n, c, y·stride + i, x·stride + j]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PlaneMaxPool {
    kernel: usize,
    stride: usize,
}

impl PlaneMaxPool {
    /// Output length of one axis, or `None` when the window does not fit.
    fn out_len(&self, len: usize) -> Option<usize> {
        (len >= self.kernel).then(|| (len - self.kernel) / self.stride + 1)
    }

    /// Pools one `h x w` plane into `out` (`oh x ow`).
    fn pool_plane(&self, plane: &[f32], w: usize, out: &mut [f32], ow: usize, column: &mut [f32]) {
        let (k, s) = (self.kernel, self.stride);
        for (oy, out_row) in out.chunks_exact_mut(ow).enumerate() {
            let top = oy * s;
            column.copy_from_slice(&plane[top * w..(top + 1) * w]);
            for row in plane[(top + 1) * w..(top + k) * w].chunks_exact(w) {
                for (m, &v) in column.iter_mut().zip(row) {
                    *m = m.max(v);
                }
            }
            for (ox, o) in out_row.iter_mut().enumerate() {
                let window = &column[ox * s..ox * s + k];
                *o = window.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            }
        }
    }
}

impl Op for PlaneMaxPool {
    fn name(&self) -> StaticName {
        "PlaneMaxPool".into()
    }

    op_as_typed_op!();
}

impl EvalOp for PlaneMaxPool {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let shape = input.shape();
        ensure!(shape.len() == 4, "PlaneMaxPool takes NCHW tensors");
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3]);
        let (Some(oh), Some(ow)) = (self.out_len(h), self.out_len(w)) else {
            bail!("PlaneMaxPool: {h}x{w} is smaller than the window");
        };
        let view = input.try_as_plain_ram()?;
        let data = view.as_slice::<f32>()?;
        let mut out = vec![0f32; n * c * oh * ow];
        let mut column = vec![0f32; w];
        for (plane, out_plane) in data.chunks_exact(h * w).zip(out.chunks_exact_mut(oh * ow)) {
            self.pool_plane(plane, w, out_plane, ow, &mut column);
        }
        Ok(tvec!(
            Tensor::from_shape(&[n, c, oh, ow], &out)?.into_tvalue()
        ))
    }
}

impl TypedOp for PlaneMaxPool {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let fact = inputs[0];
        ensure!(fact.datum_type == f32::datum_type() && fact.rank() == 4);
        let dims = fact
            .shape
            .as_concrete()
            .context("PlaneMaxPool needs a concrete shape")?;
        let (Some(oh), Some(ow)) = (self.out_len(dims[2]), self.out_len(dims[3])) else {
            bail!("PlaneMaxPool: window larger than the input");
        };
        Ok(tvec!(f32::fact([dims[0], dims[1], oh, ow])))
    }

    as_op!();
}

/// The equivalent [`PlaneMaxPool`] of a tract max pool, if it has one.
fn plane_equivalent(pool: &MaxPool, input: &TypedFact) -> Option<PlaneMaxPool> {
    let spec = &pool.pool_spec;
    let square = match spec.kernel_shape.as_slice() {
        &[a, b] if a == b && a > 0 => a,
        _ => return None,
    };
    let stride = match spec.strides.as_deref() {
        None => 1,
        Some(&[a, b]) if a == b && a > 0 => a,
        Some(_) => return None,
    };
    let unpadded = match &spec.padding {
        PaddingSpec::Valid => true,
        PaddingSpec::Explicit(before, after) => before.iter().chain(after).all(|&p| p == 0),
        PaddingSpec::ExplicitOnnxPool(before, after, ceil) => {
            !ceil && before.iter().chain(after).all(|&p| p == 0)
        }
        _ => false,
    };
    let undilated = spec
        .dilations
        .as_ref()
        .is_none_or(|d| d.iter().all(|&v| v == 1));
    let ok = spec.data_format == DataFormat::NCHW
        && unpadded
        && undilated
        && pool.with_index_outputs.is_none()
        && input.datum_type == f32::datum_type()
        && input.rank() == 4
        && input.shape.as_concrete().is_some();
    ok.then_some(PlaneMaxPool {
        kernel: square,
        stride,
    })
}

/// Replaces every max pool that [`PlaneMaxPool`] computes; returns how many.
pub(crate) fn lower_max_pool(model: &mut TypedModel) -> TractResult<usize> {
    super::rewrite_nodes(model, |model, node| {
        let Some(pool) = node.op_as::<MaxPool>() else {
            return Ok(None);
        };
        let Some(op) = plane_equivalent(pool, model.outlet_fact(node.inputs[0])?) else {
            return Ok(None);
        };
        TypedModelPatch::replace_single_op(model, node, &node.inputs[..1], op).map(Some)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, window by window.
    fn reference(data: &[f32], c: usize, h: usize, w: usize, k: usize, s: usize) -> Vec<f32> {
        let (oh, ow) = ((h - k) / s + 1, (w - k) / s + 1);
        let mut out = Vec::new();
        for ch in 0..c {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut m = f32::NEG_INFINITY;
                    for i in 0..k {
                        for j in 0..k {
                            m = m.max(data[ch * h * w + (oy * s + i) * w + ox * s + j]);
                        }
                    }
                    out.push(m);
                }
            }
        }
        out
    }

    #[test]
    fn matches_the_definition() {
        for (c, h, w, k, s) in [
            (3, 9, 11, 3, 2),
            (2, 8, 8, 2, 2),
            (1, 5, 7, 3, 1),
            (4, 3, 3, 3, 3),
        ] {
            let data: Vec<f32> = (0..c * h * w)
                .map(|i| ((i * 7919) % 97) as f32 - 48.0)
                .collect();
            let op = PlaneMaxPool {
                kernel: k,
                stride: s,
            };
            let input = Tensor::from_shape(&[1, c, h, w], &data).unwrap();
            let out = op
                .eval(&EvalContext::out_of_plan(), tvec!(input.into_tvalue()))
                .unwrap();
            let got = out[0]
                .as_plain_ram()
                .unwrap()
                .as_slice::<f32>()
                .unwrap()
                .to_vec();
            assert_eq!(
                got,
                reference(&data, c, h, w, k, s),
                "{c}x{h}x{w} k{k} s{s}"
            );
        }
    }

    #[test]
    fn refuses_a_window_larger_than_the_input() {
        let op = PlaneMaxPool {
            kernel: 3,
            stride: 2,
        };
        let input = Tensor::from_shape(&[1, 1, 2, 5], &[0f32; 10]).unwrap();
        assert!(
            op.eval(&EvalContext::out_of_plan(), tvec!(input.into_tvalue()))
                .is_err()
        );
    }

    /// The embedding network's pool is lowered, and the plan's output is
    /// unchanged.
    #[test]
    fn lowers_the_embedder_pool_without_changing_its_output() {
        let typed =
            crate::inference::decluttered(crate::models::ModelKind::Embedder, [1, 3, 150, 150]);
        let mut lowered = typed.clone();
        assert_eq!(lower_max_pool(&mut lowered).unwrap(), 1);
        let input: Vec<f32> = (0..3 * 150 * 150)
            .map(|i| ((i * 31) % 256) as f32)
            .collect();
        let run = |m: TypedModel| {
            let out = m
                .into_optimized()
                .and_then(|m| m.into_runnable())
                .unwrap()
                .run(tvec!(
                    Tensor::from_shape(&[1, 3, 150, 150], &input)
                        .unwrap()
                        .into_tvalue()
                ))
                .unwrap();
            out[0]
                .as_plain_ram()
                .unwrap()
                .as_slice::<f32>()
                .unwrap()
                .to_vec()
        };
        assert_eq!(run(typed), run(lowered));
    }
}
