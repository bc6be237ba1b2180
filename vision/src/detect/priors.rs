//! RetinaFace anchor boxes ("priors"), in the order the network emits them.

/// Feature-map strides and the anchor sizes each one carries.
const LEVELS: [(u32, [f32; 2]); 3] = [(8, [16.0, 32.0]), (16, [64.0, 128.0]), (32, [256.0, 512.0])];

/// One anchor, normalised to the plan size: centre and size as fractions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prior {
    pub cx: f32,
    pub cy: f32,
    pub w: f32,
    pub h: f32,
}

/// All priors of a `width` x `height` plan: for each stride, each feature-map
/// cell row by row, each anchor size.
pub fn priors(width: u32, height: u32) -> Vec<Prior> {
    let (wf, hf) = (width as f32, height as f32);
    let mut out = Vec::with_capacity(prior_count(width, height));
    for (stride, sizes) in LEVELS {
        let rows = height.div_ceil(stride);
        let cols = width.div_ceil(stride);
        for i in 0..rows {
            for j in 0..cols {
                for m in sizes {
                    out.push(Prior {
                        cx: (j as f32 + 0.5) * stride as f32 / wf,
                        cy: (i as f32 + 0.5) * stride as f32 / hf,
                        w: m / wf,
                        h: m / hf,
                    });
                }
            }
        }
    }
    out
}

/// How many priors (and so output rows) a plan of this size has.
pub fn prior_count(width: u32, height: u32) -> usize {
    LEVELS
        .iter()
        .map(|(s, sizes)| (height.div_ceil(*s) * width.div_ceil(*s)) as usize * sizes.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_matches_feature_maps() {
        // 320x320: 40*40*2 + 20*20*2 + 10*10*2
        assert_eq!(prior_count(320, 320), 4200);
        assert_eq!(priors(320, 320).len(), 4200);
        // ceil for sizes that are not multiples of the stride
        assert_eq!(prior_count(100, 60), (13 * 8 + 7 * 4 + 4 * 2) * 2);
    }

    #[test]
    fn first_and_last_priors() {
        let p = priors(640, 480);
        let first = p[0];
        assert_eq!(
            first,
            Prior {
                cx: 4.0 / 640.0,
                cy: 4.0 / 480.0,
                w: 16.0 / 640.0,
                h: 16.0 / 480.0
            }
        );
        assert_eq!(p[1].w, 32.0 / 640.0);
        let last = *p.last().unwrap();
        assert_eq!(last.cx, (19.5 * 32.0) / 640.0);
        assert_eq!(last.cy, (14.5 * 32.0) / 480.0);
        assert_eq!(last.w, 512.0 / 640.0);
    }
}
