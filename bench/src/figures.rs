//! What runs measure and how they are summed up: a worker process runs one client on one
//! workload and reports a sample; a table row is the medians of the samples.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::workers;

/// What one run of one client measured.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub rate: f64,
    pub cpu_seconds: f64,
    pub peak_rss_mib: f64,
    /// Allocations per unit of work, where counted (the Rust clients).
    pub allocations_per_unit: Option<f64>,
}

/// Runs one client on one workload in a worker process, which measures it.
pub fn run_once(
    client: &str,
    workload: &str,
    socket: &Path,
    target: &str,
    expected_units: f64,
    placement: workers::Placement,
) -> Sample {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["worker", client, workload])
        .arg(socket)
        .arg(target)
        .arg(placement.argument())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot start the {client} worker: {e}"));
    assert!(output.status.success(), "{client} {workload} failed: {}", output.status);
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<f64> = text.split_whitespace().map(|f| f.parse().unwrap()).collect();
    let [units, seconds, cpu_seconds, peak_rss_kib, allocations] = fields[..] else {
        panic!("the {client} worker printed {text:?}")
    };
    // curl's output is not counted: it did the known amount of work or failed.
    let units = if units == 0.0 { expected_units } else { units };
    assert!(
        expected_units == 0.0 || units == expected_units,
        "{client} {workload}: handled {units} units, expected {expected_units}"
    );
    let scale = if workload == "exec" || workload == "export" {
        1e6
    } else {
        1.0
    };
    Sample {
        rate: units / seconds / scale,
        cpu_seconds,
        peak_rss_mib: peak_rss_kib / 1024.0,
        // Per request, message or line; per MB for the byte streams.
        allocations_per_unit: (allocations >= 0.0).then(|| allocations / (units / scale)),
    }
}

pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// What a table row says of one client's runs of one workload.
pub struct Summary {
    pub rate: f64,
    pub low: f64,
    pub high: f64,
    pub cpu_seconds: f64,
    pub peak_rss_mib: f64,
    pub allocations_per_unit: Option<f64>,
}

/// Medians of the runs, and the range of their rates.
pub fn summarize(samples: &[Sample]) -> Summary {
    let mut rates: Vec<f64> = samples.iter().map(|s| s.rate).collect();
    let mut cpu: Vec<f64> = samples.iter().map(|s| s.cpu_seconds).collect();
    let mut rss: Vec<f64> = samples.iter().map(|s| s.peak_rss_mib).collect();
    let mut allocations: Vec<f64> = samples.iter().filter_map(|s| s.allocations_per_unit).collect();
    Summary {
        low: rates.iter().cloned().fold(f64::MAX, f64::min),
        high: rates.iter().cloned().fold(0.0, f64::max),
        rate: median(&mut rates),
        cpu_seconds: median(&mut cpu),
        peak_rss_mib: median(&mut rss),
        allocations_per_unit: (!allocations.is_empty()).then(|| median(&mut allocations)),
    }
}
