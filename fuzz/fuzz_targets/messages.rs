//! Any host error, image and redirect: the mirror-check messages are one
//! line of at most 256 characters, and the cause one of at most 80, whatever
//! a host's error chain holds (line breaks, backtraces, multi-byte text).
#![no_main]

use image_redirect_policy::mirror::{CAUSE_MAX, cause, kept, refused};
use image_redirect_policy::response::LINE_MAX;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str, &str)| {
    let (image, redirect, error) = input;
    let short = cause(error);
    assert!(short.chars().count() <= CAUSE_MAX && !short.contains('\n'), "{short:?}");
    for message in [kept(image, redirect, error), refused(image, redirect, error)] {
        assert!(message.chars().count() <= LINE_MAX, "{} characters: {message:?}", message.chars().count());
        assert!(!message.chars().any(char::is_control), "{message:?}");
    }
});
