//! Report mode (`action: report`): what the rules would do to an object's
//! images, named in one rejection that the audit scanner records as a `fail`
//! in a PolicyReport. Nothing is changed.

use crate::mirror::{Lookups, Mirror, Unavailable};
use crate::response::{Listing, Outcome, Verdict, Warnings, shown, shown_at_most};
use crate::rules::{Decision, Keep, Rules};
use crate::workload::Image;

/// A PolicyReport entry is read in a table: the message stays under 1 KiB,
/// and the images that do not fit are counted.
pub const MESSAGE_MAX: usize = 1000;
/// Container names are DNS labels; a listed kind's field path is cut as long.
const KEY_MAX: usize = 63;

/// Accepts when every image already pulls from a mirror (or is excluded, or
/// must stay as the node has it); otherwise rejects, one entry per image.
pub fn report<'p, 'a: 'p>(
    images: impl Iterator<Item = &'p Image<'a>>,
    rules: &Rules,
    mirror: &dyn Mirror,
    warnings: Warnings,
) -> Outcome {
    let mut lookups = Lookups::new(mirror);
    let mut listing = Listing::new(MESSAGE_MAX);
    for image in images {
        if let Some(entry) = entry(image, rules, &mut lookups) {
            listing.add(&entry);
        }
    }
    let verdict = listing.finish().map_or(Verdict::Accept, Verdict::Reject);
    Outcome { verdict, warnings }
}

/// What one image would become, or `None` when it passes.
fn entry(image: &Image, rules: &Rules, lookups: &mut Lookups) -> Option<String> {
    if image.pull_never {
        return None;
    }
    let (key, from) = (shown_at_most(&image.key, KEY_MAX), shown(&image.text));
    match rules.decide(&image.text) {
        Decision::Redirect { image: to, destination, .. } => {
            let moved = format!("{key}: {from} -> {}", shown(&to));
            Some(match lookups.resolve(&image.text, &to, destination) {
                Ok(_) => moved,
                Err(why) => format!("{moved}: {}", absent(&why)),
            })
        }
        Decision::Keep(Keep::AlreadyRedirected | Keep::Excluded(_)) => None,
        Decision::Keep(Keep::NoRule) => Some(format!("{key}: {from} is outside every mirror and no rule moves it")),
        Decision::Keep(keep) => {
            Some(format!("{key}: {from} is outside every mirror: {}", keep.warning().unwrap_or_default()))
        }
    }
}

/// Why the mirror cannot serve the redirect, in the few words a report entry has.
fn absent(why: &Unavailable) -> &'static str {
    match why {
        Unavailable::Missing(_) => "not at the mirror",
        Unavailable::Unresolved { .. } => "the source cannot be resolved to a digest",
        Unavailable::Mismatch { .. } => "the mirror holds other content under that tag",
    }
}
