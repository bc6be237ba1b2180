//! Time of one template transform at the default parameters, on one thread
//! and cut in two parts on two threads. Prints figures; asserts nothing.
//!
//! `cargo bench -p faceseal-protect --bench protect`

use std::time::Instant;

use faceseal_protect::Embedding;
use faceseal_protect::template::{IomParams, TemplateKey, TemplateSecret};

const RUNS: usize = 21;

fn median_ms(mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[RUNS / 2]
}

fn main() {
    let secret = TemplateSecret::from_bytes(&[0x5a; 32]).expect("32 bytes");
    let key = TemplateKey::derive(&secret, "bench", 1, IomParams::DEFAULT).expect("valid");
    let mut values = [0f32; 128];
    for (i, v) in values.iter_mut().enumerate() {
        *v = ((i * 7919) % 13) as f32 - 6.0;
    }
    let embedding = Embedding::from_array(values);
    let one = median_ms(|| {
        key.protect(embedding.clone()).expect("protects");
    });
    let two = median_ms(|| {
        let parts = std::thread::scope(|s| {
            let handles: Vec<_> = key
                .params()
                .split(2)
                .into_iter()
                .map(|hashes| s.spawn(|| key.protect_part(&embedding, hashes).expect("part")))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic"))
                .collect::<Vec<_>>()
        });
        key.assemble(parts).expect("assembles");
    });
    println!(
        "template transform, 1024 hashes x 8 projections x 128 dimensions (median of {RUNS}):"
    );
    println!("  one thread:         {one:.2} ms");
    println!("  two parts, threads: {two:.2} ms ({:.2}x)", two / one);
}
