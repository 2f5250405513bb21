//! Any string: parsing never panics; a parsed reference formats to a string
//! that parses back to the same reference; a registry path is its own normal
//! form, and an image written below it is a reference under it (what the
//! rules' "already redirected" check relies on).
#![no_main]

use image_redirect_policy::reference::{NAME_MAX, Reference, RegistryPath, TAG_MAX, is_under};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(reference) = Reference::parse(text) {
        assert!(reference.name().len() <= NAME_MAX && reference.tag().is_none_or(|t| t.len() <= TAG_MAX));
        assert_eq!(format!("{}/{}", reference.registry(), reference.path()), reference.name());
        let formatted = reference.to_string();
        let again = Reference::parse(&formatted).expect("a formatted reference parses");
        assert_eq!(again, reference, "formatting and parsing give the same reference");
        assert_eq!(again.to_string(), formatted, "normalisation is stable");
    }
    if let Ok(path) = RegistryPath::parse(text) {
        assert_eq!(RegistryPath::parse(path.as_str()).as_ref(), Ok(&path), "a registry path is its own normal form");
        let below = format!("{path}/a");
        if below.len() <= NAME_MAX - "library/".len() {
            let image = Reference::parse(&below).expect("an image below a registry path parses");
            assert!(is_under(image.name(), path.as_str()), "{} is not under {path}", image.name());
        }
    }
});
