//! Computing each value once.
//!
//! The exported RetinaFace computes the first convolution of each of its three
//! context modules twice: the second copy reads the same input with the same
//! weights (through an ONNX `Identity`). tract keeps both, which cost about a
//! millisecond a frame. [`merge_duplicates`] finds nodes that apply the same
//! operation to the same inputs and wires every use of the later one to the
//! earlier, until none is left; the function is unchanged by construction.

use std::collections::HashMap;

use tract_onnx::prelude::*;

/// The first node (in evaluation order) that duplicates an earlier one, with
/// the node it duplicates.
fn first_duplicate(model: &TypedModel) -> TractResult<Option<(usize, usize)>> {
    let inputs: Vec<usize> = model.inputs.iter().map(|o| o.node).collect();
    let mut seen: HashMap<Vec<OutletId>, Vec<usize>> = HashMap::new();
    for id in model.eval_order()? {
        if inputs.contains(&id) {
            continue;
        }
        let node = model.node(id);
        let same_inputs = seen.entry(node.inputs.to_vec()).or_default();
        if let Some(&kept) = same_inputs.iter().find(|&&k| model.node(k).same_as(node)) {
            return Ok(Some((kept, id)));
        }
        same_inputs.push(id);
    }
    Ok(None)
}

/// Merges every node that duplicates an earlier one; returns how many.
pub(crate) fn merge_duplicates(model: &mut TypedModel) -> TractResult<usize> {
    let mut merged = 0;
    while let Some((kept, dup)) = first_duplicate(model)? {
        let mut patch = TypedModelPatch::default();
        for slot in 0..model.node(dup).outputs.len() {
            let tapped = patch.tap_model(model, OutletId::new(kept, slot))?;
            patch.shunt_outside(model, OutletId::new(dup, slot), tapped)?;
        }
        patch.apply(model)?;
        // The duplicate has no successors left; drop it before looking again.
        model.compact()?;
        merged += 1;
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::tract_core::ops::math::add;

    #[test]
    fn merges_the_same_operation_on_the_same_inputs() {
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact([4])).unwrap();
        let y = model.add_source("y", f32::fact([4])).unwrap();
        let a = model.wire_node("a", add(), &[x, y]).unwrap()[0];
        let b = model.wire_node("b", add(), &[x, y]).unwrap()[0];
        let c = model.wire_node("c", add(), &[y, x]).unwrap()[0];
        let sum = model.wire_node("sum", add(), &[a, b]).unwrap()[0];
        model.select_output_outlets(&[sum, c]).unwrap();
        // b duplicates a; c takes its inputs the other way round, so it stays
        // (nothing here assumes an operation commutes); the two sources,
        // alike as they are, are different inputs and stay too.
        assert_eq!(merge_duplicates(&mut model).unwrap(), 1);
        assert_eq!(model.nodes().len(), 5);
        let out = model
            .into_runnable()
            .unwrap()
            .run(tvec!(
                tensor1(&[1f32, 2., 3., 4.]).into_tvalue(),
                tensor1(&[10f32, 20., 30., 40.]).into_tvalue()
            ))
            .unwrap();
        let sum = out[0].as_plain_ram().unwrap();
        assert_eq!(sum.as_slice::<f32>().unwrap(), &[22., 44., 66., 88.]);
    }

    /// The detector's three duplicated convolutions (and what follows each)
    /// are merged.
    #[test]
    fn merges_the_detector_duplicates() {
        let mut model =
            crate::inference::decluttered(crate::models::ModelKind::Detector, [1, 3, 128, 128]);
        assert!(merge_duplicates(&mut model).unwrap() >= 3);
        assert_eq!(first_duplicate(&model).unwrap(), None);
    }
}
