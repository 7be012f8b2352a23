//! Prints the rendered files of a mode: `cargo run -p sei-config --example render -- archive`.
fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "full".into());
    let mode: sei_config::Mode = mode.parse().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let cfg = sei_config::defaults(mode, &sei_config::Host::detect());
    print!("{}\n{}", sei_config::render(&cfg, sei_config::File::Config), sei_config::render(&cfg, sei_config::File::App));
}
