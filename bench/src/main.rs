//! Benchmark of the regional servers (being written).

fn main() {
    eprintln!("the benchmark is not written yet");
    std::process::exit(1);
}
