//! Report mode (`action: report`): what the rules would do to an object's
//! images, named in one rejection that the audit scanner records as a `fail`
//! in a PolicyReport. Nothing is changed.

use crate::mirror::{Lookups, Mirror};
use crate::response::{Audit, KEY_MAX, Listing, Outcome, Verdict, Warnings, shown, shown_at_most};
use crate::rules::{Decision, Keep, Rules};
use crate::workload::Image;

/// A PolicyReport entry is read in a table: the message stays under 1 KiB,
/// and the images that do not fit are counted.
pub const MESSAGE_MAX: usize = 1000;

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
    // The rejection names every image: the audit log has it as the response's message.
    Outcome { verdict, warnings, audit: Audit::default() }
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
                Err(why) => format!("{moved}: {}", why.briefly()),
            })
        }
        Decision::Keep(Keep::AlreadyRedirected | Keep::Excluded(_)) => None,
        Decision::Keep(Keep::NoRule) => Some(format!("{key}: {from} is outside every mirror and no rule moves it")),
        Decision::Keep(keep) => {
            Some(format!("{key}: {from} is outside every mirror: {}", keep.warning().unwrap_or_default()))
        }
    }
}
