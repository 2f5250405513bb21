//! Edits to JSON text at the places borrowed reads found.
//!
//! The mutated object is the admitted text with a few slices replaced or
//! inserted, never a re-serialised tree: key order, number spelling and
//! fields unknown to any schema all survive, and the JSON Patch that
//! policy-server derives names only what the policy meant to change.

use serde_json::value::RawValue;

/// Pending edits to `base`, applied in one pass by [`Splice::apply`].
///
/// Every `&RawValue` passed in must be a slice of `base` (as [`crate::json`]
/// hands out); edits never overlap because each touches a different value or
/// inserts just inside an object's or array's brackets.
pub struct Splice<'a> {
    base: &'a str,
    edits: Vec<Edit>,
}

struct Edit {
    start: usize,
    end: usize,
    text: String,
}

impl<'a> Splice<'a> {
    pub fn new(base: &'a str) -> Self {
        Self { base, edits: Vec::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// Replaces the value `old` with the JSON text `new`.
    pub fn replace(&mut self, old: &RawValue, new: String) {
        let start = self.offset(old);
        self.edits.push(Edit { start, end: start + old.get().len(), text: new });
    }

    /// Adds `"key": value` as the first member of the object `object`.
    pub fn insert_member(&mut self, object: &RawValue, key: &str, value: &str) {
        let at = self.offset(object) + 1;
        let comma = if is_empty_container(object) { "" } else { "," };
        let text = format!("{}:{value}{comma}", quote(key));
        self.edits.push(Edit { start: at, end: at, text });
    }

    /// Appends `values` to the array `array`. One call per array: the
    /// comma before the first value depends on what the array held before.
    pub fn push_elements(&mut self, array: &RawValue, values: &[String]) {
        let at = self.offset(array) + array.get().len() - 1;
        let comma = if is_empty_container(array) { "" } else { "," };
        self.edits.push(Edit { start: at, end: at, text: format!("{comma}{}", values.join(",")) });
    }

    /// The edited text.
    pub fn apply(mut self) -> String {
        self.edits.sort_by_key(|edit| edit.start);
        let added: usize = self.edits.iter().map(|edit| edit.text.len()).sum();
        let mut out = String::with_capacity(self.base.len() + added);
        let mut copied = 0;
        for edit in &self.edits {
            out.push_str(&self.base[copied..edit.start]);
            out.push_str(&edit.text);
            copied = edit.end;
        }
        out.push_str(&self.base[copied..]);
        out
    }

    /// Where `part` starts in `base`. Both are slices of one buffer, so the
    /// distance between their pointers is the byte offset.
    fn offset(&self, part: &RawValue) -> usize {
        let offset = (part.get().as_ptr() as usize).wrapping_sub(self.base.as_ptr() as usize);
        debug_assert!(offset + part.get().len() <= self.base.len(), "edited value is not a slice of the base text");
        offset
    }
}

/// JSON text for a string.
pub fn quote(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

fn is_empty_container(raw: &RawValue) -> bool {
    let text = raw.get();
    text.len() < 2 || text[1..text.len() - 1].trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    #[test]
    fn edits_touch_only_their_slices() {
        let base = r#"{ "metadata" : { }, "spec": {"list": [ 1 ,2 ], "empty": [ ], "image": "a", "n": 1.50}}"#;
        let object: &RawValue = serde_json::from_str(base).unwrap();
        let [metadata, spec] = json::members(object, ["metadata", "spec"]).unwrap();
        let [list, empty, image] = json::members(spec.unwrap(), ["list", "empty", "image"]).unwrap();
        let mut splice = Splice::new(object.get());
        splice.replace(image.unwrap(), quote("b\"c"));
        splice.insert_member(metadata.unwrap(), "annotations", "{}");
        splice.insert_member(spec.unwrap(), "first", "true");
        splice.push_elements(list.unwrap(), &["3".into()]);
        splice.push_elements(empty.unwrap(), &["{\"name\":\"x\"}".into(), "4".into()]);
        assert_eq!(
            splice.apply(),
            r#"{ "metadata" : {"annotations":{} }, "spec": {"first":true,"list": [ 1 ,2 ,3], "empty": [ {"name":"x"},4], "image": "b\"c", "n": 1.50}}"#
        );
    }

    #[test]
    fn no_edits_give_back_the_text() {
        let base = r#"{"a" : 1}"#;
        assert_eq!(Splice::new(base).apply(), base);
    }
}
