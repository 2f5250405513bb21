//! Any string: parsing never panics, and a parsed reference formats to a
//! string that parses back to the same reference.
#![no_main]

use image_redirect_policy::reference::{Reference, RegistryPath};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(reference) = Reference::parse(text) {
        let formatted = reference.to_string();
        let again = Reference::parse(&formatted).expect("a formatted reference parses");
        assert_eq!(again.to_string(), formatted, "normalisation is stable");
        assert_eq!((again.tag(), again.digest()), (reference.tag(), reference.digest()));
    }
    if let Ok(path) = RegistryPath::parse(text) {
        assert_eq!(RegistryPath::parse(path.as_str()).as_ref(), Ok(&path), "a registry path is its own normal form");
    }
});
