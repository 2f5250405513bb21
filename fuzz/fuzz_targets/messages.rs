//! Any host error, image, redirect and digests: the mirror-check messages
//! (missing, source unresolved, digest mismatch) are one line of at most 256
//! characters, and the cause one of at most 80, whatever a host's error chain
//! or answer holds (line breaks, backtraces, multi-byte text).
#![no_main]

use image_redirect_policy::mirror::{CAUSE_MAX, Unavailable, cause, kept, refused};
use image_redirect_policy::response::LINE_MAX;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str, &str)| {
    let (image, redirect, error) = input;
    let short = cause(error);
    assert!(short.chars().count() <= CAUSE_MAX && !short.contains('\n'), "{short:?}");
    let whys = [
        Unavailable::Missing(error.to_owned()),
        Unavailable::Unresolved { source: redirect.to_owned(), error: error.to_owned() },
        Unavailable::Mismatch { source: image.to_owned(), source_digest: error.to_owned(), mirror_digest: redirect.to_owned() },
    ];
    for why in &whys {
        for message in [kept(image, redirect, why), refused(image, redirect, why)] {
            assert!(message.chars().count() <= LINE_MAX, "{} characters: {message:?}", message.chars().count());
            assert!(!message.chars().any(char::is_control), "{message:?}");
        }
    }
});
