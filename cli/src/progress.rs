//! Progress display for long steps: a bar on a terminal, plain lines otherwise.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use zkiris::prover::{Phase, ProgressListener};

/// Shows a bar while a step runs (terminal only) and prints one summary line per step.
pub struct StepProgress {
    bar: Option<ProgressBar>,
    last_phase: Mutex<Option<Phase>>,
}

impl StepProgress {
    /// Starts a step named `what`.
    pub fn start(what: &str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(1000);
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix:<26} [{bar:30}] {msg:<8} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(what.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self { bar, last_phase: Mutex::new(None) }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for StepProgress {
    fn drop(&mut self) {
        self.finish();
    }
}

impl ProgressListener for StepProgress {
    fn on_progress(&self, phase: Phase, fraction: f64) {
        if let Some(bar) = &self.bar {
            bar.set_position((fraction.clamp(0.0, 1.0) * 1000.0) as u64);
            let mut last = self.last_phase.lock().unwrap_or_else(|e| e.into_inner());
            if *last != Some(phase) {
                bar.set_message(phase.name());
                *last = Some(phase);
            }
        }
    }
}

/// When set, step reports go to stderr so that stdout holds only the JSON result.
static REPORTS_TO_STDERR: AtomicBool = AtomicBool::new(false);

/// Sends step reports to stderr (commands printing `--json`).
pub fn reports_to_stderr() {
    REPORTS_TO_STDERR.store(true, Ordering::Relaxed);
}

/// Prints the one-line report of a finished step: `ok  what  detail  1.23 s`.
pub fn report(what: &str, detail: &str, started: Instant) {
    let line = format!("ok  {what:<28} {detail:<48} {:>8.2} s", started.elapsed().as_secs_f64());
    if REPORTS_TO_STDERR.load(Ordering::Relaxed) {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}

/// Human-readable byte count.
pub fn bytes(n: usize) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else if n >= 1 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}
