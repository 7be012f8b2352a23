//! Full renders of both files per mode: `cargo bench -p sei-config`. Target: under 1 ms.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sei_config::{ConfigIntent, File, Host, render, resolve};

fn renders(c: &mut Criterion) {
    let host = Host::fixed(2, "node-0");
    for mode in sei_config::ALL_MODES {
        let intent = ConfigIntent {
            mode: mode.as_str().into(),
            overrides: [("chain.chain_id", "pacific-1"), ("evm.http_port", "8545")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        c.bench_function(&format!("resolve+render {mode}"), |b| {
            b.iter(|| {
                let result = resolve(black_box(&intent), None, &host).unwrap();
                let cfg = result.config.unwrap();
                (render(&cfg, File::Config), render(&cfg, File::App))
            })
        });
    }
}

criterion_group!(benches, renders);
criterion_main!(benches);
