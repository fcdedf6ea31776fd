//! Timing shared by the benchmarks: repeated calls after a warm-up, reported as median, p90 and max.

use std::time::{Duration, Instant};

/// Calls that are timed per benchmark line.
pub const SAMPLES: usize = 30;

/// Times `call` [`SAMPLES`] times after one warm-up call; the durations, sorted.
pub async fn sample<F, Fut>(mut call: F) -> Vec<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = usize>,
{
    call().await; // warm-up
    let mut timings = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let started = Instant::now();
        call().await;
        timings.push(started.elapsed());
    }
    timings.sort();
    timings
}

/// Prints a `FIGURE` line (scripts/figures.sh collects them); `bytes` is the size of one answer, if it matters.
pub fn report(what: &str, sorted: &[Duration], bytes: usize) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let size = if bytes > 0 { format!(", {:.1} KiB of HTML", bytes as f64 / 1024.0) } else { String::new() };
    println!(
        "FIGURE {what}: median {:.1} ms, p90 {:.1} ms, max {:.1} ms over {SAMPLES} renders{size}",
        ms(sorted[sorted.len() / 2]),
        ms(sorted[sorted.len() * 9 / 10]),
        ms(sorted[sorted.len() - 1]),
    );
}
