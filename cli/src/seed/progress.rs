//! What a run reports as it goes: events from the copier, drawn as bars on a
//! terminal or laid out as plain lines (one per image) elsewhere, and counted
//! for the summary both end with.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::{Copy, Outcome};

/// How a blob came to be at the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blob {
    /// Streamed from the source.
    Sent,
    /// Linked from another repository of the destination registry.
    Mounted,
    /// Already there.
    Present,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Started {
        copy: Copy,
    },
    /// Bytes of a blob on their way.
    Bytes {
        copy: Copy,
        bytes: usize,
    },
    Blob {
        copy: Copy,
        digest: String,
        size: i64,
        how: Blob,
    },
    /// A manifest pushed (a child by digest, or the image's own).
    Manifest {
        copy: Copy,
        digest: String,
    },
    Finished {
        copy: Copy,
        outcome: Outcome,
    },
}

/// Whatever listens to a run; the copier calls it from each image's task.
pub trait Report: Send + Sync {
    fn report(&self, event: Event);
    /// The run's last line, once it is over.
    fn summary(&self) -> String;
}

/// What a run did, for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub copied: usize,
    pub already_there: usize,
    pub failed: usize,
    pub blobs_sent: usize,
    pub blobs_mounted: usize,
    pub manifests_pushed: usize,
    pub bytes_sent: u64,
}

impl Counts {
    pub fn count(&mut self, event: &Event) {
        match event {
            Event::Started { .. } => {}
            Event::Bytes { bytes, .. } => self.bytes_sent += *bytes as u64,
            Event::Blob { how: Blob::Sent, .. } => self.blobs_sent += 1,
            Event::Blob { how: Blob::Mounted, .. } => self.blobs_mounted += 1,
            Event::Blob { how: Blob::Present, .. } => {}
            Event::Manifest { .. } => self.manifests_pushed += 1,
            Event::Finished { outcome: Outcome::Copied(_), .. } => self.copied += 1,
            Event::Finished { outcome: Outcome::AlreadyThere(_), .. } => self.already_there += 1,
            Event::Finished { outcome: Outcome::Failed(_), .. } => self.failed += 1,
        }
    }

    /// `seed: 2 copied, 1 already there, 0 failed; 5 blobs sent (3.2 MiB), 1 mounted, 4 manifests pushed in 1.3 s`,
    /// or, when nothing was sent, says so.
    pub fn summary(&self, seconds: f64) -> String {
        let images = format!("{} copied, {} already there, {} failed", self.copied, self.already_there, self.failed);
        if self.blobs_sent + self.blobs_mounted + self.manifests_pushed == 0 {
            return format!("seed: {images}; nothing sent: no blob, no manifest ({seconds:.1} s)");
        }
        format!(
            "seed: {images}; {} blobs sent ({}), {} mounted, {} manifests pushed in {seconds:.1} s",
            self.blobs_sent,
            mib(self.bytes_sent),
            self.blobs_mounted,
            self.manifests_pushed
        )
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The counts of a run and when it started, for its summary.
struct Tally {
    counts: Mutex<Counts>,
    started: Instant,
}

impl Default for Tally {
    fn default() -> Self {
        Self { counts: Mutex::default(), started: Instant::now() }
    }
}

impl Tally {
    fn count(&self, event: &Event) {
        self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).count(event);
    }

    fn summary(&self) -> String {
        let counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        counts.summary(self.started.elapsed().as_secs_f64())
    }
}

/// Plain lines on stderr, one per finished image, and the counts: for logs
/// and pipes, where bars would be noise.
#[derive(Default)]
pub struct Lines {
    tally: Tally,
}

impl Report for Lines {
    fn report(&self, event: Event) {
        if let Event::Finished { copy, outcome } = &event {
            eprintln!("{}", line(copy, outcome));
        }
        self.tally.count(&event);
    }

    fn summary(&self) -> String {
        self.tally.summary()
    }
}

/// Bars on a terminal: one per image on its way, with its bytes and rate,
/// and one for the run; each finished image's line is printed above them.
pub struct Bars {
    tally: Tally,
    bars: MultiProgress,
    total: ProgressBar,
    images: Mutex<HashMap<String, ProgressBar>>,
    finished: AtomicUsize,
    count: usize,
}

impl Bars {
    /// Bars for a run of `count` images, drawn on stderr.
    pub fn new(count: usize) -> Self {
        let bars = MultiProgress::new();
        let style = ProgressStyle::with_template("{spinner} {bytes} sent at {binary_bytes_per_sec}, {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let total = bars.add(ProgressBar::no_length().with_style(style).with_message(format!("0 of {count} images")));
        total.enable_steady_tick(std::time::Duration::from_millis(120));
        Self { tally: Tally::default(), bars, total, images: Mutex::default(), finished: AtomicUsize::new(0), count }
    }

    fn images(&self) -> std::sync::MutexGuard<'_, HashMap<String, ProgressBar>> {
        self.images.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Report for Bars {
    fn report(&self, event: Event) {
        match &event {
            Event::Started { copy } => {
                let style = ProgressStyle::with_template("  {spinner} {msg} {bytes} at {binary_bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
                let bar = ProgressBar::no_length().with_style(style).with_message(copy.destination.clone());
                self.images().insert(copy.destination.clone(), self.bars.insert_before(&self.total, bar));
            }
            Event::Bytes { copy, bytes } => {
                if let Some(bar) = self.images().get(&copy.destination) {
                    bar.inc(*bytes as u64);
                }
                self.total.inc(*bytes as u64);
            }
            Event::Finished { copy, outcome } => {
                if let Some(bar) = self.images().remove(&copy.destination) {
                    bar.finish_and_clear();
                }
                let _ = self.bars.println(line(copy, outcome));
                let finished = self.finished.fetch_add(1, Ordering::Relaxed) + 1;
                self.total.set_message(format!("{finished} of {} images", self.count));
            }
            Event::Blob { .. } | Event::Manifest { .. } => {}
        }
        self.tally.count(&event);
    }

    fn summary(&self) -> String {
        self.total.finish_and_clear();
        self.tally.summary()
    }
}

/// One image's result: `copied DESTINATION (digest)`, `already there …`, or
/// `failed SOURCE -> DESTINATION: why`.
pub fn line(copy: &Copy, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Copied(digests) => format!("copied {} ({digests})", copy.destination),
        Outcome::AlreadyThere(digests) => format!("already there {} ({digests})", copy.destination),
        Outcome::Failed(why) => format!("failed {} -> {}: {why}", copy.source, copy.destination),
    }
}
