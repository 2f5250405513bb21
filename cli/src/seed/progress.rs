//! What a run reports as it goes: events from the copier, laid out as plain
//! lines (one per image, then a summary) and counted for that summary.

use std::sync::Mutex;
use std::time::Instant;

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

/// Plain lines on stderr, one per finished image, and the counts.
pub struct Lines {
    counts: Mutex<Counts>,
    started: Instant,
}

impl Default for Lines {
    fn default() -> Self {
        Self { counts: Mutex::default(), started: Instant::now() }
    }
}

impl Lines {
    pub fn summary(&self) -> String {
        self.counts().summary(self.started.elapsed().as_secs_f64())
    }

    pub fn counts(&self) -> Counts {
        self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

impl Report for Lines {
    fn report(&self, event: Event) {
        if let Event::Finished { copy, outcome } = &event {
            eprintln!("{}", line(copy, outcome));
        }
        self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).count(&event);
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
